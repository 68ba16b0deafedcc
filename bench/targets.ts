// What the benchmark runs against. Every target answers edge-cart's HTTP contract for the
// route it is measured on, and has the same shape: start() its servers, then seed() SKUs,
// then verify() a flash run from the server's own records.
//   postgres           bench/baselines/postgres.ts: a pg Pool, one row-lock transaction per buy
//   redis-lua          bench/baselines/redis-lua.ts: one EVALSHA per buy
//   edge-cart          the Worker as `npm start` serves it (dev/stack.ts mode "start"), fresh database
//   edge-cart-striped  the same, every SKU split into BENCH_STRIPES stock stripes
//   floor              bench/floor-worker: reads the body, answers JSON, served like `npm start`
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { dropDatabase, ensureDatabase, randomDatabaseName } from "../dev/migrate.ts";
import { RespConnection, RespError } from "../dev/resp.ts";
import { sleep } from "../dev/util.ts";
import { SCHEMA_SQL, seedSku as seedPostgresSku } from "./baselines/postgres.ts";
import { redisKeys, seedSku as seedRedisSku } from "./baselines/redis-lua.ts";
import {
  ADMIN_TOKEN,
  check,
  drainTimeoutMs,
  int,
  JWT_SECRET,
  pgPoolSize,
  pgServerUrl,
  redisUrl,
  runId,
  type TargetName,
} from "./config.ts";
import { ownerChecks, sameIds, unitsPerOwner, type FlashRun, type FlashVerdict } from "./lib/flash-checks.ts";
import { startChild } from "./lib/servers.ts";

export interface SeedSku {
  skuId: string;
  units: number;
  /** Purchase limit per buyer; null: none. */
  limit: number | null;
}

export interface Running {
  baseUrl: string;
  /** Roots of the process trees that serve the target (their peak RSS is reported). */
  pids: number[];
  seed(sku: SeedSku): Promise<void>;
  verify(run: FlashRun): Promise<FlashVerdict>;
  stop(): Promise<void>;
}

export interface Target {
  name: TargetName;
  description: string;
  start(): Promise<Running>;
}

const stripes = Math.min(64, Math.max(2, int("BENCH_STRIPES", 8)));

/** Runs `fn` after `stop`-style cleanups collected while starting, in reverse. */
class Cleanups {
  private fns: (() => Promise<unknown>)[] = [];
  add(fn: () => Promise<unknown>): void {
    this.fns.push(fn);
  }
  async run(): Promise<void> {
    while (this.fns.length)
      await this.fns.pop()!().catch((err: Error) => console.warn(`[bench] cleanup failed: ${err.message}`));
  }
}

async function baselineServer(
  file: string,
  env: Record<string, string>,
  cleanups: Cleanups,
): Promise<{ baseUrl: string; pid: number }> {
  const child = await startChild(file, [], { ...env, PORT: "0", JWT_SECRET });
  cleanups.add(() => child.stop());
  return { baseUrl: `http://127.0.0.1:${Number(child.ready)}`, pid: child.pid };
}

const postgres: Target = {
  name: "postgres",
  description: `Node http + pg Pool(${pgPoolSize}), one transaction: orders insert, buyer_units upsert, stock row decrement`,
  async start() {
    const cleanups = new Cleanups();
    const name = randomDatabaseName("edge_cart_bench_pg");
    const databaseUrl = await ensureDatabase(pgServerUrl, name);
    cleanups.add(() => dropDatabase(pgServerUrl, name));
    const db = new pg.Pool({ connectionString: databaseUrl, max: 2 });
    db.on("error", () => undefined);
    cleanups.add(() => db.end());
    await db.query(SCHEMA_SQL);
    const env: Record<string, string> = { DATABASE_URL: databaseUrl, PG_POOL_SIZE: String(pgPoolSize) };
    if (process.env.BENCH_PG_SYNCHRONOUS_COMMIT) env.PG_SYNCHRONOUS_COMMIT = process.env.BENCH_PG_SYNCHRONOUS_COMMIT;
    const server = await baselineServer("bench/baselines/postgres.ts", env, cleanups);
    return {
      baseUrl: server.baseUrl,
      pids: [server.pid],
      seed: (s) => seedPostgresSku(db, s.skuId, s.units, s.limit),
      async verify(run) {
        const stock = (
          await db.query<{ available: number }>("select available from stock where sku_id = $1", [run.skuId])
        ).rows[0]!;
        const orders = await db.query<{ order_id: string; owner_id: string; quantity: number }>(
          "select order_id, owner_id, quantity from orders where sku_id = $1",
          [run.skuId],
        );
        const fromOrders = unitsPerOwner(orders.rows.map((o) => ({ owner: o.owner_id, quantity: o.quantity })));
        const units = await db.query<{ owner_id: string; units: number }>(
          "select owner_id, units from buyer_units where sku_id = $1",
          [run.skuId],
        );
        const counted = new Map(units.rows.map((r) => [r.owner_id, r.units] as const));
        const sold = orders.rows.reduce((n, o) => n + o.quantity, 0);
        return {
          unitsTaken: sold,
          ordersInPostgres: orders.rowCount ?? 0,
          lastOrderSeconds: 0, // written in the request's own transaction
          checks: [
            check("stock row: available == 0", stock.available === 0, `available ${stock.available}`),
            check(
              "orders rows are exactly the 201s",
              sameIds(
                orders.rows.map((o) => o.order_id),
                run,
              ),
              `${orders.rowCount} rows, ${sold} units`,
            ),
            ...ownerChecks(fromOrders, run, "orders rows"),
            check(
              "buyer_units agrees with orders",
              counted.size === fromOrders.size && [...counted].every(([o, u]) => fromOrders.get(o) === u),
              `${counted.size} buyer_units rows`,
            ),
          ],
        };
      },
      stop: () => cleanups.run(),
    };
  },
};

