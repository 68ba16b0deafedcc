// Cart reads at the edge: a client that says what it has seen is answered from the cart's Redis
// snapshot when that is at least as new, and from the actor otherwise (docs/API.md, Cart reads).
import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { cartSnapshotKey } from "../../src/cache/cart-snapshots";
import { redisClient } from "../../src/cache/redis";
import { app } from "../../src/http/app";
import { api, asGuest, eventually, putSku, unique } from "../support/worker";

type Headers = Record<string, string>;

const versionOf = (etag: string | null) => Number(etag?.replaceAll('"', ""));

async function read(headers: Headers, seen: Record<string, string> = {}) {
  const res = await api("/v1/cart", { headers: { ...headers, ...seen } });
  return { ...res, version: versionOf(res.headers.get("etag")), source: res.headers.get("x-cart-source") };
}

async function setQuantity(headers: Headers, skuId: string, quantity: number) {
  const res = await api(`/v1/cart/items/${skuId}`, { method: "PATCH", headers, body: { quantity } });
  if (res.status !== 200) throw new Error(`PATCH ${res.status} ${JSON.stringify(res.body)}`);
  return { version: versionOf(res.headers.get("etag")), body: res.body };
}

async function cartWithLine() {
  const sku = await putSku(unique("edge"), { stock: 100_000 });
  const guest = asGuest();
  const add = await api("/v1/cart/items", { headers: guest.headers, body: { skuId: sku, quantity: 1 } });
  expect(add.status).toBe(200);
  return { sku, guest };
}

describe("cart reads at the edge", () => {
  it("reads its own writes across 1,000 interleaved writes and reads (500 each), never going back a version", async () => {
    const { sku, guest } = await cartWithLine();
    let newest = 0;
    let fromSnapshot = 0;
    for (let i = 0; i < 500; i++) {
      const quantity = 1 + (i % 50);
      const written = await setQuantity(guest.headers, sku, quantity);
      const got = await read(guest.headers, { "x-cart-version": String(written.version) });
      expect(got.status).toBe(200);
      expect(got.version).toBeGreaterThanOrEqual(written.version);
      expect(got.version).toBeGreaterThanOrEqual(newest);
      if (got.version === written.version) expect(got.body.items[0].quantity).toBe(quantity);
      newest = got.version;
      if (got.source === "snapshot") fromSnapshot++;
      // Every 25 writes, let the snapshot catch up, so both sources answer.
      if (i % 25 === 24)
        await eventually(
          async () => (await read(guest.headers, { "x-cart-version": String(newest) })).source === "snapshot",
        );
    }
    expect(fromSnapshot).toBeGreaterThanOrEqual(20);
  });

  it("answers 304 to an If-None-Match naming the current version, and the cart to an older one", async () => {
    const { sku, guest } = await cartWithLine();
    const { version } = await setQuantity(guest.headers, sku, 3);
    await eventually(
      async () => (await read(guest.headers, { "x-cart-version": String(version) })).source === "snapshot",
    );
    const same = await read(guest.headers, { "if-none-match": `"${version}"` });
    expect(same.status).toBe(304);
    expect(same.headers.get("etag")).toBe(`"${version}"`);
    expect(same.headers.get("cache-control")).toBe("private, no-cache");
    expect(same.headers.get("vary")).toBe("Authorization, X-Cart-Id");
    const older = await read(guest.headers, { "if-none-match": `W/"${version - 1}"` });
    expect(older).toMatchObject({ status: 200, version });
  });

  it("asks the actor when the snapshot is missing or older than what the client has seen", async () => {
    const { sku, guest } = await cartWithLine();
    const { version } = await setQuantity(guest.headers, sku, 7);
    await eventually(
      async () => (await read(guest.headers, { "x-cart-version": String(version) })).source === "snapshot",
    );
    await redisClient(env)!.del(cartSnapshotKey(guest.cartKey));
    const missing = await read(guest.headers, { "x-cart-version": String(version) });
    expect(missing).toMatchObject({ status: 200, version, source: null });
    // A client that has seen a version the snapshot does not have yet.
    const ahead = await read(guest.headers, { "x-cart-version": String(version + 5) });
    expect(ahead).toMatchObject({ status: 200, version, source: null });
    expect(ahead.body.items[0].quantity).toBe(7);
  });

  it("asks the actor when Redis is down", async () => {
    const { sku, guest } = await cartWithLine();
    const { version } = await setQuantity(guest.headers, sku, 4);
    const down = { ...env, UPSTASH_REDIS_REST_URL: "http://127.0.0.1:1" } as Env;
    const res = await app.fetch(
      new Request("http://edge-cart.test/v1/cart", {
        headers: { ...guest.headers, "x-cart-version": String(version) },
      }),
      down,
      createExecutionContext(),
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("x-cart-source")).toBeNull();
    expect(((await res.json()) as { items: { quantity: number }[] }).items[0]!.quantity).toBe(4);
  });
});
