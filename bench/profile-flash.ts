// Where a flash burst's CPU goes inside workerd: serves the Worker as `npm start` does (built
// once, Miniflare's API), with the V8 inspector open, runs a flash burst against it and
// records a CPU profile of the Worker's isolate over the burst and the drain that follows.
// Prints self time per source module of the bundle (src/..., node_modules/...) and the
// busiest functions; writes the raw profile to bench/results/flash.cpuprofile (Chrome
// DevTools opens it).
//   npx tsx bench/profile-flash.ts            knobs: PROFILE_BUYERS (3000), PROFILE_UNITS (1500),
//                                              PROFILE_STRIPES (1), PROFILE_DRAIN_S (8)
import fs from "node:fs";
import path from "node:path";
import { sign } from "hono/jwt";
import { startTestServices } from "../test/support/services.ts";
import { serveWorker } from "../dev/serve-worker.ts";
import { ROOT, freePort, sleep } from "../dev/util.ts";
import { runLoad, type BenchRequest } from "./lib/load.ts";
import { type Profile, cdp, inspectorTarget, report } from "./lib/v8-profile.ts";

const int = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const BUYERS = int("PROFILE_BUYERS", 3000);
const UNITS = int("PROFILE_UNITS", 1500);
const STRIPES = int("PROFILE_STRIPES", 1);
const DRAIN_S = int("PROFILE_DRAIN_S", 8);
/** `flash` (default) or `cart`: 2,000 guest carts warmed with one add each, then 60% reads, 30% adds, 10% quantity sets. */
const LOAD = process.env.PROFILE_LOAD === "cart" ? "cart" : "flash";

/** The cart mix of bench/cart.ts, simplified: the warm-up adds run first (not profiled separately). */
async function cartLoad(baseUrl: string): Promise<BenchRequest[]> {
  const skus = Array.from({ length: 20 }, (_, i) => `profile-cart-${Date.now().toString(36)}-${i}`);
  for (const skuId of skus) {
    await fetch(`${baseUrl}/v1/admin/skus/${skuId}`, {
      method: "PUT",
      headers: { authorization: `Bearer ${SECRETS.ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({
        productId: "p",
        name: skuId,
        merchantId: "m",
        price: 700,
        status: "active",
        stock: 1_000_000,
      }),
    });
  }
  const carts = Array.from({ length: 2000 }, () => crypto.randomUUID());
  const headers = (cart: string) => ({ "x-cart-id": cart, "content-type": "application/json" });
  const add = (cart: string, skuId: string): BenchRequest => ({
    path: "/v1/cart/items",
    headers: headers(cart),
    body: JSON.stringify({ skuId, quantity: 1 }),
  });
  const out: BenchRequest[] = carts.map((cart, i) => add(cart, skus[i % skus.length]!));
  for (let i = 0; i < 6000; i++) {
    const cart = carts[(i * 7919) % carts.length]!;
    const r = (i * 37) % 10;
    if (r < 6) out.push({ method: "GET", path: "/v1/cart", headers: headers(cart) });
    else if (r < 9) out.push(add(cart, skus[(i * 13) % skus.length]!));
    else
      out.push({
        method: "PATCH",
        path: `/v1/cart/items/${skus[((i * 7919) % carts.length) % skus.length]}`,
        headers: headers(cart),
        body: '{"quantity":2}',
      });
  }
  return out;
}
const SECRETS = { JWT_SECRET: "profile-jwt", ADMIN_TOKEN: "profile-admin", PAYMENT_WEBHOOK_SECRET: "profile-webhook" };

async function main(): Promise<void> {
  const services = await startTestServices();
  const inspectorPort = await freePort();
  const served = await serveWorker({
    config: "wrangler.toml",
    port: await freePort(),
    buildDir: ".wrangler/profile-build",
    persistTo: null,
    crons: false,
    inspectorPort,
    vars: {
      ...SECRETS,
      DATABASE_URL: services.databaseUrl,
      NEON_WS_PROXY: services.neonWsProxy,
      UPSTASH_REDIS_REST_URL: services.upstashUrl,
      UPSTASH_REDIS_REST_TOKEN: services.upstashToken,
    },
  });
  try {
    const skuId = `profile-${Date.now().toString(36)}`;
    const put = await fetch(`${served.url}/v1/admin/skus/${skuId}`, {
      method: "PUT",
      headers: { authorization: `Bearer ${SECRETS.ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({
        productId: "p",
        name: "Profiled",
        merchantId: "m",
        price: 500,
        status: "active",
        stock: UNITS,
        purchaseLimit: 1,
        stripes: STRIPES,
      }),
    });
    if (!put.ok) throw new Error(`seeding the SKU: ${put.status} ${await put.text()}`);
    const now = Math.floor(Date.now() / 1000);
    const requests: BenchRequest[] = [];
    if (LOAD === "cart") requests.push(...(await cartLoad(served.url)));
    for (let b = 0; LOAD === "flash" && b < BUYERS; b++) {
      const token = await sign({ sub: `buyer-${b}`, iat: now, exp: now + 3600 }, SECRETS.JWT_SECRET, "HS256");
      for (const k of [0, 1]) {
        requests.push({
          path: `/v1/flash/${skuId}/orders`,
          headers: {
            authorization: `Bearer ${token}`,
            "content-type": "application/json",
            "idempotency-key": `k${b}-${k}`,
          },
          body: '{"quantity":1}',
        });
      }
    }
    const inspector = await cdp(await inspectorTarget(inspectorPort));
    await inspector.send("Profiler.enable");
    await inspector.send("Profiler.setSamplingInterval", { interval: 200 });
    await inspector.send("Profiler.start");
    const counts = new Map<number, number>();
    const result = await runLoad({
      baseUrl: served.url,
      requests,
      concurrency: 100,
      classify: (res) => {
        counts.set(res.status, (counts.get(res.status) ?? 0) + 1);
        return res.status;
      },
    });
    console.log(
      `${requests.length} attempts in ${result.seconds.toFixed(2)} s: ${Math.round(requests.length / result.seconds)}/s; statuses ${JSON.stringify(Object.fromEntries(counts))}`,
    );
    await sleep(DRAIN_S * 1000);
    const { profile } = await inspector.send<{ profile: Profile }>("Profiler.stop");
    inspector.close();
    const out = path.join(ROOT, "bench", "results", `${LOAD}.cpuprofile`);
    fs.writeFileSync(out, JSON.stringify(profile));
    const bundle = fs.readFileSync(path.join(ROOT, ".wrangler", "profile-build", "index.js"), "utf8");
    console.log(report(profile, bundle));
    console.log(`raw profile: ${path.relative(ROOT, out)}`);
  } finally {
    await served.stop();
    await services.stop();
  }
}

await main();
