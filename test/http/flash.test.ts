import { env } from "cloudflare:workers";
import { evictDurableObject, listDurableObjectIds, runDurableObjectAlarm } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { orders } from "../../src/db/tables";
import {
  adminSku,
  api,
  asUser,
  auditBalances,
  db,
  eventually,
  putSku,
  putSkuRequest,
  sendPayment,
  unique,
} from "../support/worker";

type Headers = Record<string, string>;

const buy = (headers: Headers, skuId: string, quantity = 1, key = unique("k")) =>
  api(`/v1/flash/${skuId}/orders`, { headers: { ...headers, "idempotency-key": key }, body: { quantity } });

describe("flash buy: the burst touches only stock actors", () => {
  it("opens no order or cart actor while buyers buy, and the stripe answers for the order from the 201 on", async () => {
    const sku = await putSku(unique("fl"), { stock: 40, purchaseLimit: 2, price: 2500 });
    const before = {
      orders: (await listDurableObjectIds(env.ORDERS)).length,
      carts: (await listDurableObjectIds(env.CARTS)).length,
    };
    const buyers = await Promise.all(Array.from({ length: 30 }, () => asUser()));
    const replies = await Promise.all(buyers.map((b) => buy(b.headers, sku)));
    expect(replies.map((r) => r.status)).toEqual(replies.map(() => 201));
    expect({
      orders: (await listDurableObjectIds(env.ORDERS)).length,
      carts: (await listDurableObjectIds(env.CARTS)).length,
    }).toEqual(before);

    const [first] = replies;
    expect(first!.body.orderId).toMatch(new RegExp(`^fl_[0-9a-f]{32}\\.0\\.${sku}$`));
    const read = await api(`/v1/orders/${first!.body.orderId}`, { headers: buyers[0]!.headers });
    expect(read.body).toMatchObject({
      orderId: first!.body.orderId,
      status: "PENDING",
      total: 2500,
      items: [{ skuId: sku, quantity: 1, unitPrice: 2500 }],
    });
    // Someone else's order is not found.
    expect((await api(`/v1/orders/${first!.body.orderId}`, { headers: buyers[1]!.headers })).status).toBe(404);
    expect(await adminSku(sku)).toMatchObject({ reserved: 30, available: 10 });
  });

  it("pays, cancels and refunds a flash order at its stripe, and Postgres gets each order exactly once", async () => {
    const sku = await putSku(unique("fl"), { stock: 5, price: 700 });
    const [payer, canceller] = [await asUser(), await asUser()];
    const paid = (await buy(payer.headers, sku, 2)).body;
    const cancelled = (await buy(canceller.headers, sku, 1)).body;

    const payment = await sendPayment({ orderId: paid.orderId, amount: 1400 });
    expect(payment.body).toMatchObject({ status: "PAID", duplicate: false });
    expect(
      (await api(`/v1/orders/${cancelled.orderId}/cancel`, { method: "POST", headers: canceller.headers })).body.status,
    ).toBe("CANCELLED");
    expect(await adminSku(sku)).toMatchObject({ onHand: 3, reserved: 0, sold: 2, available: 3 });

    expect((await sendPayment({ orderId: paid.orderId, amount: 1400, type: "payment.refunded" })).body.status).toBe(
      "REFUNDED",
    );
    expect(await adminSku(sku)).toMatchObject({ onHand: 5, sold: 2, available: 5 });

    const rows = await eventually(
      async () => {
        const found = await db((d) => d.select().from(orders).where(eq(orders.ownerId, payer.cartKey)));
        return found.length === 1 && found[0]!.status === "REFUNDED" ? found : null;
      },
      15_000,
      "the paid flash order in Postgres",
    );
    expect(rows[0]).toMatchObject({ orderId: paid.orderId, source: "flash", total: 1400 });
    await eventually(() => auditBalances(sku), 15_000, "audit balances");
  });

  it("takes back every order id it hands out: a flash order on a 128-character SKU id is read, paid and cancelled", async () => {
    const sku = `${unique("long")}-${"x".repeat(128)}`.slice(0, 128);
    await putSku(sku, { productId: "long-ids", stock: 5, price: 900, stripes: 4 });
    const [payer, canceller] = [await asUser(), await asUser()];
    const paid = (await buy(payer.headers, sku)).body;
    const cancelled = (await buy(canceller.headers, sku)).body;
    expect(paid.orderId.length).toBeGreaterThan(150);
    expect((await api(`/v1/orders/${paid.orderId}`, { headers: payer.headers })).body).toMatchObject({
      status: "PENDING",
    });
    expect((await sendPayment({ orderId: paid.orderId, amount: 900 })).body).toMatchObject({ status: "PAID" });
    const cancel = await api(`/v1/orders/${cancelled.orderId}/cancel`, { method: "POST", headers: canceller.headers });
    expect(cancel.body).toMatchObject({ status: "CANCELLED" });
  });

  it("lists a flash order among the buyer's orders within seconds", async () => {
    const sku = await putSku(unique("fl"), { stock: 5 });
    const user = await asUser();
    const placed = (await buy(user.headers, sku)).body;
    const listed = await eventually(
      async () => {
        const res = await api("/v1/orders", { headers: user.headers });
        return res.body.items.length === 1 ? res.body.items : null;
      },
      10_000,
      "the flash order listed",
    );
    expect(listed[0]).toMatchObject({ orderId: placed.orderId, status: "PENDING" });
  });

  it("expires an unpaid flash order from its stripe's own alarm and gives the stock back", async () => {
    const sku = await putSku(unique("fl"), { stock: 3 });
    const user = await asUser();
    const placed = (await buy(user.headers, sku, 2)).body;
    const stripe = env.SKUS.getByName(sku);
    // Move the stripe's clock past the payment window (kept across eviction), then let the alarm run.
    await stripe.advanceClock(Date.parse(placed.expiresAt) - Date.now() + 1);
    await evictDurableObject(stripe);
    await runDurableObjectAlarm(stripe);
    expect((await api(`/v1/orders/${placed.orderId}`, { headers: user.headers })).body.status).toBe("EXPIRED");
    expect(await adminSku(sku)).toMatchObject({ reserved: 0, available: 3 });
    // A payment after expiry is flagged for refund and never takes the stock.
    const late = await sendPayment({ orderId: placed.orderId, amount: placed.total });
    expect(late.body).toMatchObject({ status: "EXPIRED", refundRequired: true });
    expect(await adminSku(sku)).toMatchObject({ reserved: 0, sold: 0, available: 3 });
  });

  it("group commit: 200 buyers at once on 60 units sell exactly 60, refusals are SOLD_OUT", async () => {
    const sku = await putSku(unique("fl"), { stock: 60 });
    const buyers = await Promise.all(Array.from({ length: 200 }, () => asUser()));
    const replies = await Promise.all(buyers.map((b) => buy(b.headers, sku)));
    expect(replies.filter((r) => r.status === 201)).toHaveLength(60);
    expect(replies.filter((r) => r.status !== 201).every((r) => r.body.code === "SOLD_OUT")).toBe(true);
    expect(new Set(replies.filter((r) => r.status === 201).map((r) => r.body.orderId)).size).toBe(60);
    expect(await adminSku(sku)).toMatchObject({ reserved: 60, available: 0 });
    await eventually(() => auditBalances(sku), 20_000, "audit balances");
  });

  /** A user's first buy of one unit of a fresh SKU under a fresh idempotency key. */
  async function boughtOnce() {
    const a = await putSku(unique("a"), { stock: 5 });
    const user = await asUser();
    const key = unique("k");
    const first = await buy(user.headers, a, 1, key);
    expect(first.status).toBe(201);
    return { a, user, key, first };
  }

  it("an idempotency key is scoped to its SKU: the same order again on that SKU, another order on another", async () => {
    const { a, user, key, first } = await boughtOnce();
    expect((await buy(user.headers, a, 1, key)).body.orderId).toBe(first.body.orderId);
    const b = await putSku(unique("b"), { stock: 5 });
    const other = await buy(user.headers, b, 1, key);
    expect(other.status).toBe(201);
    expect(other.body.orderId).not.toBe(first.body.orderId);
  });

  it("refuses the same key with another quantity as reused", async () => {
    const { a, user, key } = await boughtOnce();
    expect((await buy(user.headers, a, 2, key)).body.code).toBe("IDEMPOTENCY_KEY_REUSED");
  });
});