const redisLua: Target = {
  name: "redis-lua",
  description: "Node http + one pipelined RESP connection, one EVALSHA per buy",
  async start() {
    const cleanups = new Cleanups();
    const prefix = `bench:${runId}`;
    const conn = await RespConnection.open(redisUrl);
    const seeded: string[] = [];
    cleanups.add(async () => {
      const keys = seeded.flatMap((s) => Object.values(redisKeys(prefix, s)));
      if (keys.length) await conn.send([["DEL", ...keys]]);
      conn.close();
    });
    const server = await baselineServer(
      "bench/baselines/redis-lua.ts",
      { REDIS_URL: redisUrl, PREFIX: prefix },
      cleanups,
    );
    return {
      baseUrl: server.baseUrl,
      pids: [server.pid],
      async seed(s) {
        seeded.push(s.skuId);
        await seedRedisSku(conn, prefix, s.skuId, s.units, s.limit);
      },
      async verify(run) {
        const k = redisKeys(prefix, run.skuId);
        const [available, buyers, orders] = await conn.send([
          ["HGET", k.sku, "available"],
          ["HGETALL", k.buyers],
          ["HVALS", k.orders],
        ]);
        for (const r of [available, buyers, orders]) if (r instanceof RespError) throw r;
        const stored = (orders as Buffer[]).map(
          (b) => JSON.parse(b.toString("utf8")) as { orderId: string; ownerId: string; quantity: number },
        );
        const fromOrders = unitsPerOwner(stored.map((o) => ({ owner: o.ownerId, quantity: o.quantity })));
        const counted = new Map<string, number>();
        const flat = buyers as Buffer[];
        for (let i = 0; i < flat.length; i += 2) counted.set(flat[i]!.toString(), Number(flat[i + 1]!.toString()));
        const sold = stored.reduce((n, o) => n + o.quantity, 0);
        return {
          unitsTaken: sold,
          ordersInPostgres: null,
          lastOrderSeconds: null,
          checks: [
            check("sku hash: available == 0", String(available) === "0", `available ${String(available)}`),
            check(
              "orders hash is exactly the 201s",
              sameIds(
                stored.map((o) => o.orderId),
                run,
              ),
              `${stored.length} entries, ${sold} units`,
            ),
            ...ownerChecks(fromOrders, run, "orders hash"),
            check(
              "buyers hash agrees with orders",
              counted.size === fromOrders.size && [...counted].every(([o, u]) => fromOrders.get(o) === u),
              `${counted.size} buyers`,
            ),
          ],
        };
      },
      stop: () => cleanups.run(),
    };
  },
};

