import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { payments } from "../../src/db/tables";
import {
  adminSku,
  api,
  asUser,
  checkout,
  db,
  eventually,
  putSku,
  sendPayment,
  signWebhook,
  unique,
} from "../support/worker";

async function pendingOrder(price = 2500, quantity = 1) {
  const sku = await putSku(unique("pay"), { price, stock: 10 });
  const user = await asUser();
  await api("/v1/cart/items", { headers: user.headers, body: { skuId: sku, quantity } });
  const placed = await checkout(user.headers);
  return { sku, user, orderId: placed.body.orderId as string, total: placed.body.total as number };
}

describe("payment webhook", () => {
  it("a valid success pays the order and commits its stock once, however often it is replayed", async () => {
    const { sku, user, orderId, total } = await pendingOrder(2500, 2);
    const eventId = unique("evt");
    const paid = await sendPayment({ orderId, amount: total, eventId, transactionId: "tx-" + eventId });
    expect(paid.status).toBe(200);
    expect(paid.body).toMatchObject({ received: true, duplicate: false, status: "PAID", refundRequired: false });
    const replay = await sendPayment({ orderId, amount: total, eventId, transactionId: "tx-" + eventId });
    expect(replay.body).toMatchObject({ duplicate: true, status: "PAID" });
    const sameTx = await sendPayment({ orderId, amount: total, transactionId: "tx-" + eventId });
    expect(sameTx.body.duplicate).toBe(true);

    const order = (await api(`/v1/orders/${orderId}`, { headers: user.headers })).body;
    expect(order).toMatchObject({
      status: "PAID",
      payments: [{ status: "SUCCEEDED", amount: 5000, transactionId: "tx-" + eventId }],
    });
    expect(order.paidAt).not.toBeNull();
    await eventually(async () => (await adminSku(sku)).sold === 2, 5_000, "committed");
    expect(await adminSku(sku)).toMatchObject({ onHand: 8, reserved: 0, sold: 2, available: 8 });
    const rows = await eventually(
      async () => {
        const found = await db((d) => d.select().from(payments).where(eq(payments.orderId, orderId)));
        return found.length ? found : null;
      },
      20_000,
      "payments row",
    );
    expect(rows).toHaveLength(1);
  });

  it("refuses a forged, stale, missing or malformed signature and records nothing", async () => {
    const { user, orderId, total } = await pendingOrder();
    const body = JSON.stringify({
      eventId: unique("e"),
      type: "payment.succeeded",
      orderId,
      transactionId: unique("tx"),
      amount: total,
      currency: "USD",
    });
    const forged = await api("/v1/payments/webhook", {
      headers: { "payment-signature": await signWebhook(body, "not-the-secret") },
      body,
    });
    expect(forged.status).toBe(401);
    const stale = await api("/v1/payments/webhook", {
      headers: { "payment-signature": await signWebhook(body, undefined, Math.floor(Date.now() / 1000) - 301) },
      body,
    });
    expect(stale.status).toBe(401);
    const future = await api("/v1/payments/webhook", {
      headers: { "payment-signature": await signWebhook(body, undefined, Math.floor(Date.now() / 1000) + 400) },
      body,
    });
    expect(future.status).toBe(401);
    expect((await api("/v1/payments/webhook", { body })).status).toBe(401);
    expect((await api("/v1/payments/webhook", { headers: { "payment-signature": "t=abc,v1=zz" }, body })).status).toBe(
      401,
    );
    // The signature covers the raw body: the same JSON re-serialized differently does not verify.
    const signature = await signWebhook(body);
    const reformatted = JSON.stringify(JSON.parse(body), null, 2);
    expect(
      (await api("/v1/payments/webhook", { headers: { "payment-signature": signature }, body: reformatted })).status,
    ).toBe(401);
    expect((await api(`/v1/orders/${orderId}`, { headers: user.headers })).body).toMatchObject({
      status: "PENDING",
      payments: [],
    });
  });

  it("a signed but invalid body is 400", async () => {
    const body = JSON.stringify({
      eventId: "e",
      type: "payment.maybe",
      orderId: "x",
      transactionId: "t",
      amount: 1,
      currency: "USD",
    });
    const bad = await api("/v1/payments/webhook", { headers: { "payment-signature": await signWebhook(body) }, body });
    expect(bad.status).toBe(400);
  });

  it("a payment for an unknown order is 404", async () => {
    const unknown = await sendPayment({ orderId: `ord_${"0".repeat(32)}`, amount: 100 });
    expect(unknown.status).toBe(404);
  });

  it("records a reported failure, a wrong amount or a wrong currency as FAILED and keeps the order payable", async () => {
    const { orderId, total, user } = await pendingOrder();
    expect((await sendPayment({ orderId, amount: total, type: "payment.failed" })).body.status).toBe("PENDING");
    expect((await sendPayment({ orderId, amount: total - 1 })).body.status).toBe("PENDING");
    expect((await sendPayment({ orderId, amount: total, currency: "EUR" })).body.status).toBe("PENDING");
    const order = (await api(`/v1/orders/${orderId}`, { headers: user.headers })).body;
    expect(order.payments.map((p: any) => [p.status, p.reason?.split(":")[0]])).toEqual([
      ["FAILED", "reported failed by the payment provider"],
      ["FAILED", "amount mismatch"],
      ["FAILED", "currency mismatch"],
    ]);
    expect((await sendPayment({ orderId, amount: total })).body.status).toBe("PAID");
  });

  it("refunds a PAID order and puts the units back on hand", async () => {
    const { sku, orderId, total } = await pendingOrder(1000, 3);
    await sendPayment({ orderId, amount: total });
    await eventually(async () => (await adminSku(sku)).sold === 3, 5_000, "committed");
    const refund = await sendPayment({ orderId, amount: total, type: "payment.refunded" });
    expect(refund.body.status).toBe("REFUNDED");
    await eventually(async () => (await adminSku(sku)).onHand === 10, 5_000, "restocked");
    expect(await adminSku(sku)).toMatchObject({ onHand: 10, reserved: 0, sold: 3, available: 10 });
  });

  it("partial refunds keep the order PAID until the one that completes the amount refunds it and restocks once", async () => {
    const { sku, user, orderId, total } = await pendingOrder(1000, 3);
    await sendPayment({ orderId, amount: total });
    const partial = await sendPayment({ orderId, amount: 1000, type: "payment.refunded" });
    expect(partial.body).toMatchObject({ status: "PAID", duplicate: false });
    expect((await sendPayment({ orderId, amount: 500, type: "payment.refunded" })).body.status).toBe("PAID");
    // More than is left (1500) is refused; the rest refunds the order.
    expect((await sendPayment({ orderId, amount: 1501, type: "payment.refunded" })).body.status).toBe("PAID");
    expect((await sendPayment({ orderId, amount: 1500, type: "payment.refunded" })).body.status).toBe("REFUNDED");
    const order = (await api(`/v1/orders/${orderId}`, { headers: user.headers })).body;
    expect(order.payments.map((p: any) => [p.status, p.amount])).toEqual([
      ["SUCCEEDED", 3000],
      ["PARTIALLY_REFUNDED", 1000],
      ["PARTIALLY_REFUNDED", 500],
      ["FAILED", 1501],
      ["REFUNDED", 1500],
    ]);
    await eventually(async () => (await adminSku(sku)).onHand === 10, 5_000, "restocked once");
    expect(await adminSku(sku)).toMatchObject({ onHand: 10, reserved: 0, sold: 3 });
  });

  it("a success after cancel is recorded and flagged for refund without taking the stock again", async () => {
    const { sku, user, orderId, total } = await pendingOrder(1000, 2);
    await api(`/v1/orders/${orderId}/cancel`, { method: "POST", headers: user.headers });
    await eventually(async () => (await adminSku(sku)).reserved === 0, 5_000, "released");
    const late = await sendPayment({ orderId, amount: total });
    expect(late.body).toMatchObject({ status: "CANCELLED", refundRequired: true, duplicate: false });
    expect(await adminSku(sku)).toMatchObject({ reserved: 0, sold: 0, available: 10 });
  });
});