describe("a flash sale with a start time", () => {
  it("refuses buys with SALE_NOT_STARTED before saleStartsAt, shows the start for a countdown, and sells from then on", async () => {
    const opens = new Date(Date.now() + 3_600_000).toISOString();
    const sku = unique("sale");
    const put = await putSkuRequest(sku, { price: 100, stock: 3, saleStartsAt: opens });
    expect(put.status).toBe(201);
    expect((await api(`/v1/skus/${sku}`)).body).toMatchObject({ saleStartsAt: opens, available: 3 });
    const user = await asUser();
    const early = await buy(user.headers, sku);
    expect(early.status).toBe(409);
    expect(early.body).toMatchObject({
      code: "SALE_NOT_STARTED",
      errors: [{ skuId: sku, code: "SALE_NOT_STARTED", saleStartsAt: opens }],
    });
    expect(await adminSku(sku)).toMatchObject({ reserved: 0 });
    const earlyAdd = await api("/v1/cart/items", { headers: user.headers, body: { skuId: sku, quantity: 1 } });
    expect(earlyAdd.status).toBe(409);
    expect(earlyAdd.body.code).toBe("SALE_NOT_STARTED");
    // The sale opens: the SKU's clock and a new buyer's cart's clock move past saleStartsAt.
    const past = Date.parse(opens) - Date.now() + 1_000;
    await env.SKUS.getByName(sku).advanceClock(past);
    expect((await buy(user.headers, sku)).status).toBe(201);
    const later = await asUser();
    await env.CARTS.getByName(later.cartKey).advanceClock(past);
    expect((await api("/v1/cart/items", { headers: later.headers, body: { skuId: sku, quantity: 1 } })).status).toBe(
      200,
    );
    // A malformed start time is a 400.
    const bad = await putSkuRequest(sku, { price: 100, stock: 3, saleStartsAt: "tomorrow" });
    expect(bad.status).toBe(400);
  });
});

