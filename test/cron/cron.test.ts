import { env } from "cloudflare:workers";
import {
  createExecutionContext,
  createScheduledController,
  evictDurableObject,
  runInDurableObject,
  waitOnExecutionContext,
} from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { OrderActor } from "../../src/actors/order/order-actor";
import { DIRTY_CARTS_SET } from "../../src/cache/cart-snapshots";
import { redisClient } from "../../src/cache/redis";
import { sweepExpiredOrders, syncChangedCarts } from "../../src/cron";
import { cartItems, orders } from "../../src/db/tables";
import worker from "../../src/index";
import { ADMIN, adminSku, api, asUser, checkout, db, eventually, putSku, unique } from "../support/worker";

describe("cron", () => {
  it("the expiry sweep expires PENDING orders past expiresAt that their alarm missed, once", async () => {
    const sku = await putSku(unique("sweep"), { stock: 5 });
    const user = await asUser();
    await api("/v1/cart/items", { headers: user.headers, body: { skuId: sku, quantity: 2 } });
    const placed = (await checkout(user.headers)).body;
    const orderId: string = placed.orderId;
    await eventually(
      async () => (await db((d) => d.select().from(orders).where(eq(orders.orderId, orderId))))[0],
      20_000,
      "order in Postgres",
    );
    // A minute after the window closes (the actor's clock and the trigger's time), but pretend the actor's
    // alarm is lost: only the sweep can expire it.
    const later = Date.parse(placed.expiresAt) + 60_000;
    const actor = env.ORDERS.getByName(orderId);
    await actor.advanceClock(later - Date.now());
    await runInDurableObject(actor, async (_: OrderActor, state) => {
      await state.storage.deleteAlarm();
    });
    await evictDurableObject(actor);

    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: "* * * * *", scheduledTime: later }), env, ctx);
    await waitOnExecutionContext(ctx);
    await eventually(
      async () => (await api(`/v1/orders/${orderId}`, { headers: user.headers })).body.status === "EXPIRED",
      10_000,
      "expired by sweep",
    );
    await eventually(async () => (await adminSku(sku)).reserved === 0, 5_000, "released");
    const again = await sweepExpiredOrders(env, new Date(later));
    expect(again.expired).toBe(0);
  });

  it("the hourly sync snapshots every changed cart into Postgres and repairs drift", async () => {
    const sku = await putSku();
    const user = await asUser();
    await api("/v1/cart/items", { headers: user.headers, body: { skuId: sku, quantity: 2 } });
    await eventually(
      async () => (await redisClient(env)!.sismember(DIRTY_CARTS_SET, user.cartKey)) === 1,
      5_000,
      "marked dirty",
    );
    await eventually(
      async () => (await db((d) => d.select().from(cartItems).where(eq(cartItems.cartKey, user.cartKey))))[0],
      20_000,
      "line in Postgres",
    );
    // Drift: Postgres lost the line's quantity.
    await db((d) => d.update(cartItems).set({ quantity: 99, version: 0 }).where(eq(cartItems.cartKey, user.cartKey)));

    const run = await api("/v1/admin/sync", { method: "POST", headers: ADMIN });
    expect(run.status).toBe(200);
    expect(run.body.source).toBe("redis");
    expect(run.body.carts).toBeGreaterThanOrEqual(1);
    await eventually(
      async () =>
        (await db((d) => d.select().from(cartItems).where(eq(cartItems.cartKey, user.cartKey))))[0]?.quantity === 2,
      20_000,
      "repaired",
    );
    expect(await redisClient(env)!.sismember(DIRTY_CARTS_SET, user.cartKey)).toBe(0);
    expect((await syncChangedCarts(env)).source).toBe("redis");
  });

  it("admin sync of one cart validates the cart key", async () => {
    expect((await api("/v1/admin/carts/nonsense/sync", { method: "POST", headers: ADMIN })).status).toBe(400);
    expect((await api("/v1/admin/carts/user:someone/sync", { method: "POST" })).status).toBe(401);
  });
});
