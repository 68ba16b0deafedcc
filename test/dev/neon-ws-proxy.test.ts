// The real @neondatabase/serverless Pool, configured exactly as the Worker configures it,
// through dev/neon-ws-proxy.ts to the real Postgres of this machine.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import ws from "ws";
import pg from "pg";
import { Pool } from "@neondatabase/serverless";
import { startNeonWsProxy, parseAddress, type NeonWsProxy } from "../../dev/neon-ws-proxy.ts";
import { dropDatabase, ensureDatabase, randomDatabaseName, serverAnswers, testServerUrl } from "../../dev/migrate.ts";
import { useLocalNeon } from "./neon-local.ts";

const SERVER_URL = testServerUrl();
// One backend per connection, pg_stat_activity: a Postgres server's behaviour (the embedded PGlite's proxy path is
// covered by test/dev/embedded-postgres.test.ts).
const HAS_SERVER = await serverAnswers(SERVER_URL);
const dbName = randomDatabaseName("edge_cart_proxytest");
let proxy: NeonWsProxy;
let pool: Pool;

beforeAll(async () => {
  if (!HAS_SERVER) return;
  proxy = await startNeonWsProxy({ port: 0 });
  useLocalNeon(proxy.address);
  pool = new Pool({ connectionString: await ensureDatabase(SERVER_URL, dbName), max: 10 });
});

afterAll(async () => {
  await pool?.end();
  await proxy?.close();
  if (HAS_SERVER) await dropDatabase(SERVER_URL, dbName);
});

describe.runIf(HAS_SERVER)(`neon ws proxy (to the Postgres server at ${new URL(SERVER_URL).host})`, () => {
  it("reports a host:port address for NEON_WS_PROXY", () => {
    expect(proxy.address).toBe(`127.0.0.1:${proxy.port}`);
  });

  it("runs a query through the proxy", async () => {
    const { rows } = await pool.query("select current_database() as db, $1::int + 1 as n, $2::text as t", [41, "ü🛒"]);
    expect(rows).toEqual([{ db: dbName, n: 42, t: "ü🛒" }]);
  });

  it("rolls back a transaction", async () => {
    await pool.query("create table if not exists items (id int primary key, name text)");
    const client = await pool.connect();
    try {
      await client.query("begin");
      await client.query("insert into items values (1, 'rolled back')");
      expect((await client.query("select count(*)::int as c from items")).rows[0].c).toBe(1);
      await client.query("rollback");
    } finally {
      client.release();
    }
    expect((await pool.query("select count(*)::int as c from items")).rows[0].c).toBe(0);
    await pool.query("insert into items values (2, 'kept')");
    expect((await pool.query("select name from items")).rows).toEqual([{ name: "kept" }]);
  });

  it("runs 10 queries in parallel, each on its own backend", async () => {
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        pool.query("select $1::int as i, pg_backend_pid() as pid, pg_sleep(0.2)", [i]),
      ),
    );
    expect(results.map((r) => r.rows[0].i)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // Pool max is 10 and each query sleeps, so they really ran concurrently on 10 connections.
    expect(new Set(results.map((r) => r.rows[0].pid)).size).toBe(10);
  });

  it("moves a large result (binary frames both ways)", async () => {
    const { rows } = await pool.query("select repeat('x✓', 300000) as s, decode($1, 'hex') as b", ["00ff10"]);
    expect(rows[0].s.length).toBe(600000);
    expect(Buffer.from(rows[0].b)).toEqual(Buffer.from([0, 255, 16]));
  });

  it("closes the Postgres side when the client ends", async () => {
    const url = await ensureDatabase(SERVER_URL, dbName);
    const own = new Pool({ connectionString: url, max: 3 });
    const pids = await Promise.all([1, 2, 3].map(() => own.query("select pg_backend_pid() as pid, pg_sleep(0.1)")));
    const ids = pids.map((r) => r.rows[0].pid as number);
    await own.end();
    const admin = new pg.Client({ connectionString: SERVER_URL });
    await admin.connect();
    let left = ids.length;
    for (let i = 0; i < 40 && left > 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      left = (await admin.query("select count(*)::int as c from pg_stat_activity where pid = any($1)", [ids])).rows[0]
        .c;
    }
    await admin.end();
    expect(left).toBe(0);
  });

  it("rejects a missing or garbled address, and an unreachable one", async () => {
    const base = `http://${proxy.address}/v1`;
    // Read the HTTP status of a failed WebSocket handshake.
    const status = (url: string) =>
      new Promise<number>((resolve) => {
        const sock = new ws(url);
        sock.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
        sock.on("open", () => {
          sock.close();
          resolve(101);
        });
        sock.on("error", () => {});
      });
    expect(await status(`ws://${proxy.address}/v1`)).toBe(400);
    expect(await status(`ws://${proxy.address}/v1?address=nohostport`)).toBe(400);
    expect(await status(`ws://${proxy.address}/v1?address=127.0.0.1:99999`)).toBe(400);
    expect(await status(`ws://${proxy.address}/v1?address=a b:5432`)).toBe(400);
    expect(await status(`ws://${proxy.address}/v1?address=127.0.0.1:1`)).toBe(502);
    expect((await fetch(base)).status).toBe(426);
    expect(parseAddress("[::1]:5432")).toEqual({ host: "::1", port: 5432 });
    expect(parseAddress("db.local:5432")).toEqual({ host: "db.local", port: 5432 });
  });
});
