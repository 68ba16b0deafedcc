import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { orderItems, orders } from "../../src/db/tables";
import {
  adminSku,
  api,
  asGuest,
  asUser,
  checkout,
  db,
  eventually,
  putSku,
  type SkuFields,
  unique,
} from "../support/worker";

const items = (body: any) => body.items.map((i: any) => [i.skuId, i.quantity]);

async function add(headers: Record<string, string>, skuId: string, quantity: number) {
  const res = await api("/v1/cart/items", { headers, body: { skuId, quantity } });
  if (res.status !== 200) throw new Error(`add: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** A signed-in buyer whose cart holds these lines. */
async function buyerWith(lines: [skuId: string, quantity: number][]) {
  const user = await asUser();
  for (const [skuId, quantity] of lines) await add(user.headers, skuId, quantity);
  return user;
}

/** A new SKU with these fields and a signed-in buyer with `quantity` of it in the cart. */
async function buyerOfOne(fields: SkuFields, quantity: number) {
  const sku = await putSku(unique("s"), fields);
  return { sku, user: await buyerWith([[sku, quantity]]) };
}

describe("checkout", () => {
  it("reserves the selected lines, creates a PENDING order and takes exactly those lines out of the cart", async () => {
    const a = await putSku(unique("a"), { price: 1200, stock: 10 });
    const b = await putSku(unique("b"), { price: 300, stock: 10 });
    const c = await putSku(unique("c"), { stock: 10 });
    const user = await buyerWith([
      [a, 2],
      [b, 1],
      [c, 4],
    ]);
    await api("/v1/cart/select", { headers: user.headers, body: { selected: false, skuIds: [c] } });

    const placed = await checkout(user.headers, { expectedTotal: 2700 });
    expect(placed.status).toBe(201);
    expect(placed.body).toMatchObject({
      status: "PENDING",
      total: 2700,
      currency: "USD",
      items: [
        { skuId: a, quantity: 2, unitPrice: 1200, lineTotal: 2400 },
        { skuId: b, quantity: 1 },
      ],
    });
    expect(placed.body.orderId).toMatch(/^ord_[0-9a-f]{32}$/);
    const ttl = Date.parse(placed.body.expiresAt) - Date.now();
    expect(ttl).toBeGreaterThan(890_000);
    expect(ttl).toBeLessThanOrEqual(900_000);

    expect(items((await api("/v1/cart", { headers: user.headers })).body)).toEqual([[c, 4]]);
    expect(await adminSku(a)).toMatchObject({ reserved: 2, available: 8 });
    expect((await api(`/v1/orders/${placed.body.orderId}`, { headers: user.headers })).body).toMatchObject({
      status: "PENDING",
      payments: [],
      refundRequired: false,
    });

    // The order reaches Postgres with its items.
    const row = await eventually(
      async () => (await db((d) => d.select().from(orders).where(eq(orders.orderId, placed.body.orderId))))[0],
      20_000,
      "orders row",
    );
    expect(row).toMatchObject({ status: "PENDING", total: 2700, ownerId: user.cartKey });
    expect(
      await db((d) => d.select().from(orderItems).where(eq(orderItems.orderId, placed.body.orderId))),
    ).toHaveLength(2);
  });

  it("checks out only the named lines (partial checkout), for a guest too", async () => {
    const a = await putSku();
    const b = await putSku();
    const guest = asGuest();
    await add(guest.headers, a, 1);
    await add(guest.headers, b, 2);
    const placed = await checkout(guest.headers, { skuIds: [b] });
    expect(placed.status).toBe(201);
    expect(items(placed.body)).toEqual([[b, 2]]);
    expect(items((await api("/v1/cart", { headers: guest.headers })).body)).toEqual([[a, 1]]);
    expect((await api(`/v1/orders/${placed.body.orderId}`, { headers: guest.headers })).status).toBe(200);
    const listed = await api("/v1/orders", { headers: guest.headers });
    expect(listed.body.items.map((o: any) => o.orderId)).toEqual([placed.body.orderId]);
  });

  it("is all-or-nothing: one line out of stock reserves nothing and leaves the cart unchanged", async () => {
    const plenty = await putSku(unique("plenty"), { stock: 10 });
    const scarce = await putSku(unique("scarce"), { stock: 3 });
    const user = await buyerWith([
      [plenty, 2],
      [scarce, 3],
    ]);
    await putSku(scarce, { stock: 1 });
    const before = (await api("/v1/cart", { headers: user.headers })).body;

    const failed = await checkout(user.headers);
    expect(failed.status).toBe(409);
    expect(failed.body).toMatchObject({
      code: "OUT_OF_STOCK",
      errors: [{ skuId: scarce, code: "OUT_OF_STOCK", available: 1, requested: 3 }],
    });
    await eventually(async () => (await adminSku(plenty)).reserved === 0, 5_000, "released");
    expect(await adminSku(plenty)).toMatchObject({ reserved: 0, available: 10 });
    const after = (await api("/v1/cart", { headers: user.headers })).body;
    expect(after.version).toBe(before.version);
    expect(items(after)).toEqual(items(before));
  });

  it("returns the same order for a retry with the same key and body, and 422 for another body", async () => {
    const { sku, user } = await buyerOfOne({ stock: 10 }, 2);
    const key = unique("key");
    const first = await checkout(user.headers, {}, key);
    const retry = await checkout(user.headers, {}, key);
    expect(first.status).toBe(201);
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual(first.body);
    const other = await checkout(user.headers, { expectedTotal: 1 }, key);
    expect(other.status).toBe(422);
    expect(other.body.code).toBe("IDEMPOTENCY_KEY_REUSED");
    expect(await adminSku(sku)).toMatchObject({ reserved: 2 });
    // The same key from another buyer is a different order.
    const someoneElse = await asUser();
    await add(someoneElse.headers, sku, 1);
    const theirs = await checkout(someoneElse.headers, {}, key);
    expect(theirs.status).toBe(201);
    expect(theirs.body.orderId).not.toBe(first.body.orderId);
  });

  it("concurrent checkouts of the same cart with the same key create one order", async () => {
    const { sku, user } = await buyerOfOne({ stock: 10 }, 3);
    const key = unique("key");
    const replies = await Promise.all(Array.from({ length: 5 }, () => checkout(user.headers, {}, key)));
    expect(replies.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 201]);
    expect(new Set(replies.map((r) => r.body.orderId)).size).toBe(1);
    expect(await adminSku(sku)).toMatchObject({ reserved: 3 });
    expect(items((await api("/v1/cart", { headers: user.headers })).body)).toEqual([]);
  });

  it("concurrent checkouts of one line under different keys (two devices, a double click) make one order and refuse the rest with 409", async () => {
    const { sku, user } = await buyerOfOne({ stock: 50 }, 2);
    const replies = await Promise.all(Array.from({ length: 5 }, () => checkout(user.headers, {}, unique("key"))));
    const placed = replies.filter((r) => r.status === 201);
    expect(placed).toHaveLength(1);
    for (const r of replies.filter((r) => r.status !== 201)) {
      expect(r.status).toBe(409);
      expect(["CHECKOUT_IN_PROGRESS", "CHECKOUT_EMPTY"]).toContain(r.body.code);
      if (r.body.code === "CHECKOUT_IN_PROGRESS")
        expect(r.body.errors).toEqual([{ code: "CHECKOUT_IN_PROGRESS", skuId: sku, orderId: placed[0]!.body.orderId }]);
    }
    expect(await adminSku(sku)).toMatchObject({ reserved: 2 });
    expect(items((await api("/v1/cart", { headers: user.headers })).body)).toEqual([]);
  });

  it("a hold on the cart's lines left by a checkout that is gone does not block the next one", async () => {
    const { sku, user } = await buyerOfOne({ stock: 5 }, 1);
    // A checkout that took the lines and died before recording its attempt (no order actor state at all).
    const ghost = `ord_${"f".repeat(32)}`;
    const held = await env.CARTS.getByName(user.cartKey).linesForCheckout(user.cartKey, null, ghost, "lost");
    expect(held.ok).toBe(true);
    const res = await checkout(user.headers);
    expect(res.status).toBe(201);
    expect(await adminSku(sku)).toMatchObject({ reserved: 1 });
  });

  it("refuses a changed total with PRICE_CHANGED and reserves nothing", async () => {
    const { sku, user } = await buyerOfOne({ price: 1000 }, 1);
    await putSku(sku, { price: 1100 });
    const res = await checkout(user.headers, { expectedTotal: 1000 });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: "PRICE_CHANGED", errors: [{ expectedTotal: 1000, total: 1100 }] });
    await eventually(async () => (await adminSku(sku)).reserved === 0, 5_000, "released");
    const ok = await checkout(user.headers, { expectedTotal: 1100 });
    expect(ok.status).toBe(201);
  });

  it("refuses a SKU whose currency changed since it was added (same number) with PRICE_CHANGED, expectedTotal or not", async () => {
    const { sku, user } = await buyerOfOne({ price: 1000, currency: "USD" }, 1);
    await putSku(sku, { price: 1000, currency: "JPY" });
    for (const body of [{ expectedTotal: 1000 }, {}]) {
      const res = await checkout(user.headers, body);
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({
        code: "PRICE_CHANGED",
        errors: [{ skuId: sku, currency: "JPY", shownCurrency: "USD" }],
      });
    }
    expect(await adminSku(sku)).toMatchObject({ reserved: 0 });
    expect(items((await api("/v1/cart", { headers: user.headers })).body)).toEqual([[sku, 1]]);
  });

  /** A SKU each user may buy one of. */
  const limitedSku = () => putSku(unique("lim"), { stock: 10, purchaseLimit: 1 });

  it("guests cannot check out a limited SKU, however many fresh carts they use", async () => {
    const sku = await limitedSku();
    const guests = Array.from({ length: 3 }, () => asGuest());
    for (const guest of guests) await add(guest.headers, sku, 1);
    const replies = await Promise.all(guests.map((g) => checkout(g.headers)));
    for (const res of replies) {
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({ code: "SIGN_IN_REQUIRED", errors: [{ skuId: sku, limit: 1 }] });
    }
    expect(await adminSku(sku)).toMatchObject({ reserved: 0, sold: 0 });
    expect(items((await api("/v1/cart", { headers: guests[0]!.headers })).body)).toEqual([[sku, 1]]);
  });

  it("a signed-in user buys a limited SKU up to its limit", async () => {
    const sku = await limitedSku();
    const user = await asUser();
    await add(user.headers, sku, 1);
    expect((await checkout(user.headers)).status).toBe(201);
    await add(user.headers, sku, 1).catch(() => undefined);
    expect(await adminSku(sku)).toMatchObject({ reserved: 1 });
  });

  it("validates the request: key required, nothing to check out, unknown lines", async () => {
    const user = await asUser();
    const noKey = await api("/v1/checkout", { headers: user.headers, body: {} });
    expect(noKey.status).toBe(400);
    expect(noKey.body.errors[0].path).toBe("header.Idempotency-Key");
    const empty = await checkout(user.headers);
    expect(empty.status).toBe(409);
    expect(empty.body.code).toBe("CHECKOUT_EMPTY");
    const unknown = await checkout(user.headers, { skuIds: ["not-in-cart"] });
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors).toEqual([{ code: "NOT_IN_CART", skuId: "not-in-cart" }]);
    const badBody = await checkout(user.headers, { expectedTotal: -5 });
    expect(badBody.status).toBe(400);
    expect((await api("/v1/checkout", { body: {}, headers: { "idempotency-key": "k" } })).status).toBe(401);
  });
});

describe("orders", () => {
  /** A user with `count` PENDING orders of one unit each, oldest first. */
  async function ordersOf(count: number) {
    const sku = await putSku(unique("s"), { stock: 20 });
    const user = await asUser();
    const placed: string[] = [];
    for (let i = 0; i < count; i++) {
      await add(user.headers, sku, 1);
      placed.push((await checkout(user.headers)).body.orderId);
    }
    return { sku, user, placed };
  }

  it("shows an order only to its owner: 404 to anyone else and for an unknown id", async () => {
    const { user, placed } = await ordersOf(1);
    const stranger = await asUser();
    expect((await api(`/v1/orders/${placed[0]}`, { headers: user.headers })).status).toBe(200);
    expect((await api(`/v1/orders/${placed[0]}`, { headers: stranger.headers })).status).toBe(404);
    expect((await api(`/v1/orders/ord_nonsense`, { headers: user.headers })).status).toBe(404);
  });

  it("lists a user's orders newest first, a page at a time", async () => {
    const { user, placed } = await ordersOf(3);
    const page1 = await api("/v1/orders?limit=2", { headers: user.headers });
    expect(page1.body.items.map((o: any) => o.orderId)).toEqual([placed[2], placed[1]]);
    const page2 = await api(`/v1/orders?limit=2&cursor=${encodeURIComponent(page1.body.next)}`, {
      headers: user.headers,
    });
    expect(page2.body.items.map((o: any) => o.orderId)).toEqual([placed[0]]);
    expect(page2.body.next).toBeNull();
    expect((await api("/v1/orders?limit=500", { headers: user.headers })).status).toBe(400);
  });

  it("cancels a PENDING order for its owner only, once, and releases its stock", async () => {
    const { sku, user, placed } = await ordersOf(3);
    const stranger = await asUser();
    expect((await api(`/v1/orders/${placed[0]}/cancel`, { method: "POST", headers: stranger.headers })).status).toBe(
      404,
    );
    const cancelled = await api(`/v1/orders/${placed[0]}/cancel`, { method: "POST", headers: user.headers });
    expect(cancelled.body.status).toBe("CANCELLED");
    const twice = await api(`/v1/orders/${placed[0]}/cancel`, { method: "POST", headers: user.headers });
    expect(twice.status).toBe(409);
    expect(twice.body.code).toBe("ORDER_NOT_PENDING");
    await eventually(async () => (await adminSku(sku)).reserved === 2, 5_000, "released on cancel");
  });
});

describe("flash buy-now", () => {
  it("reserves and creates a PENDING order in one call, replays by key, and refuses fast", async () => {
    const sku = await putSku(unique("flash"), { stock: 3, purchaseLimit: 2, price: 4999 });
    const user = await asUser();
    const key = unique("k");
    const buy = (headers: Record<string, string>, quantity: number, k = unique("k")) =>
      api(`/v1/flash/${sku}/orders`, { headers: { ...headers, "idempotency-key": k }, body: { quantity } });
    const first = await buy(user.headers, 2, key);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      status: "PENDING",
      total: 9998,
      items: [{ skuId: sku, quantity: 2, unitPrice: 4999 }],
    });
    const replay = await buy(user.headers, 2, key);
    expect(replay.status).toBe(200);
    expect(replay.body.orderId).toBe(first.body.orderId);
    expect((await buy(user.headers, 1, key)).body.code).toBe("IDEMPOTENCY_KEY_REUSED");
    expect((await buy(user.headers, 1)).body.code).toBe("LIMIT_EXCEEDED");
    const other = await asUser();
    expect((await buy(other.headers, 1)).status).toBe(201);
    const soldOut = await buy((await asUser()).headers, 1);
    expect(soldOut.status).toBe(409);
    expect(soldOut.body).toMatchObject({ code: "SOLD_OUT", errors: [{ skuId: sku, code: "SOLD_OUT" }] });
    expect(await adminSku(sku)).toMatchObject({ reserved: 3, available: 0 });
    // Flash orders are listed from Postgres, which the queue reaches within seconds.
    await eventually(
      async () => {
        const listed = (await api(`/v1/orders`, { headers: user.headers })).body.items.map((o: any) => o.orderId);
        return listed.length === 1 && listed[0] === first.body.orderId;
      },
      10_000,
      "the flash order listed",
    );
    // Guests cannot flash-buy.
    expect(
      (
        await api(`/v1/flash/${sku}/orders`, {
          headers: { ...asGuest().headers, "idempotency-key": "k" },
          body: { quantity: 1 },
        })
      ).status,
    ).toBe(401);
  });

  it("holds per-user limits under a burst from one user", async () => {
    const sku = await putSku(unique("burst"), { stock: 100, purchaseLimit: 2 });
    const user = await asUser();
    const replies = await Promise.all(
      Array.from({ length: 20 }, () =>
        api(`/v1/flash/${sku}/orders`, {
          headers: { ...user.headers, "idempotency-key": unique("k") },
          body: { quantity: 1 },
        }),
      ),
    );
    expect(replies.filter((r) => r.status === 201)).toHaveLength(2);
    expect(replies.filter((r) => r.status !== 201).every((r) => r.body.code === "LIMIT_EXCEEDED")).toBe(true);
    expect(await adminSku(sku)).toMatchObject({ reserved: 2 });
  });
});
