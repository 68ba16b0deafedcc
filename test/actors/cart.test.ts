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

  /** One line in the cart, whose last change is then 31 days ago, and the actor woken with its alarm run. */
  async function cartUnchangedFor31Days(headers: Record<string, string>, cartKey: string): Promise<string> {
    const sku = await putSku();
    await api("/v1/cart/items", { headers, body: { skuId: sku, quantity: 1 } });
    const longAgo = new Date(Date.now() - 31 * 24 * 3600 * 1000).toISOString();
    const stub = env.CARTS.getByName(cartKey);
    await runInDurableObject(stub, (_: CartActor, state) => {
      state.storage.sql.exec("UPDATE cart_meta SET updated_at = ?", longAgo);
    });
    await evictDurableObject(stub);
    await stub.read();
    await runDurableObjectAlarm(stub);
    return sku;
  }

  it("expires a guest cart 30 days after its last change", async () => {
    const guest = asGuest();
    await cartUnchangedFor31Days(guest.headers, guest.cartKey);
    expect(items((await api("/v1/cart", { headers: { ...guest.headers, "x-cart-version": "2" } })).body)).toEqual([]);
  });

  it("keeps a user cart however long it is left unchanged", async () => {
    const user = await asUser();
    const sku = await cartUnchangedFor31Days(user.headers, user.cartKey);
    expect(items((await api("/v1/cart", { headers: user.headers })).body)).toEqual([[sku, 1]]);
  });
});