describe("payment provider ids are unique across orders", () => {
  it("a transaction id or event id already used on order A never pays order B", async () => {
    const sku = await putSku(unique("pay"), { stock: 10, price: 300 });
    const [a, b, c] = await Promise.all([asUser(), asUser(), asUser()]);
    const orderA = (await buy(a.headers, sku)).body;
    const orderB = (await buy(b.headers, sku)).body;
    const orderC = (await buy(c.headers, sku)).body;
    const txn = `tx_${crypto.randomUUID()}`;
    const evt = `evt_${crypto.randomUUID()}`;
    expect(
      (await sendPayment({ orderId: orderA.orderId, amount: 300, transactionId: txn, eventId: evt })).body.status,
    ).toBe("PAID");

    const reusedTxn = await sendPayment({ orderId: orderB.orderId, amount: 300, transactionId: txn });
    expect(reusedTxn.status).toBe(200);
    expect(reusedTxn.body).toMatchObject({ status: "PENDING", duplicate: false });
    const reusedEvent = await sendPayment({ orderId: orderC.orderId, amount: 300, eventId: evt });
    expect(reusedEvent.body).toMatchObject({ status: "PENDING" });

    const b2 = (await api(`/v1/orders/${orderB.orderId}`, { headers: b.headers })).body;
    expect(b2.payments).toEqual([
      expect.objectContaining({ status: "FAILED", reason: expect.stringContaining(orderA.orderId) }),
    ]);
    expect(await adminSku(sku)).toMatchObject({ sold: 1, reserved: 2 });
    // B can still be paid with its own ids.
    expect((await sendPayment({ orderId: orderB.orderId, amount: 300 })).body.status).toBe("PAID");
  });
});

describe("actors know who they are from their own storage (docs/invariants.md 9)", () => {
  it("a SKU stripe and a cart reached without their name (as an alarm wakes them) behave as by name", async () => {
    const sku = await putSku(unique("who"), { stock: 7 });
    const user = await asUser();
    expect((await buy(user.headers, sku, 2)).status).toBe(201);
    const byName = env.SKUS.getByName(sku);
    await evictDurableObject(byName);
    const anonymous = env.SKUS.get(env.SKUS.idFromString(byName.id.toString()));
    expect(await anonymous.adminView()).toMatchObject({ skuId: sku, onHand: 7, reserved: 2 });
    expect(await anonymous.publicView()).toMatchObject({ skuId: sku, available: 5 });

    await api("/v1/cart/items", { headers: user.headers, body: { skuId: sku, quantity: 1 } });
    const cart = env.CARTS.getByName(user.cartKey);
    await evictDurableObject(cart);
    const cartWithoutName = env.CARTS.get(env.CARTS.idFromString(cart.id.toString()));
    expect(await cartWithoutName.read()).toMatchObject({
      cartKey: user.cartKey,
      lines: [expect.objectContaining({ skuId: sku })],
    });
  });
});
