// Promotions at checkout and flash buy: the redemption is reserved with the stock (all or
// nothing), committed when the order is paid and released when it is cancelled or expires.
import { env } from "cloudflare:workers";
import { runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { eq } from "drizzle-orm";
import { orders, promotionRedemptions, promotions } from "../../src/db/tables";
import { budgetLedgerId } from "../../src/domain/promotions";
import { flashOrderId } from "../../src/domain/order-ids";
import { homeStripe } from "../../src/domain/stripes";
import { reserveAtHome } from "../../src/actors/sku/sku-routing";
import { sha256Hex } from "../../src/http/signing";
import { ADMIN, adminSku, api, asUser, checkout, db, eventually, putSku, sendPayment, unique } from "../support/worker";

type Headers = Record<string, string>;

async function promotion(body: Record<string, unknown>) {
  const id = unique("p");
  const code = body.code === undefined ? unique("CODE").replace("-", "").toUpperCase() : body.code;
  const res = await api(`/v1/admin/promotions/${id}`, {
    method: "PUT",
    headers: ADMIN,
    body: { active: true, ...body, code },
  });
  if (res.status !== 201) throw new Error(`promotion: ${res.status} ${JSON.stringify(res.body)}`);
  return { id, code: code as string };
}

const counters = async (id: string) => (await api(`/v1/admin/promotions/${id}`, { headers: ADMIN })).body;

async function cartWithCode(headers: Headers, skuId: string, code: string, quantity = 1) {
  const add = await api("/v1/cart/items", { headers, body: { skuId, quantity } });
  if (add.status !== 200) throw new Error(`add: ${add.status} ${JSON.stringify(add.body)}`);
  const applied = await api("/v1/cart/promotions", { headers, body: { code } });
  if (applied.status !== 200) throw new Error(`apply: ${applied.status} ${JSON.stringify(applied.body)}`);
  return applied.body;
}

const flash = (headers: Headers, skuId: string, body: Record<string, unknown>, key = unique("k")) =>
  api(`/v1/flash/${skuId}/orders`, { headers: { ...headers, "idempotency-key": key }, body });

describe("promotions at checkout", () => {
  it("checks out at the discounted total, is paid with it, and the redemption is used once", async () => {
    const sku = await putSku(unique("s"), { price: 2500, stock: 10 });
    const { id, code } = await promotion({ kind: "percent", value: 20, limit: 10 });
    const user = await asUser();
    const cart = await cartWithCode(user.headers, sku, code, 2);
    expect(cart.totals).toMatchObject({ subtotal: 5000, total: 4000 });
    const placed = await checkout(user.headers, { expectedTotal: 4000 });
    expect(placed.status).toBe(201);
    expect(placed.body).toMatchObject({
      subtotal: 5000,
      total: 4000,
      discounts: [{ promotionId: id, code, kind: "percent", amount: 1000 }],
      items: [{ skuId: sku, discounts: [{ promotionId: id, amount: 1000 }] }],
    });
    expect(await counters(id)).toMatchObject({ used: 0, reserved: 1, remaining: 9 });
    expect((await api("/v1/cart", { headers: user.headers })).body.promotion).toBeNull();
    expect((await sendPayment({ orderId: placed.body.orderId, amount: 4000 })).body.status).toBe("PAID");
    await expect.poll(async () => counters(id)).toMatchObject({ used: 1, reserved: 0, remaining: 9 });
    // Postgres: the order with its discount, and the redemption exactly once.
    const orderId = placed.body.orderId;
    const [row] = await eventually(async () => {
      const rows = await db((d) => d.select().from(orders).where(eq(orders.orderId, orderId)));
      return rows[0]?.status === "PAID" && rows;
    });
    expect(row).toMatchObject({ subtotal: 5000, discount: 1000, total: 4000 });
    const redemptions = await eventually(async () => {
      const rows = await db((d) =>
        d.select().from(promotionRedemptions).where(eq(promotionRedemptions.orderId, orderId)),
      );
      return rows[0]?.status === "redeemed" && rows;
    });
    expect(redemptions).toEqual([
      expect.objectContaining({ promotionId: id, code, customerId: user.cartKey, amount: 1000, currency: "USD" }),
    ]);
    const [definition] = await db((d) => d.select().from(promotions).where(eq(promotions.promotionId, id)));
    expect(definition).toMatchObject({ code, kind: "percent", value: 20, limit: 10 });
  });

  it("never redeems past the limit: 20 buyers at once on a limit of 5, and a cancel gives one back", async () => {
    const sku = await putSku(unique("s"), { price: 1000, stock: 100 });
    const { id, code } = await promotion({ kind: "fixed", value: 100, currency: "USD", limit: 5, stripes: 2 });
    const buyers = await Promise.all(Array.from({ length: 20 }, () => asUser()));
    for (const b of buyers) await cartWithCode(b.headers, sku, code);
    const replies = await Promise.all(buyers.map((b) => checkout(b.headers, { expectedTotal: 900 })));
    const placed = replies.filter((r) => r.status === 201);
    expect(placed).toHaveLength(5);
    expect(replies.filter((r) => r.status !== 201).map((r) => r.body.code)).toEqual(
      Array(15).fill("PROMOTION_EXHAUSTED"),
    );
    expect(await adminSku(sku)).toMatchObject({ reserved: 5 });
    expect(await counters(id)).toMatchObject({ used: 0, reserved: 5, remaining: 0 });
    const owner = buyers[replies.indexOf(placed[0]!)]!;
    await api(`/v1/orders/${placed[0]!.body.orderId}/cancel`, { method: "POST", headers: owner.headers });
    await expect.poll(async () => counters(id)).toMatchObject({ reserved: 4, remaining: 1 });
    const late = buyers[replies.findIndex((r) => r.status !== 201)]!;
    expect((await checkout(late.headers, { expectedTotal: 900 })).status).toBe(201);
  });

  it("holds the per-customer limit across orders", async () => {
    const sku = await putSku(unique("s"), { price: 1000, stock: 10 });
    const { code } = await promotion({ kind: "percent", value: 10, limitPerCustomer: 1 });
    const user = await asUser();
    await cartWithCode(user.headers, sku, code);
    expect((await checkout(user.headers)).status).toBe(201);
    const again = await api("/v1/cart/items", { headers: user.headers, body: { skuId: sku, quantity: 1 } });
    expect(again.status).toBe(200);
    expect((await api("/v1/cart/promotions", { headers: user.headers, body: { code } })).body.code).toBe(
      "PROMOTION_LIMIT_PER_CUSTOMER",
    );
  });

  it("a discount that vanished since the cart view makes a checkout that sent its total PRICE_CHANGED, holding nothing", async () => {
    const sku = await putSku(unique("s"), { price: 1000, stock: 10 });
    const { id, code } = await promotion({ kind: "percent", value: 10, limit: 3 });
    const user = await asUser();
    await cartWithCode(user.headers, sku, code);
    await api(`/v1/admin/promotions/${id}`, {
      method: "PUT",
      headers: ADMIN,
      body: { code, kind: "percent", value: 10, limit: 3, active: false },
    });
    const res = await checkout(user.headers, { expectedTotal: 900 });
    expect(res.body).toMatchObject({
      code: "PRICE_CHANGED",
      errors: [{ expectedTotal: 900, total: 1000 }, { code: "PROMOTION_EXPIRED" }],
    });
    expect(await adminSku(sku)).toMatchObject({ reserved: 0 });
    expect(await counters(id)).toMatchObject({ reserved: 0, remaining: 3 });
  });

  it("an expired order releases its redemption with its stock", async () => {
    const sku = await putSku(unique("s"), { price: 1000, stock: 10 });
    const { id, code } = await promotion({ kind: "percent", value: 10, limit: 2 });
    const user = await asUser();
    await cartWithCode(user.headers, sku, code);
    const placed = await checkout(user.headers);
    const order = env.ORDERS.getByName(placed.body.orderId);
    await order.advanceClock(16 * 60_000);
    await runDurableObjectAlarm(order);
    await expect.poll(async () => counters(id)).toMatchObject({ reserved: 0, remaining: 2 });
    expect(await adminSku(sku)).toMatchObject({ reserved: 0 });
  });
});

describe("promotions on a flash buy", () => {
  it("a code discounts each flash order, and only the buys that are placed hold one of its redemptions", async () => {
    const sku = await putSku(unique("fl"), { price: 5000, stock: 3, stripes: 2 });
    const { id, code } = await promotion({ kind: "fixed", value: 1000, currency: "USD", limit: 4 });
    const buyers = await Promise.all(Array.from({ length: 8 }, () => asUser()));
    const replies = await Promise.all(buyers.map((b) => flash(b.headers, sku, { quantity: 1, code })));
    const placed = replies.filter((r) => r.status === 201);
    expect(placed).toHaveLength(3);
    for (const r of placed) expect(r.body).toMatchObject({ subtotal: 5000, total: 4000 });
    // 3 units: 3 orders hold a redemption; the refused buyers (sold out or exhausted) hold none.
    await expect.poll(async () => counters(id)).toMatchObject({ reserved: 3, remaining: 1 });
    expect(
      replies
        .filter((r) => r.status !== 201)
        .map((r) => r.body.code)
        .sort(),
    ).toEqual(expect.arrayContaining(["SOLD_OUT"]));
    expect((await sendPayment({ orderId: placed[0]!.body.orderId, amount: 4000 })).body.status).toBe("PAID");
    await expect.poll(async () => counters(id)).toMatchObject({ used: 1, reserved: 2 });
  });

  it("a buy cut off after its redemption was reserved (a crash) is placed by its retry, under a per-customer limit", async () => {
    const sku = await putSku(unique("fl"), { price: 5000, stock: 10, stripes: 4 });
    const { id, code } = await promotion({
      kind: "fixed",
      value: 1000,
      currency: "USD",
      limit: 5,
      limitPerCustomer: 1,
    });
    // A buyer whose home is not stripe 0: a fresh isolate, not yet knowing the SKU's 4 stripes, routes to 0 first.
    let user = await asUser();
    while (homeStripe(user.cartKey, 4) === 0) user = await asUser();
    const key = unique("k");
    // What the crash left: the redemption held under the order's id, the order never placed.
    const orderId = flashOrderId(await sha256Hex(`${user.cartKey}\n${key}`), homeStripe(user.cartKey, 4), sku);
    const ledger = budgetLedgerId(id);
    const held = await reserveAtHome(env, ledger, {
      reservationId: orderId,
      orderId,
      ownerId: user.cartKey,
      quantity: 1,
      expiresAt: Date.now() + 900_000,
    });
    expect(held.ok, JSON.stringify(held)).toBe(true);
    // The buyer's retry, same key: the one order, discounted, holding that one redemption.
    const retry = await flash(user.headers, sku, { quantity: 1, code }, key);
    expect(retry.status, JSON.stringify(retry.body)).toBe(201);
    expect(retry.body).toMatchObject({ orderId, total: 4000 });
    expect(await counters(id)).toMatchObject({ used: 0, reserved: 1, remaining: 4 });
  });

  it("an unknown code refuses the buy before any stock is taken", async () => {
    const sku = await putSku(unique("fl"), { price: 5000, stock: 3 });
    const user = await asUser();
    expect((await flash(user.headers, sku, { quantity: 1, code: "NOPE-NOPE" })).body.code).toBe("PROMOTION_UNKNOWN");
    expect(await adminSku(sku)).toMatchObject({ reserved: 0 });
  });
});
