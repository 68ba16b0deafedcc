// Stripe's webhook (POST /v1/payments/stripe/webhook) end to end: events in the shape of
// Stripe's API reference, signed by the official `stripe` package, replayed once, ten times,
// concurrently, out of order and late, against real actors; Postgres (orders, payments,
// inventory_audit) must end up agreeing with the orders.
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { deadLetters, inventoryAudit, orders, payments } from "../../src/db/tables";
import { app } from "../../src/http/app";
import { STRIPE_WEBHOOK_PATH } from "../../src/http/stripe-webhook";
import type { StripeEventType } from "../support/stripe";
import { newChargeId, newIntentId, stripeEvent, stripeSignature } from "../support/stripe";
import { adminSku, api, asUser, auditBalances, checkout, db, eventually, putSku, unique } from "../support/worker";

/** A merchant of its own: the catalog pages other tests read (merchant m-1) do not fill up with these SKUs. */
const MERCHANT = "m-stripe";

interface Placed {
  sku: string;
  orderId: string;
  total: number;
  headers: Record<string, string>;
}

async function checkoutOrder(price = 2500, quantity = 1, stock = 10): Promise<Placed> {
  const sku = await putSku(unique("stripe"), { price, stock, merchantId: MERCHANT });
  const user = await asUser();
  await api("/v1/cart/items", { headers: user.headers, body: { skuId: sku, quantity } });
  const placed = await checkout(user.headers);
  expect(placed.status).toBe(201);
  return { sku, orderId: placed.body.orderId, total: placed.body.total, headers: user.headers };
}

async function flashOrder(price = 4000, quantity = 2): Promise<Placed> {
  const sku = await putSku(unique("stripe-flash"), { price, stock: 10, stripes: 2, merchantId: MERCHANT });
  const user = await asUser();
  const placed = await api(`/v1/flash/${sku}/orders`, {
    headers: { ...user.headers, "idempotency-key": unique("k") },
    body: { quantity },
  });
  expect(placed.status).toBe(201);
  return { sku, orderId: placed.body.orderId, total: placed.body.total, headers: user.headers };
}

function eventFor(type: StripeEventType, o: Placed, intentId: string, over: Record<string, unknown> = {}) {
  return stripeEvent(type, { orderId: o.orderId, intentId, amount: o.total, ...over });
}

/** Delivers an event as Stripe does: the raw JSON and its Stripe-Signature. */
async function deliver(event: object, sign: { secret?: string; timestamp?: number } = {}) {
  const payload = JSON.stringify(event);
  return api(STRIPE_WEBHOOK_PATH, {
    headers: { "stripe-signature": await stripeSignature(payload, sign.secret, sign.timestamp) },
    body: payload,
  });
}

async function readOrder(o: Placed) {
  const res = await api(`/v1/orders/${o.orderId}`, { headers: o.headers });
  expect(res.status).toBe(200);
  return res.body;
}

/** The order's inventory_audit rows by kind (reserve, commit, release, restock). */
async function auditKinds(orderId: string): Promise<Record<string, number>> {
  const rows = await db((d) => d.select().from(inventoryAudit).where(eq(inventoryAudit.refId, orderId)));
  const kinds: Record<string, number> = {};
  for (const row of rows) kinds[row.kind] = (kinds[row.kind] ?? 0) + 1;
  return kinds;
}

/** Waits until Postgres holds the order as its actor does (status, flag, version, every payment) and the SKU's audit balances. */
async function postgresAgrees(o: Placed): Promise<void> {
  const order = await readOrder(o);
  await eventually(
    async () => {
      const [row] = await db((d) => d.select().from(orders).where(eq(orders.orderId, o.orderId)));
      const rows = await db((d) => d.select().from(payments).where(eq(payments.orderId, o.orderId)));
      const stored = rows.map((p) => `${p.eventId} ${p.status} ${p.amount}`).sort();
      const expected = order.payments.map((p: any) => `${p.eventId} ${p.status} ${p.amount}`).sort();
      return (
        row?.status === order.status &&
        row.refundRequired === order.refundRequired &&
        JSON.stringify(stored) === JSON.stringify(expected) &&
        (await auditBalances(o.sku))
      );
    },
    20_000,
    `Postgres to agree with ${o.orderId}`,
  );
}

