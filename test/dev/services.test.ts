// test/support/services.ts: what the workerd test project's globalSetup gets.
import { describe, expect, it } from "vitest";
import pg from "pg";
import { Pool } from "@neondatabase/serverless";
import { Redis } from "@upstash/redis";
import { startTestServices } from "../support/services.ts";
import { DEV_SERVER_URL } from "../../dev/migrate.ts";
import { useLocalNeon } from "./neon-local.ts";

describe("startTestServices", () => {
  it("gives a fresh migrated database, the proxy and the adapter, and undoes it all", async () => {
    const s = await startTestServices();
    const name = new URL(s.databaseUrl).pathname.slice(1);
    try {
      expect(name).toMatch(/^edge_cart_test_[a-z0-9]+$/);
      useLocalNeon(s.neonWsProxy);
      const pool = new Pool({ connectionString: s.databaseUrl });
      // The project's real migrations ran (drizzle's journal table has one row per migration).
      const { rows } = await pool.query("select count(*)::int as n from drizzle.__drizzle_migrations");
      expect(rows[0].n).toBeGreaterThan(0);
      await pool.end();
      const redis = new Redis({ url: s.upstashUrl, token: s.upstashToken, enableTelemetry: false });
      const key = `test:services:${name}`;
      expect(await redis.set(key, { ok: true }, { ex: 60 })).toBe("OK");
      expect(await redis.get(key)).toEqual({ ok: true });
      await redis.del(key);
    } finally {
      await s.stop();
    }
    const c = new pg.Client({ connectionString: DEV_SERVER_URL });
    await c.connect();
    const left = await c.query("select count(*)::int as n from pg_database where datname = $1", [name]);
    await c.end();
    expect(left.rows[0].n).toBe(0);
    await expect(fetch(s.upstashUrl, { method: "POST" })).rejects.toThrow();
  });
});
