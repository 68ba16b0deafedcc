// `npx tsx bench/alerts.ts [carts]`: the price-alert fan-out measured on the local stack
// (`npm start` mode: the built Worker under workerd, real Postgres and Redis). N guest carts
// (default 10,000) each hold one unit of a SKU; the SKU's price drops once; the figure is the
// time from the admin PUT until every cart's `cart.price_dropped` has been consumed into
// Postgres (change -> consumer plans the job -> cart-alerts pages of 500 -> each cart actor
// told -> alert events -> consumer). Writes bench/results/alerts.md.
import fs from "node:fs";
import path from "node:path";
import pg from "pg";
import { readDevVars, startLocalStack } from "../dev/stack.ts";
import { ROOT } from "../dev/util.ts";

const CARTS = Number(process.argv[2] ?? process.env.ALERT_CARTS ?? 10_000);
const CONCURRENCY = 32;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const stack = await startLocalStack({ mode: "start", port: 0, databaseName: "edge_cart_bench_alerts", quiet: true });
  const db = new pg.Pool({ connectionString: stack.databaseUrl, max: 2 });
  const admin = {
    authorization: `Bearer ${readDevVars().ADMIN_TOKEN ?? "dev-admin-token"}`,
    "content-type": "application/json",
  };
  const sku = `alert-bench-${Date.now()}`;
  const putSku = (price: number) =>
    fetch(`${stack.baseUrl}/v1/admin/skus/${sku}`, {
      method: "PUT",
      headers: admin,
      body: JSON.stringify({
        productId: "p-alert-bench",
        name: "Bench tee",
        merchantId: "m-bench",
        price,
        currency: "USD",
        status: "active",
        stock: 1_000_000,
      }),
    });
  const count = async (q: string) => Number((await db.query(q, [sku])).rows[0].n);
  try {
    if (!(await putSku(2000)).ok) throw new Error("PUT sku failed");
    const t0 = performance.now();
    let next = 0;
    let failures = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < CARTS) {
          if (++next % 1000 === 0)
            console.log(`[alerts] ${next} carts, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
          // A fresh cart per try: a keep-alive socket the server closed must not fail the run.
          let ok = false;
          for (let attempt = 0; attempt < 3 && !ok; attempt++) {
            try {
              const res = await fetch(`${stack.baseUrl}/v1/cart/items`, {
                method: "POST",
                headers: { "x-cart-id": crypto.randomUUID(), "content-type": "application/json" },
                body: JSON.stringify({ skuId: sku, quantity: 1 }),
              });
              await res.arrayBuffer();
              ok = res.status === 201 || res.status === 200;
            } catch {
              await sleep(200);
            }
          }
          if (!ok) failures++;
        }
      }),
    );
    const filled = (performance.now() - t0) / 1000;
    console.log(`[alerts] ${CARTS} carts filled in ${filled.toFixed(1)} s (${failures} failed adds)`);
    const holders = CARTS - failures;
    for (let i = 0; (await count("SELECT count(*) AS n FROM cart_items WHERE sku_id = $1")) < holders; i++) {
      if (i > 600) throw new Error("cart_items never caught up");
      await sleep(500);
    }
    console.log(`[alerts] cart_items has all ${holders} holders`);

    const t1 = performance.now();
    if (!(await putSku(1500)).ok) throw new Error("price drop failed");
    let first: number | null = null;
    let done = 0;
    for (;;) {
      done = await count(
        "SELECT count(*) AS n FROM cart_events WHERE type = 'cart.price_dropped' AND data->>'skuId' = $1",
      );
      if (done > 0 && first === null) first = (performance.now() - t1) / 1000;
      if (done >= holders) break;
      if (performance.now() - t1 > 15 * 60_000) throw new Error(`only ${done}/${holders} alerts after 15 min`);
      await sleep(250);
    }
    const total = (performance.now() - t1) / 1000;
    const line = `${holders} carts holding one SKU; price drop -> all ${holders} cart.price_dropped events in Postgres in ${total.toFixed(1)} s (${Math.round(holders / total)} carts/s; first after ${first?.toFixed(1)} s)`;
    console.log(`[alerts] ${line}`);
    const out = path.join(ROOT, "bench", "results", "alerts.md");
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(
      out,
      `# Price-alert fan-out (bench/alerts.ts)\n\n${new Date().toISOString()}, ${process.env.HOSTNAME ?? "local"}: npm start mode (built Worker under workerd via Miniflare), real Postgres and Redis, 2-core machine shared with other work.\n\n- ${line}\n- filling the carts (${CONCURRENCY} concurrent adds): ${filled.toFixed(1)} s\n\nPages of 500 holders, 32 cart-actor calls in flight per page, cart-alerts batches of 4 with concurrency 4 (wrangler.toml); Miniflare runs queue consumers one batch at a time.\n`,
    );
  } finally {
    await db.end().catch(() => undefined);
    await stack.stop();
  }
}

await main();
