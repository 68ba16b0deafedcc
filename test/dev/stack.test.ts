// startLocalStack() end to end, with a stand-in Worker (test/dev/stack-worker) that uses the
// Neon driver and @upstash/redis exactly like the real one: proves the wiring, not the app.
import fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { Redis } from "@upstash/redis";
import { startLocalStack, type LocalStack } from "../../dev/stack.ts";
import { serverAnswers, testServerUrl } from "../../dev/migrate.ts";

// With a Postgres server the stack creates a fresh database there; without one, an embedded PGlite in memory.
const HAS_SERVER = await serverAnswers(testServerUrl());

let stack: LocalStack;
let dbName: string;

beforeAll(async () => {
  stack = await startLocalStack({
    port: 0,
    databaseName: "edge_cart_e2e",
    quiet: true,
    config: "test/dev/stack-worker/wrangler.toml",
    extraVars: { PROBE_VAR: "a:b/c?d=e" },
  });
  dbName = new URL(stack.databaseUrl).pathname.slice(1);
}, 180_000);

afterAll(async () => {
  await stack?.stop();
}, 60_000);

describe("local stack", () => {
  it("creates a fresh, uniquely named database (or an embedded one) reachable from Node", async () => {
    if (HAS_SERVER) expect(dbName).toMatch(/^edge_cart_e2e_[a-z0-9]+$/);
    else expect(new URL(stack.databaseUrl).host).not.toBe(new URL(testServerUrl()).host);
    const c = new pg.Client({ connectionString: stack.databaseUrl });
    await c.connect();
    expect((await c.query("select current_database() as db")).rows).toEqual([{ db: dbName }]);
    await c.end();
  });

  it("serves the Worker, which reaches Postgres (Neon proxy) and Redis (Upstash adapter)", async () => {
    const res = await fetch(`${stack.baseUrl}/probe`);
    const body = (await res.json()) as any;
    expect(body.error).toBeUndefined();
    expect(res.status).toBe(200);
    expect(body.db).toEqual({ db: dbName, n: 42 });
    expect(body.cached).toEqual({ hello: "wörld ✓" });
    // --var KEY:VALUE keeps colons and slashes in the value.
    expect(body.vars).toEqual({ PROBE_VAR: "a:b/c?d=e", hasUpstash: true });
  });

  it("exposes the same Redis to tests, and runs cron on /__scheduled", async () => {
    expect(stack.upstashUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const redis = new Redis({ url: stack.upstashUrl!, token: stack.upstashToken!, enableTelemetry: false });
    expect(await redis.get("probe:key")).toEqual({ hello: "wörld ✓" });
    const cron = await fetch(`${stack.baseUrl}/__scheduled?cron=${encodeURIComponent("* * * * *")}`);
    expect(cron.status).toBe(200);
    expect(await redis.get("probe:cron")).toBe("* * * * *");
  });

  it("stop() kills wrangler/workerd, drops the database and frees the port", async () => {
    const { baseUrl, databaseUrl } = stack;
    const admin = new URL(databaseUrl);
    admin.pathname = "/postgres";
    await stack.stop();
    await expect(fetch(baseUrl, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
    if (HAS_SERVER) {
      const c = new pg.Client({ connectionString: admin.toString() });
      await c.connect();
      const { rows } = await c.query("select count(*)::int as n from pg_database where datname = $1", [dbName]);
      await c.end();
      expect(rows).toEqual([{ n: 0 }]);
    } else {
      // the embedded Postgres is gone with the stack
      const c = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 2000 });
      await expect(c.connect()).rejects.toThrow();
    }
    // No process of this run is left (their command lines carry the probe worker config path).
    const leftovers = fs
      .readdirSync("/proc")
      .filter((p) => /^\d+$/.test(p))
      .filter((p) => {
        try {
          return fs.readFileSync(`/proc/${p}/cmdline`, "utf8").includes("stack-worker/wrangler.toml");
        } catch {
          return false;
        }
      });
    expect(leftovers).toEqual([]);
  }, 60_000);
});
