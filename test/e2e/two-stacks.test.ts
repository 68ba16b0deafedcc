// Two local stacks on one machine at once (`npm run dev` in one terminal or checkout,
// `PORT=<other> npm run dev` in another) share the Postgres server and the Redis server, and
// nothing else: a SKU created on one is not in the other's catalog, a cart snapshot written by
// one is not in the other's Redis, and one's hourly sync leaves the other's carts alone.
// Both run as `npm run dev` runs them (not the tests' fresh-database mode), on two ports other
// than 8787; a private redis-server given as REDIS_URL stands for the machine's shared Redis,
// so the test leaves nothing in the real one. Their databases and state go at the end.
import fs from "node:fs";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readDevVars, startLocalStack, type LocalStack } from "../../dev/stack.ts";
import { DEV_SERVER_URL, dropDatabase, serverAnswers } from "../../dev/migrate.ts";
import { startRedisServer, type RedisServer } from "../../dev/redis-server.ts";
import { freePort, ROOT } from "../../dev/util.ts";
import { Api, eventually, newId } from "../support/e2e.ts";

const secrets = (() => {
  const v = readDevVars();
  return { JWT_SECRET: v.JWT_SECRET!, ADMIN_TOKEN: v.ADMIN_TOKEN!, PAYMENT_WEBHOOK_SECRET: v.PAYMENT_WEBHOOK_SECRET! };
})();

interface Side {
  port: number;
  stack: LocalStack;
  api: Api;
}

let redis: RedisServer;
let ports: number[] = [];
let a: Side;
let b: Side;
const savedRedisUrl = process.env.REDIS_URL;

async function twoPorts(): Promise<number[]> {
  const picked = new Set<number>();
  while (picked.size < 2) {
    const p = await freePort();
    if (p !== 8787) picked.add(p);
  }
  return [...picked];
}

async function startSide(port: number): Promise<Side> {
  const stack = await startLocalStack({ port, quiet: !process.env.E2E_VERBOSE, snapshot: true });
  return { port, stack, api: new Api(stack.baseUrl, secrets) };
}

/** One command through a stack's Upstash REST endpoint (what its Worker sees of Redis). */
async function redisCommand(side: Side, ...cmd: string[]): Promise<unknown> {
  const res = await fetch(side.stack.upstashUrl!, {
    method: "POST",
    headers: { authorization: `Bearer ${side.stack.upstashToken}`, "content-type": "application/json" },
    body: JSON.stringify(cmd),
  });
  const body = (await res.json()) as { result?: unknown; error?: string };
  if (body.error) throw new Error(body.error);
  return body.result;
}

/** A new SKU created on stack A. */
async function skuOnA(name: string): Promise<string> {
  const skuId = newId("two-stacks");
  const put = await a.api.putSku(skuId, { productId: `p-${skuId}`, name, merchantId: "m-a", price: 500, stock: 5 });
  expect(put.status).toBe(201);
  return skuId;
}

async function listedSkus(side: Side): Promise<string[]> {
  const res = await side.api.get("/v1/products?limit=100");
  expect(res.status).toBe(200);
  return res.body.items.flatMap((p: { skus: { skuId: string }[] }) => p.skus.map((s) => s.skuId));
}

beforeAll(async () => {
  redis = await startRedisServer();
  process.env.REDIS_URL = redis.url;
  ports = await twoPorts();
  // Both at once (they share nothing to wait for); each is up before the tests run.
  [a, b] = await Promise.all([startSide(ports[0]!), startSide(ports[1]!)]);
});

afterAll(async () => {
  await a?.stack.stop();
  await b?.stack.stop();
  await redis?.close();
  if (savedRedisUrl === undefined) delete process.env.REDIS_URL;
  else process.env.REDIS_URL = savedRedisUrl;
  const pgServer = (await serverAnswers(DEV_SERVER_URL)) ? DEV_SERVER_URL : null;
  for (const port of ports) {
    if (pgServer) await dropDatabase(pgServer, `edge_cart_dev_${port}`);
    fs.rmSync(path.join(ROOT, ".dev-stack", `port-${port}`), { recursive: true, force: true });
  }
});

describe("two local stacks on two ports", () => {
  it("a SKU created on A is in A's catalog, not in B's", async () => {
    const skuId = await skuOnA("Only on A");
    await eventually(async () => expect(await listedSkus(a)).toContain(skuId), { timeoutMs: 30_000 });
    expect(await listedSkus(b)).not.toContain(skuId);
    expect((await b.api.get(`/v1/skus/${skuId}`)).status).toBe(404);
  });

  it("two stacks on one machine keep their carts apart, in Redis and in the hourly sync", async () => {
    const skuId = await skuOnA("Cart on A");
    const guestId = randomUUID();
    const added = await a.api.post("/v1/cart/items", { skuId, quantity: 1 }, a.api.guest(guestId));
    expect(added.status).toBe(200);
    const key = `cart:guest:${guestId}`;
    await eventually(async () => expect(await redisCommand(a, "HGET", key, "v")).not.toBeNull());
    await eventually(async () => expect(await redisCommand(a, "SISMEMBER", "carts:dirty", `guest:${guestId}`)).toBe(1));

    expect(await redisCommand(b, "EXISTS", key)).toBe(0);
    expect(await redisCommand(b, "SISMEMBER", "carts:dirty", `guest:${guestId}`)).toBe(0);
    // B's hourly cart sync, run now: nothing of A's to sync, and A's cart is still A's to sync.
    const synced = await b.api.post("/v1/admin/sync", {}, b.api.admin());
    expect(synced.status).toBe(200);
    expect(synced.body.carts).toBe(0);
    expect(await redisCommand(a, "SISMEMBER", "carts:dirty", `guest:${guestId}`)).toBe(1);
    // Both still run: neither start stopped the other.
    expect((await a.api.get("/healthz")).status).toBe(200);
    expect((await b.api.get("/healthz")).status).toBe(200);
  });

  it("each keeps its own database, Redis database and state directory, named after its port", async () => {
    const dbs = [a, b].map((s) => new URL(s.stack.databaseUrl).pathname.slice(1));
    if (await serverAnswers(DEV_SERVER_URL)) expect(dbs).toEqual(ports.map((p) => `edge_cart_dev_${p}`));
    expect(new Set(dbs).size).toBe(2);
    for (const port of ports) {
      expect(fs.existsSync(path.join(ROOT, ".dev-stack", `port-${port}`, "pids.json"))).toBe(true);
    }
  });
});
