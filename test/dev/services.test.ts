// test/support/services.ts: what the workerd test project's globalSetup gets.
import { describe, expect, it } from "vitest";
import pg from "pg";
import { Pool } from "@neondatabase/serverless";
import { Redis } from "@upstash/redis";
import { MissingService, startTestServices } from "../support/services.ts";
import { serverAnswers, testServerUrl } from "../../dev/migrate.ts";
import { useLocalNeon } from "./neon-local.ts";

// The first test is about a Postgres server (a database created and dropped on it); the second runs everywhere.
const HAS_SERVER = await serverAnswers(testServerUrl());

describe("startTestServices", () => {
  it.runIf(HAS_SERVER)("gives a fresh migrated database, the proxy and the adapter, and undoes it all", async () => {
    const s = await startTestServices();
    const name = new URL(s.databaseUrl).pathname.slice(1);
    try {
      expect(s.postgres).toBe("server");
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
    const c = new pg.Client({ connectionString: testServerUrl() });
    await c.connect();
    const left = await c.query("select count(*)::int as n from pg_database where datname = $1", [name]);
    await c.end();
    expect(left.rows[0].n).toBe(0);
    await expect(fetch(s.upstashUrl, { method: "POST" })).rejects.toThrow();
  });

  it("falls back to an embedded PGlite when no Postgres answers, and the database is usable", async () => {
    const s = await startTestServices({ pgServerUrl: "postgres://postgres@127.0.0.1:1/postgres" });
    try {
      expect(s.postgres).toBe("embedded");
      const c = new pg.Client({ connectionString: s.databaseUrl });
      await c.connect();
      const { rows } = await c.query("select count(*)::int as n from drizzle.__drizzle_migrations");
      expect(rows[0].n).toBeGreaterThan(0);
      await c.query("insert into processed_events (event_id, type) values ('evt-fallback', 'test')");
      expect((await c.query("select type from processed_events where event_id = 'evt-fallback'")).rows).toEqual([
        { type: "test" },
      ]);
      await c.end();
      // The Worker's path: the Neon driver through the WebSocket proxy.
      useLocalNeon(s.neonWsProxy);
      const pool = new Pool({ connectionString: s.databaseUrl });
      expect((await pool.query("select count(*)::int as n from processed_events")).rows[0].n).toBe(1);
      await pool.end();
    } finally {
      await s.stop();
    }
    const again = new pg.Client({ connectionString: s.databaseUrl, connectionTimeoutMillis: 2000 });
    await expect(again.connect()).rejects.toThrow();
  });

  it("stops with one line saying what to start when no Redis answers and none can be started", async () => {
    const started = startTestServices({ redisUrl: "redis://127.0.0.1:1", privateRedis: false });
    await expect(started).rejects.toBeInstanceOf(MissingService);
    const err = (await started.catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(
      /^no Redis answers on redis:\/\/127\.0\.0\.1:1\b.*start Redis.*REDIS_URL.*redis-server/,
    );
    expect(err.stack).not.toContain("\n");
  });
});