describe("Stripe webhook: signature", () => {
  it("refuses a wrong secret, a stale timestamp or no signature with 401 and claims nothing, so the signed event still pays", async () => {
    const o = await checkoutOrder();
    const intentId = newIntentId();
    const event = eventFor("payment_intent.succeeded", o, intentId);
    expect((await deliver(event, { secret: "whsec_not_ours" })).status).toBe(401);
    const stale = await deliver(event, { timestamp: Math.floor(Date.now() / 1000) - 301 });
    expect(stale.status).toBe(401);
    expect((await api(STRIPE_WEBHOOK_PATH, { body: JSON.stringify(event) })).status).toBe(401);
    expect(await readOrder(o)).toMatchObject({ status: "PENDING", payments: [] });
    expect(await adminSku(o.sku)).toMatchObject({ reserved: 1, sold: 0 });
    // Nothing was claimed either: the same event, correctly signed, pays the order.
    expect((await deliver(event)).body).toMatchObject({ outcome: "applied", status: "PAID" });
    await postgresAgrees(o);
    expect(await db((d) => d.select().from(payments).where(eq(payments.orderId, o.orderId)))).toHaveLength(1);
  });

  it("refuses every Stripe event while STRIPE_WEBHOOK_SECRET is not set", async () => {
    const payload = JSON.stringify(
      stripeEvent("payment_intent.succeeded", { orderId: "x", intentId: "pi_x", amount: 1 }),
    );
    const res = await app.fetch(
      new Request(`http://edge-cart.test${STRIPE_WEBHOOK_PATH}`, {
        method: "POST",
        headers: { "stripe-signature": await stripeSignature(payload), "content-type": "application/json" },
        body: payload,
      }),
      { ...env, STRIPE_WEBHOOK_SECRET: undefined },
      createExecutionContext(),
    );
    expect(res.status).toBe(403);
  });
});

