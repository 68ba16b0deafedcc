// The overload suite (docs/invariants.md 8): OVERLOAD_CLIENTS (500) keep-alive clients send
// cart traffic (60% `GET /v1/cart`, 40% add) over OVERLOAD_CARTS (2,000) warm carts as fast as
// they are answered, for OVERLOAD_SECONDS (10), against the stack in `npm start` mode. Past
// capacity the service must shed: every refusal (503/429, with Retry-After) answered within a
// second (p99), `/healthz` on a fresh connection within a second every time, and healthy again
// within 10 s of the flood's end. Prints one JSON line `OVERLOAD {...}`; bench/run.ts adds it to
// the report. Alone: `npx tsx bench/overload.ts`.
import http from "node:http";
import { randomUUID } from "node:crypto";
import { readDevVars } from "../dev/stack.ts";
import { isMain } from "../dev/util.ts";
import { type HealthProbe, probeHealth } from "./lib/health.ts";
import { type Req, send } from "./lib/keepalive-load.ts";
import { percentile } from "./lib/load.ts";
import { startChild } from "./lib/servers.ts";

const num = (name: string, fallback: number) => Number(process.env[name] ?? fallback);

export interface OverloadResult {
  clients: number;
  seconds: number;
  answered: number;
  rps: number;
  /** Requests refused past capacity (503 OVERLOADED, 429): how long each waited for its answer. */
  shed: { count: number; p50: number; p99: number; max: number; withoutRetryAfter: number };
  /** Requests served. */
  admitted: { count: number; p50: number; p99: number; max: number };
  /** Status 0: no answer (reset, timeout). */
  transportErrors: number;
  health: HealthProbe;
  /** Time from the flood's end until a small load is answered 200 with p99 under 200 ms. */
  recoveredMs: number;
}

export async function runOverload(baseUrl: string): Promise<OverloadResult> {
  const port = Number(new URL(baseUrl).port);
  const clients = num("OVERLOAD_CLIENTS", 500);
  const seconds = num("OVERLOAD_SECONDS", 10);
  const cartCount = num("OVERLOAD_CARTS", 2_000);
  const admin = { authorization: `Bearer ${readDevVars().ADMIN_TOKEN}` };
  const warmAgent = new http.Agent({ keepAlive: true, maxSockets: 50 });
  const skuId = `overload-${randomUUID().slice(0, 8)}`;
  const put = await send(warmAgent, port, {
    method: "PUT",
    path: `/v1/admin/skus/${skuId}`,
    headers: admin,
    body: JSON.stringify({
      productId: skuId,
      merchantId: "m-bench",
      name: skuId,
      price: 1000,
      status: "active",
      stock: 10_000_000,
    }),
  });
  if (put.status !== 201) throw new Error(`PUT sku: ${put.status} ${put.text}`);
  const carts = Array.from({ length: cartCount }, () => randomUUID());
  const add = (cart: string): Req => ({
    method: "POST",
    path: "/v1/cart/items",
    headers: { "x-cart-id": cart },
    body: JSON.stringify({ skuId, quantity: 1 }),
  });
  let next = 0;
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      for (let i = next++; i < carts.length; i = next++) {
        let res = await send(warmAgent, port, add(carts[i]!));
        while (res.status === 503 || res.status === 429 || res.status === 0)
          res = await send(warmAgent, port, add(carts[i]!));
      }
    }),
  );
  warmAgent.destroy();

  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  const shed: number[] = [];
  const admitted: number[] = [];
  let withoutRetryAfter = 0;
  let transportErrors = 0;
  const stopProbes = probeHealth(baseUrl, "/healthz", 250);
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  let i = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < end) {
        const n = i++;
        const cart = carts[(n * 7919) % carts.length]!;
        const req: Req = n % 10 < 6 ? { method: "GET", path: "/v1/cart", headers: { "x-cart-id": cart } } : add(cart);
        const start = performance.now();
        const res = await send(agent, port, req, 30_000);
        const ms = performance.now() - start;
        if (res.status === 503 || res.status === 429) {
          shed.push(ms);
          if (!res.retryAfter) withoutRetryAfter++;
        } else if (res.status === 0) transportErrors++;
        else admitted.push(ms);
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  agent.destroy();
  const health = await stopProbes();
  const after = performance.now();
  let recoveredMs = Number.POSITIVE_INFINITY;
  const calm = new http.Agent({ keepAlive: true, maxSockets: 10 });
  while (performance.now() - after < 15_000) {
    const lat: number[] = [];
    const statuses = await Promise.all(
      Array.from({ length: 10 }, async (_, k) => {
        const t = performance.now();
        const res = await send(calm, port, { method: "GET", path: "/v1/cart", headers: { "x-cart-id": carts[k]! } });
        lat.push(performance.now() - t);
        return res.status;
      }),
    );
    if (statuses.every((s) => s === 200) && Math.max(...lat) < 200) {
      recoveredMs = Math.round(performance.now() - after);
      break;
    }
  }
  calm.destroy();
  const dist = (xs: number[]) => {
    const sorted = Float64Array.from(xs).sort();
    return {
      count: xs.length,
      p50: Math.round(percentile(sorted, 50) || 0),
      p99: Math.round(percentile(sorted, 99) || 0),
      max: Math.round(sorted[sorted.length - 1] ?? 0),
    };
  };
  return {
    clients,
    seconds,
    answered: shed.length + admitted.length,
    rps: Math.round((shed.length + admitted.length) / elapsed),
    shed: { ...dist(shed), withoutRetryAfter },
    admitted: dist(admitted),
    transportErrors,
    health,
    recoveredMs,
  };
}

if (isMain(import.meta.url)) {
  const stack = await startChild("bench/lib/edge-stack.ts", [], {}, { startMs: 180_000 });
  try {
    const { baseUrl } = JSON.parse(stack.ready) as { baseUrl: string };
    const result = await runOverload(baseUrl);
    console.log(`OVERLOAD ${JSON.stringify(result)}`);
  } finally {
    await stack.stop();
  }
  process.exit(0);
}
