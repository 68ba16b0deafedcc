// PGlite over the wire protocol (dev/embedded-postgres.ts): through `pg` directly, and
// through the Neon driver + dev/neon-ws-proxy.ts as the Worker would use it.
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { Client as NeonClient, Pool as NeonPool } from "@neondatabase/serverless";
import { startEmbeddedPostgres, type EmbeddedPostgres } from "../../dev/embedded-postgres.ts";
import { startNeonWsProxy, type NeonWsProxy } from "../../dev/neon-ws-proxy.ts";
import { migrateDatabase } from "../../dev/migrate.ts";
import { useLocalNeon } from "./neon-local.ts";
import { SAMPLE_MIGRATIONS, writeMigrations } from "./fixtures.ts";

let db: EmbeddedPostgres;
let proxy: NeonWsProxy;
let pool: pg.Pool;
const tmp: string[] = [];

beforeAll(async () => {
  db = await startEmbeddedPostgres({ port: 0 });
  proxy = await startNeonWsProxy();
  useLocalNeon(proxy.address);
  pool = new pg.Pool({ connectionString: db.url, max: 5 });
}, 60_000);

afterAll(async () => {
  await pool?.end();
  await proxy?.close();
  await db?.close();
  for (const d of tmp) fs.rmSync(d, { recursive: true, force: true });
});

/** begin, the statements in order, then `end`, on one connection (pg's or the Neon driver's). */
async function transaction(
  c: { query(sql: string): Promise<unknown> },
  end: "commit" | "rollback",
  ...statements: string[]
) {
  await c.query("begin");
  for (const sql of statements) await c.query(sql);
  await c.query(end);
}

describe("embedded postgres (PGlite)", () => {
  it("listens on a random port", () => {
    const url = new URL(db.url);
    expect(url.hostname).toBe("127.0.0.1");
    expect(Number(url.port)).toBeGreaterThan(0);
    expect(Number(url.port)).not.toBe(5432);
  });

  it("answers a query through pg", async () => {
    const { rows } = await pool.query("select $1::int * 2 as n, $2::text as t, version() as v", [21, "ü🛒"]);
    expect(rows[0].n).toBe(42);
    expect(rows[0].t).toBe("ü🛒");
    expect(rows[0].v).toMatch(/PGlite/);
  });

  it("commits and rolls back transactions through pg", async () => {
    await pool.query("create table carts (id int primary key, total int not null)");
    const c = await pool.connect();
    try {
      await transaction(c, "commit", "insert into carts values (1, 100)");
      await transaction(c, "rollback", "insert into carts values (2, 200)", "update carts set total = 0 where id = 1");
    } finally {
      c.release();
    }
    expect((await pool.query("select id, total from carts order by id")).rows).toEqual([{ id: 1, total: 100 }]);
    // A constraint error inside a transaction leaves the connection usable after rollback.
    const c2 = await pool.connect();
    try {
      await c2.query("begin");
      await expect(c2.query("insert into carts values (1, 1)")).rejects.toThrow(/duplicate key/);
      await c2.query("rollback");
      expect((await c2.query("select count(*)::int as n from carts")).rows[0].n).toBe(1);
    } finally {
      c2.release();
    }
  });

  it("serves parallel parameterized queries from several connections", async () => {
    const res = await Promise.all(
      Array.from({ length: 40 }, (_, i) => pool.query("select $1::int as i, $2::text as s", [i, `s${i}`])),
    );
    expect(res.map((r) => [r.rows[0].i, r.rows[0].s])).toEqual(Array.from({ length: 40 }, (_, i) => [i, `s${i}`]));
  });

  it("works through the Neon driver and the WebSocket proxy", async () => {
    const neon = new NeonPool({ connectionString: db.url, max: 3 });
    try {
      expect((await neon.query("select $1::text || '!' as s", ["hi"])).rows).toEqual([{ s: "hi!" }]);
      const c = await neon.connect();
      try {
        await transaction(c, "rollback", "insert into carts values (10, 1000)");
        await transaction(c, "commit", "insert into carts values (11, 1100)");
      } finally {
        c.release();
      }
      const ids = (await neon.query("select id from carts order by id")).rows.map((r) => r.id);
      expect(ids).toEqual([1, 11]);
      const par = await Promise.all([1, 2, 3, 4, 5].map((n) => neon.query("select $1::int as n", [n])));
      expect(par.map((r) => r.rows[0].n)).toEqual([1, 2, 3, 4, 5]);
    } finally {
      await neon.end();
    }
  });

  it("hangs up when a client says Terminate, as Postgres does", async () => {
    const url = new URL(db.url);
    const socket = net.connect({ host: url.hostname, port: Number(url.port) });
    const received: Buffer[] = [];
    socket.on("data", (b: Buffer) => received.push(b));
    const hungUp = new Promise<void>((resolve) => socket.once("end", () => resolve()));
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    const params = Buffer.from("user\0postgres\0database\0postgres\0\0");
    const startup = Buffer.alloc(8);
    startup.writeInt32BE(8 + params.length, 0);
    startup.writeInt32BE(196608, 4); // protocol 3.0
    socket.write(Buffer.concat([startup, params]));
    const readyForQuery = async () => {
      for (let i = 0; i < 100 && !Buffer.concat(received).includes(Buffer.from([0x5a, 0, 0, 0, 5])); i++)
        await new Promise((r) => setTimeout(r, 20));
    };
    await readyForQuery();
    expect(Buffer.concat(received).includes(Buffer.from([0x5a, 0, 0, 0, 5]))).toBe(true);
    // Terminate, a byte at a time: the server must still find it.
    for (const byte of [0x58, 0, 0, 0, 4]) socket.write(Buffer.from([byte]));
    const outcome = await Promise.race([
      hungUp.then(() => "hung up"),
      new Promise((r) => setTimeout(() => r("still open after 2 s"), 2000)),
    ]);
    socket.destroy();
    expect(outcome).toBe("hung up");
  });

  it("lets the Neon driver end a connection (it waits for the server to hang up)", async () => {
    const client = new NeonClient({ connectionString: db.url });
    await client.connect();
    expect((await client.query("select 1 as one")).rows).toEqual([{ one: 1 }]);
    const outcome = await Promise.race([
      client.end().then(() => "ended"),
      new Promise((r) => setTimeout(() => r("end() still waiting after 2 s"), 2000)),
    ]);
    expect(outcome).toBe("ended");
  });

  it("takes drizzle migrations", async () => {
    const dir = writeMigrations(SAMPLE_MIGRATIONS);
    tmp.push(dir);
    await migrateDatabase(db.url, dir);
    await migrateDatabase(db.url, dir);
    await pool.query("insert into skus (id, name, price) values ('A', 'Apple', 99)");
    expect((await pool.query("select id, stock from skus")).rows).toEqual([{ id: "A", stock: 0 }]);
  });

  it("keeps data in dataDir across restarts", async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "edge-cart-pglite-"));
    tmp.push(dataDir);
    const first = await startEmbeddedPostgres({ dataDir });
    const c1 = new pg.Client({ connectionString: first.url });
    await c1.connect();
    await c1.query("create table kept (v text); insert into kept values ('still here')");
    await c1.end();
    await first.close();
    const second = await startEmbeddedPostgres({ dataDir });
    const c2 = new pg.Client({ connectionString: second.url });
    await c2.connect();
    expect((await c2.query("select v from kept")).rows).toEqual([{ v: "still here" }]);
    await c2.end();
    await second.close();
  }, 60_000);
});