describe("Stripe webhook: payment_intent.succeeded", () => {
  it("pays the order exactly once, delivered once then nine more times", async () => {
    const o = await checkoutOrder(2500, 2);
    const event = eventFor("payment_intent.succeeded", o, newIntentId());
    const outcomes: string[] = [];
    for (let i = 0; i < 10; i++) outcomes.push((await deliver(event)).body.outcome);
    expect(outcomes).toEqual(["applied", ...Array(9).fill("duplicate")]);
    expect(await readOrder(o)).toMatchObject({
      status: "PAID",
      payments: [{ status: "SUCCEEDED", amount: 5000, currency: "USD", eventId: event.id }],
    });
    await eventually(async () => (await adminSku(o.sku)).sold === 2, 5_000, "committed");
    expect(await adminSku(o.sku)).toMatchObject({ onHand: 8, reserved: 0, sold: 2 });
    await postgresAgrees(o);
    expect(await auditKinds(o.orderId)).toEqual({ reserve: 1, commit: 1 });
  });

  it("pays a flash order exactly once when ten deliveries arrive at once", async () => {
    const o = await flashOrder(4000, 2);
    const event = eventFor("payment_intent.succeeded", o, newIntentId());
    const replies = await Promise.all(Array.from({ length: 10 }, () => deliver(event)));
    expect(replies.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(replies.filter((r) => r.body.outcome === "applied")).toHaveLength(1);
    expect(replies.every((r) => r.body.status === "PAID")).toBe(true);
    expect((await readOrder(o)).payments).toHaveLength(1);
    await postgresAgrees(o);
    expect(await auditKinds(o.orderId)).toEqual({ reserve: 1, commit: 1 });
  });

  it("when a success races a cancel exactly one wins, and a success that loses is flagged for refund", async () => {
    const placed = await Promise.all(Array.from({ length: 6 }, () => checkoutOrder(1500, 1, 3)));
    const results = await Promise.all(
      placed.map(async (o) => {
        const [paid, cancelled] = await Promise.all([
          deliver(eventFor("payment_intent.succeeded", o, newIntentId())),
          api(`/v1/orders/${o.orderId}/cancel`, { method: "POST", headers: o.headers }),
        ]);
        return { o, paid, cancelled, order: await readOrder(o) };
      }),
    );
    for (const { o, paid, cancelled, order } of results) {
      expect(paid.status).toBe(200);
      if (order.status === "PAID") {
        expect(cancelled.status).toBe(409);
        expect(order.refundRequired).toBe(false);
        await eventually(async () => (await adminSku(o.sku)).sold === 1, 5_000, "committed");
      } else {
        expect(order).toMatchObject({ status: "CANCELLED", refundRequired: true });
        expect(cancelled.status).toBe(200);
        await eventually(async () => (await adminSku(o.sku)).reserved === 0, 5_000, "released");
        expect(await adminSku(o.sku)).toMatchObject({ sold: 0, available: 3 });
      }
      await postgresAgrees(o);
    }
  });

  it("the same PaymentIntent presented for another order never pays it", async () => {
    const first = await checkoutOrder(2500);
    const second = await checkoutOrder(2500);
    const intentId = newIntentId();
    expect((await deliver(eventFor("payment_intent.succeeded", first, intentId))).body.status).toBe("PAID");
    const reused = await deliver(eventFor("payment_intent.succeeded", second, intentId));
    expect(reused.body).toMatchObject({ outcome: "applied", status: "PENDING" });
    expect((await readOrder(second)).payments).toMatchObject([
      {
        status: "FAILED",
        transactionId: intentId,
        reason: `transaction or event id already used on order ${first.orderId}`,
      },
    ]);
    expect(await adminSku(second.sku)).toMatchObject({ reserved: 1, sold: 0 });
  });

  it("a wrong amount or currency is recorded FAILED and the order stays payable", async () => {
    const o = await checkoutOrder(2500);
    const short = await deliver(eventFor("payment_intent.succeeded", o, newIntentId(), { amount: 2499 }));
    const euros = await deliver(eventFor("payment_intent.succeeded", o, newIntentId(), { currency: "eur" }));
    expect([short.body.status, euros.body.status]).toEqual(["PENDING", "PENDING"]);
    expect((await readOrder(o)).payments.map((p: any) => p.reason.split(":")[0])).toEqual([
      "amount mismatch",
      "currency mismatch",
    ]);
  });

  it("a success after the order expired is recorded with refundRequired and takes no stock", async () => {
    const o = await checkoutOrder(2000, 2);
    const order = env.ORDERS.getByName(o.orderId);
    await order.advanceClock(15 * 60_000 + 1000);
    const intentId = newIntentId();
    const late = await deliver(eventFor("payment_intent.succeeded", o, intentId));
    expect(late.body).toMatchObject({ outcome: "applied", status: "EXPIRED", refundRequired: true });
    await eventually(async () => (await adminSku(o.sku)).reserved === 0, 5_000, "released at expiry");
    expect(await adminSku(o.sku)).toMatchObject({ onHand: 10, sold: 0, available: 10 });
    // The merchant refunds it in Stripe: the flag clears, stock is not touched.
    const refund = await deliver(eventFor("charge.refunded", o, intentId));
    expect(refund.body).toMatchObject({ status: "EXPIRED", refundRequired: false });
    expect(await adminSku(o.sku)).toMatchObject({ onHand: 10, sold: 0 });
    await postgresAgrees(o);
    expect(await auditKinds(o.orderId)).toEqual({ reserve: 1, release: 1 });
  });
});

describe("Stripe webhook: failures and cancellations", () => {
  it("payment_failed is recorded once with Stripe's reason and leaves the order payable by a later success", async () => {
    const o = await checkoutOrder(2500);
    const intentId = newIntentId();
    const failure = eventFor("payment_intent.payment_failed", o, intentId);
    expect((await deliver(failure)).body).toMatchObject({ outcome: "applied", status: "PENDING" });
    expect((await deliver(failure)).body.outcome).toBe("duplicate");
    expect((await deliver(eventFor("payment_intent.succeeded", o, intentId))).body.status).toBe("PAID");
    expect((await readOrder(o)).payments).toMatchObject([
      {
        status: "FAILED",
        transactionId: failure.data.object.last_payment_error.charge,
        reason: "reported failed by Stripe (card_declined/insufficient_funds): Your card has insufficient funds.",
      },
      { status: "SUCCEEDED", transactionId: intentId },
    ]);
    await postgresAgrees(o);
  });

  it("payment_intent.canceled is recorded and leaves the order PENDING with its stock held", async () => {
    const o = await checkoutOrder(2500);
    const canceled = await deliver(eventFor("payment_intent.canceled", o, newIntentId()));
    expect(canceled.body).toMatchObject({ outcome: "applied", status: "PENDING" });
    expect((await readOrder(o)).payments).toMatchObject([
      { status: "FAILED", reason: "PaymentIntent canceled (abandoned)" },
    ]);
    expect(await adminSku(o.sku)).toMatchObject({ reserved: 1 });
    await postgresAgrees(o);
  });
});

describe("Stripe webhook: charge.refunded", () => {
  it("a full refund makes the order REFUNDED and restocks exactly once, however often it is delivered", async () => {
    const o = await checkoutOrder(1000, 3);
    const intentId = newIntentId();
    await deliver(eventFor("payment_intent.succeeded", o, intentId));
    const refund = eventFor("charge.refunded", o, intentId);
    const replies = await Promise.all([deliver(refund), deliver(refund), deliver(refund)]);
    expect(replies.map((r) => r.body.outcome).sort()).toEqual(["applied", "duplicate", "duplicate"]);
    expect((await deliver(refund)).body).toMatchObject({ outcome: "duplicate", status: "REFUNDED" });
    await eventually(async () => (await adminSku(o.sku)).onHand === 10, 5_000, "restocked");
    expect(await adminSku(o.sku)).toMatchObject({ onHand: 10, reserved: 0, sold: 3, available: 10 });
    await postgresAgrees(o);
    expect(await auditKinds(o.orderId)).toEqual({ reserve: 1, commit: 1, restock: 1 });
  });

  it("partial refunds, each counted once however often delivered, keep the order PAID until the rest refunds it", async () => {
    const o = await checkoutOrder(3000);
    const intentId = newIntentId();
    const chargeId = newChargeId();
    await deliver(eventFor("payment_intent.succeeded", o, intentId));
    const refunded = (amountRefunded: number) => eventFor("charge.refunded", o, intentId, { chargeId, amountRefunded });
    const first = refunded(1000);
    expect((await deliver(first)).body).toMatchObject({ outcome: "applied", status: "PAID" });
    expect((await deliver(first)).body.outcome).toBe("duplicate");
    expect((await deliver(refunded(1800))).body).toMatchObject({ outcome: "applied", status: "PAID" });
    expect(await adminSku(o.sku)).toMatchObject({ onHand: 9, sold: 1 });
    expect((await deliver(refunded(3000))).body).toMatchObject({ outcome: "applied", status: "REFUNDED" });
    expect((await readOrder(o)).payments.map((p: any) => [p.status, p.amount, p.transactionId])).toEqual([
      ["SUCCEEDED", 3000, intentId],
      ["PARTIALLY_REFUNDED", 1000, `${chargeId}:refunded:1000`],
      ["PARTIALLY_REFUNDED", 800, `${chargeId}:refunded:1800`],
      ["REFUNDED", 1200, `${chargeId}:refunded:3000`],
    ]);
    await eventually(async () => (await adminSku(o.sku)).onHand === 10, 5_000, "restocked");
    await postgresAgrees(o);
    expect(await auditKinds(o.orderId)).toEqual({ reserve: 1, commit: 1, restock: 1 });
  });

  it("a refund delivered before its success pays and refunds the order, and the late success changes nothing", async () => {
    const o = await flashOrder(4000, 1);
    const intentId = newIntentId();
    const refund = await deliver(eventFor("charge.refunded", o, intentId));
    expect(refund.body).toMatchObject({ outcome: "applied", status: "REFUNDED", refundRequired: false });
    const success = await deliver(eventFor("payment_intent.succeeded", o, intentId));
    expect(success.body).toMatchObject({ outcome: "duplicate", status: "REFUNDED" });
    expect((await readOrder(o)).payments.map((p: any) => p.status)).toEqual(["SUCCEEDED", "REFUNDED"]);
    await eventually(async () => (await adminSku(o.sku)).onHand === 10, 5_000, "restocked");
    expect(await adminSku(o.sku)).toMatchObject({ reserved: 0, sold: 1, available: 10 });
    await postgresAgrees(o);
    expect(await auditKinds(o.orderId)).toEqual({ reserve: 1, commit: 1, restock: 1 });
  });
});

describe("Stripe webhook: events for no order of ours", () => {
  it("an unknown order is answered 200 and kept once as a dead letter for an operator", async () => {
    const orderId = `ord_${"f".repeat(32)}`;
    const event = stripeEvent("payment_intent.succeeded", { orderId, intentId: newIntentId(), amount: 999 });
    const first = await deliver(event);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ outcome: "dead_letter", orderId, detail: `no order ${orderId}` });
    expect((await deliver(event)).status).toBe(200);
    const rows = await eventually(
      async () => {
        const found = await db((d) =>
          d
            .select()
            .from(deadLetters)
            .where(eq(deadLetters.messageId, `stripe:${event.id}`)),
        );
        return found.length ? found : null;
      },
      20_000,
      "the dead letter",
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ queue: "stripe-webhook", error: `no order ${orderId}` });
    expect((rows[0]!.body as any).id).toBe(event.id);
    // A malformed order id is unknown too, and wakes no actor.
    const junk = stripeEvent("charge.refunded", { orderId: "not-an-order", intentId: newIntentId(), amount: 1 });
    expect((await deliver(junk)).body).toMatchObject({ outcome: "dead_letter" });
  });

  it("ignores intents without metadata.orderId and event types it does not act on", async () => {
    const foreign = stripeEvent("payment_intent.succeeded", { orderId: "x", intentId: newIntentId(), amount: 1 });
    foreign.data.object.metadata = {};
    expect((await deliver(foreign)).body).toMatchObject({ outcome: "ignored" });
    expect((await deliver({ ...foreign, type: "customer.created" })).body).toMatchObject({ outcome: "ignored" });
    const dead = await db((d) =>
      d
        .select()
        .from(deadLetters)
        .where(and(eq(deadLetters.queue, "stripe-webhook"), eq(deadLetters.messageId, `stripe:${foreign.id}`))),
    );
    expect(dead).toHaveLength(0);
  });

  it("a signed body that is not a Stripe event is 400", async () => {
    const payload = JSON.stringify({ hello: "world" });
    const res = await api(STRIPE_WEBHOOK_PATH, {
      headers: { "stripe-signature": await stripeSignature(payload) },
      body: payload,
    });
    expect(res.status).toBe(400);
  });
});