async function admin(
  baseUrl: string,
  method: string,
  skuId: string,
  body?: unknown,
): Promise<{ status: number; json: any }> {
  const res = await fetch(`${baseUrl}/v1/admin/skus/${encodeURIComponent(skuId)}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  try {
    return { status: res.status, json: JSON.parse(text) };
  } catch {
    return { status: res.status, json: text };
  }
}

/**
 * Waits until every order of the run is in Postgres (written by the queue consumer), and
 * returns the rows and when the last one landed (seconds after the last answer), or null on timeout.
 */
async function ordersLanded(
  db: pg.Pool,
  run: FlashRun,
): Promise<{ rows: { order_id: string; owner_id: string; status: string }[]; seconds: number | null }> {
  for (;;) {
    const { rows } = await db.query<{ order_id: string; owner_id: string; status: string }>(
      "select order_id, owner_id, status from orders where order_id = any($1)",
      [run.orderIds],
    );
    const waited = performance.now() - run.endedAt;
    if (rows.length >= run.orderIds.length) return { rows, seconds: Math.round(waited / 100) / 10 };
    if (waited > drainTimeoutMs) return { rows, seconds: null };
    await sleep(250);
  }
}

function edgeCart(name: "edge-cart" | "edge-cart-striped", skuStripes: number): Target {
  return {
    name,
    description:
      skuStripes > 1
        ? `the Worker as npm start serves it (workerd via Miniflare), SKU split into ${skuStripes} stripes`
        : "the Worker as npm start serves it (workerd via Miniflare): SKU actor, order, outbox -> queue -> Postgres",
    async start() {
      const cleanups = new Cleanups();
      const child = await startChild("bench/lib/edge-stack.ts", [], {}, { startMs: 180_000, stopMs: 60_000 });
      cleanups.add(() => child.stop());
      const { baseUrl, databaseUrl } = JSON.parse(child.ready) as { baseUrl: string; databaseUrl: string };
      const db = new pg.Pool({ connectionString: databaseUrl, max: 2 });
      db.on("error", () => undefined);
      cleanups.add(() => db.end());
      return {
        baseUrl,
        pids: [child.pid],
        async seed(s) {
          const res = await admin(baseUrl, "PUT", s.skuId, {
            productId: "bench-product",
            name: "Bench item",
            merchantId: "m-bench",
            price: 500,
            currency: "USD",
            status: "active",
            stock: s.units,
            purchaseLimit: s.limit,
            stripes: skuStripes,
          });
          if (res.status !== 201 && res.status !== 200)
            throw new Error(`PUT sku ${s.skuId}: ${res.status} ${JSON.stringify(res.json)}`);
        },
        async verify(run) {
          const view = await admin(baseUrl, "GET", run.skuId);
          const v = view.json as { onHand: number; reserved: number; sold: number; available: number };
          const landed = await ordersLanded(db, run);
          const fromOrders = unitsPerOwner(landed.rows.map((r) => ({ owner: r.owner_id, quantity: 1 })));
          return {
            unitsTaken: view.status === 200 ? v.reserved + v.sold : null,
            ordersInPostgres: landed.rows.length,
            lastOrderSeconds: landed.seconds,
            checks: [
              check(
                "admin view: reserved + sold == onHand == N, available == 0",
                view.status === 200 && v.reserved + v.sold === run.units && v.onHand === run.units && v.available === 0,
                `onHand ${v.onHand}, reserved ${v.reserved}, sold ${v.sold}, available ${v.available}`,
              ),
              check(
                "Postgres orders: every 201's order landed, all PENDING",
                landed.seconds !== null &&
                  sameIds(
                    landed.rows.map((r) => r.order_id),
                    run,
                  ) &&
                  landed.rows.every((r) => r.status === "PENDING"),
                landed.seconds === null
                  ? `only ${landed.rows.length} of ${run.orderIds.length} after ${drainTimeoutMs / 1000} s`
                  : `${landed.rows.length} orders, the last ${landed.seconds} s after the load`,
              ),
              ...ownerChecks(fromOrders, run, "Postgres orders"),
            ],
          };
        },
        stop: () => cleanups.run(),
      };
    },
  };
}

const floor: Target = {
  name: "floor",
  description: "runtime floor: a trivial Worker (reads the body, answers JSON) served like npm start",
  async start() {
    const cleanups = new Cleanups();
    const buildDir = fs.mkdtempSync(path.join(os.tmpdir(), "edge-cart-floor-"));
    cleanups.add(async () => fs.rmSync(buildDir, { recursive: true, force: true }));
    const options = {
      config: "bench/floor-worker/wrangler.toml",
      port: 0,
      buildDir,
      persistTo: null,
      vars: {},
      crons: false,
    };
    const child = await startChild("dev/serve-worker.ts", [JSON.stringify(options)], {}, { startMs: 60_000 });
    cleanups.add(() => child.stop());
    return {
      baseUrl: (JSON.parse(child.ready) as { url: string }).url,
      pids: [child.pid],
      seed: async () => {},
      verify: async () => ({ checks: [], unitsTaken: null, ordersInPostgres: null, lastOrderSeconds: null }),
      stop: () => cleanups.run(),
    };
  },
};

export const ALL_TARGETS: Record<TargetName, Target> = {
  postgres,
  "redis-lua": redisLua,
  "edge-cart": edgeCart("edge-cart", 1),
  "edge-cart-striped": edgeCart("edge-cart-striped", stripes),
  floor,
};
