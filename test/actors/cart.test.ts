import { env } from "cloudflare:workers";
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { CartActor } from "../../src/actors/cart/cart-actor";
import { ADMIN, api, asGuest, asUser, putSku } from "../support/worker";

const items = (body: any) => body.items.map((i: any) => [i.skuId, i.quantity]);

describe("cart actor", () => {
  it("survives eviction: lines, order and version are rebuilt from its storage", async () => {
    const [a, b] = [await putSku(), await putSku()];
    const user = await asUser();
    await api("/v1/cart/items", { headers: user.headers, body: { skuId: a, quantity: 1 } });
    await api("/v1/cart/items", { headers: user.headers, body: { skuId: b, quantity: 2 } });
    const stub = env.CARTS.getByName(user.cartKey);
    await evictDurableObject(stub);
    const state = await stub.read();
    expect(state.version).toBe(2);
    expect(state.lines.map((l) => [l.skuId, l.quantity])).toEqual([
      [a, 1],
      [b, 2],
    ]);
  });

  it("is rebuilt from Postgres when its storage is lost (docs/invariants.md 7)", async () => {
    const [a, b] = [await putSku(), await putSku()];
    const user = await asUser();
    await api("/v1/cart/items", { headers: user.headers, body: { skuId: a, quantity: 3 } });
    await api("/v1/cart/items", { headers: user.headers, body: { skuId: b, quantity: 1 } });
    await api(`/v1/cart/items/${b}`, { method: "PATCH", headers: user.headers, body: { selected: false } });
    const synced = await api(`/v1/admin/carts/${user.cartKey}/sync`, { method: "POST", headers: ADMIN });
    expect(synced.body).toEqual({ cartKey: user.cartKey, version: 3, lines: 2 });

    const stub = env.CARTS.getByName(user.cartKey);
    await runInDurableObject(stub, async (_: CartActor, state) => {
      await state.storage.deleteAll();
    });
    await evictDurableObject(stub);
    // Redis would also have it; drop the snapshot so only Postgres can answer.
    const { redisClient } = await import("../../src/cache/redis");
    await redisClient(env)!.del(`cart:${user.cartKey}`);

    const cart = await api("/v1/cart", { headers: user.headers });
    expect(cart.body.version).toBe(3);
    expect(cart.body.items.map((i: any) => [i.skuId, i.quantity, i.selected])).toEqual([
      [a, 3, true],
      [b, 1, false],
    ]);
    // And it carries on from there.
    const next = await api("/v1/cart/items", { headers: user.headers, body: { skuId: a, quantity: 1 } });
    expect(next.body.version).toBe(4);
  });

  it("expires a guest cart 30 days after its last change; a user cart is kept", async () => {
    const sku = await putSku();
    const guest = asGuest();
    const user = await asUser();
    await api("/v1/cart/items", { headers: guest.headers, body: { skuId: sku, quantity: 1 } });
    await api("/v1/cart/items", { headers: user.headers, body: { skuId: sku, quantity: 1 } });
    const longAgo = new Date(Date.now() - 31 * 24 * 3600 * 1000).toISOString();
    for (const key of [guest.cartKey, user.cartKey]) {
      const stub = env.CARTS.getByName(key);
      await runInDurableObject(stub, (_: CartActor, state) => {
        state.storage.sql.exec("UPDATE cart_meta SET updated_at = ?", longAgo);
      });
      await evictDurableObject(stub);
      await stub.read();
      await runDurableObjectAlarm(stub);
    }
    expect(items((await api("/v1/cart", { headers: { ...guest.headers, "x-cart-version": "2" } })).body)).toEqual([]);
    expect(items((await api("/v1/cart", { headers: user.headers })).body)).toEqual([[sku, 1]]);
  });
});
