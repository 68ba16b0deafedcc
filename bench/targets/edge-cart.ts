// edge-cart as `npm start` serves it (dev/stack.ts mode "start", fresh database), with or without stock
// stripes: seeded through the admin API, verified from Postgres once the consumer has written every order.
import pg from "pg";
import { sleep } from "../../dev/util.ts";
import { ADMIN_TOKEN, check, drainTimeoutMs } from "../config.ts";
import { ownerChecks, sameIds, unitsPerOwner, type FlashRun } from "../lib/flash-checks.ts";
import { startChild } from "../lib/servers.ts";
import type { Target } from "./target.ts";
import { Cleanups } from "./shared.ts";

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

/** `vars`: Worker vars on top of .dev.vars (BENCH_WORKER_VARS, read by bench/lib/edge-stack.ts), e.g. METRICS=off. */
export function edgeCart(
  name: "edge-cart" | "edge-cart-striped" | "edge-cart-metrics-off",
  skuStripes: number,
  vars: Record<string, string> = {},
): Target {
  const settings = Object.entries(vars).map(([k, v]) => `${k}=${v}`);
  return {
    name,
    description:
      (skuStripes > 1
        ? `the Worker as npm start serves it (workerd via Miniflare), SKU split into ${skuStripes} stripes`
        : "the Worker as npm start serves it (workerd via Miniflare): SKU actor, order, outbox -> queue -> Postgres") +
      (settings.length > 0 ? `, with ${settings.join(", ")}` : ""),
    async start() {
      const cleanups = new Cleanups();
      const child = await startChild(
        "bench/lib/edge-stack.ts",
        [],
        { BENCH_WORKER_VARS: JSON.stringify(vars) },
        { startMs: 180_000, stopMs: 60_000 },
      );
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
