// The two baselines: postgres (a pg Pool, one row-lock transaction per buy) and redis-lua (one EVALSHA per
// buy), each started as a child server, seeded and verified from its own records.
import pg from "pg";
import { freshDatabase } from "../../dev/migrate.ts";
import { RespConnection, RespError } from "../../dev/resp.ts";
import { SCHEMA_SQL, seedSku as seedPostgresSku } from "../baselines/postgres.ts";
import { redisKeys, seedSku as seedRedisSku } from "../baselines/redis-lua.ts";
import { check, pgPoolSize, pgServerUrl, redisUrl, runId } from "../config.ts";
import { countsAgree, ownerChecks, sameIds, unitsPerOwner } from "../lib/flash-checks.ts";
import type { Target } from "./target.ts";
import { baselineServer, Cleanups } from "./shared.ts";

export const postgres: Target = {
  name: "postgres",
  description: `Node http + pg Pool(${pgPoolSize}), one transaction: orders insert, buyer_units upsert, stock row decrement`,
  async start() {
    const cleanups = new Cleanups();
    const { url: databaseUrl, drop } = await freshDatabase(pgServerUrl, "edge_cart_bench_pg");
    cleanups.add(drop);
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
            countsAgree("buyer_units", counted, fromOrders, `${counted.size} buyer_units rows`),
          ],
        };
      },
      stop: () => cleanups.run(),
    };
  },
};

export const redisLua: Target = {
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
            countsAgree("buyers hash", counted, fromOrders, `${counted.size} buyers`),
          ],
        };
      },
      stop: () => cleanups.run(),
    };
  },
};
