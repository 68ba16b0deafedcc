// The full buyer journey over real HTTP: guest cart -> login + merge -> checkout -> signed
// payment webhook (and its replay, forgeries, stale signatures) -> refund; then, on a stack
// with a 3 s reservation TTL, an unpaid order that expires and a payment that arrives late.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  eventually,
  isProblem,
  newId,
  signPayment,
  sleep,
  startE2eStack,
  type E2eStack,
  type WebhookEvent,
} from "../support/e2e.ts";

/** skuId -> quantity of a cart response. */
function quantities(cart: { items: { skuId: string; quantity: number }[] }): Record<string, number> {
  return Object.fromEntries(cart.items.map((l) => [l.skuId, l.quantity]));
}

async function auditOf(stack: E2eStack, refId: string) {
  const { rows } = await stack.db.query(
    `select sku_id, kind, quantity, on_hand_delta, reserved_delta, sold_delta
       from inventory_audit where ref_id = $1 order by sku_id, sku_version`,
    [refId],
  );
  return rows;
}

/** The audit rows of a SKU sum to its live counters (docs/invariants.md 4). */
async function expectAuditBalanced(stack: E2eStack, skuId: string): Promise<void> {
  const live = await stack.api.skuCounters(skuId);
  await eventually(
    async () => {
      const { rows } = await stack.db.query(
        `select coalesce(sum(on_hand_delta),0)::int as "onHand", coalesce(sum(reserved_delta),0)::int as reserved,
                coalesce(sum(sold_delta),0)::int as sold from inventory_audit where sku_id = $1`,
        [skuId],
      );
      expect(rows[0]).toEqual({ onHand: live.onHand, reserved: live.reserved, sold: live.sold });
    },
    { timeoutMs: 30_000, intervalMs: 500 },
  );
}

describe("journey: guest cart -> merge -> checkout -> pay -> refund", () => {
  let stack: E2eStack;
  const A = newId("sku-a");
  const B = newId("sku-b");
  const C = newId("sku-c");
  const userId = newId("buyer");
  const guestId = randomUUID();
  let user: Record<string, string>;
  let orderId: string;
  const total = 3 * 1250 + 799;
  const paid: WebhookEvent = {
    eventId: "evt_paid_1",
    type: "payment.succeeded",
    orderId: "",
    transactionId: "txn_1",
    amount: total,
    currency: "USD",
  };

  beforeAll(async () => {
    stack = await startE2eStack();
    console.log(`[e2e] journey stack started in ${stack.startSeconds.toFixed(1)} s`);
    user = await stack.api.user(userId);
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it("admin creates the SKUs", async () => {
    for (const [id, price, stock] of [
      [A, 1250, 10],
      [B, 799, 5],
      [C, 300, 20],
    ] as const) {
      const res = await stack.api.putSku(id, {
        productId: "prod-journey",
        name: `Item ${id}`,
        merchantId: "m-journey",
        price,
        stock,
        purchaseLimit: 5,
      });
      expect(res.status, res.text).toBe(201);
      expect(res.body).toMatchObject({ skuId: id, price, onHand: stock, reserved: 0, sold: 0, available: stock });
    }
  });

  it("a guest fills a cart, logs in and merges it into the user's cart (sum)", async () => {
    const guest = stack.api.guest(guestId);
    // The user already has one A in the cart from another device.
    expect((await stack.api.post("/v1/cart/items", { skuId: A, quantity: 1 }, user)).status).toBe(200);
    for (const [skuId, quantity] of [
      [A, 2],
      [B, 1],
      [C, 1],
    ] as const) {
      const res = await stack.api.post("/v1/cart/items", { skuId, quantity }, guest);
      expect(res.status, res.text).toBe(200);
    }
    const guestCart = await stack.api.get("/v1/cart", guest);
    expect(guestCart.body.cartId).toBe(`guest:${guestId}`);
    expect(quantities(guestCart.body)).toEqual({ [A]: 2, [B]: 1, [C]: 1 });
    expect(guestCart.body.totals).toMatchObject({ totalItems: 3, totalQuantity: 4, totalAmount: 2 * 1250 + 799 + 300 });

    const merged = await stack.api.post("/v1/cart/merge", { clientCartId: guestId, strategy: "sum" }, user);
    expect(merged.status, merged.text).toBe(200);
    expect(merged.body.cartId).toBe(`user:${userId}`);
    expect(quantities(merged.body)).toEqual({ [A]: 3, [B]: 1, [C]: 1 });
    expect(merged.body.merge).toMatchObject({ strategy: "sum", clamped: [] });

    // The guest cart is emptied, and merging again changes nothing.
    const emptied = await stack.api.get("/v1/cart", guest);
    expect(emptied.body.items).toEqual([]);
    const again = await stack.api.post("/v1/cart/merge", { clientCartId: guestId, strategy: "sum" }, user);
    expect(again.status).toBe(200);
    expect(quantities(again.body)).toEqual({ [A]: 3, [B]: 1, [C]: 1 });

    // A merge needs a logged-in user.
    const asGuest = await stack.api.post("/v1/cart/merge", { clientCartId: guestId, strategy: "sum" }, guest);
    expect(asGuest.status).toBe(401);
  });

  it("checkout -> 201 PENDING; exactly the checked-out lines leave the cart; stock is reserved", async () => {
    const before = Date.now();
    // A double-click: the same request three times at once makes one order.
    const sent = await Promise.all(
      [1, 2, 3].map(() =>
        stack.api.post(
          "/v1/checkout",
          { skuIds: [A, B], expectedTotal: total },
          { ...user, "idempotency-key": "journey-checkout-1" },
        ),
      ),
    );
    expect(sent.map((r) => r.status).sort(), sent.map((r) => r.text).join("\n")).toEqual([200, 200, 201]);
    expect(new Set(sent.map((r) => r.body.orderId)).size).toBe(1);
    const res = sent.find((r) => r.status === 201)!;
    expect(res.body).toMatchObject({ status: "PENDING", total, currency: "USD" });
    expect(res.body.items.map((i: any) => [i.skuId, i.quantity, i.unitPrice, i.lineTotal]).sort()).toEqual(
      [
        [A, 3, 1250, 3750],
        [B, 1, 799, 799],
      ].sort(),
    );
    const ttl = Date.parse(res.body.expiresAt) - before;
    expect(ttl).toBeGreaterThan(890_000);
    expect(ttl).toBeLessThan(910_000);
    orderId = res.body.orderId;
    paid.orderId = orderId;

    // The same key and body: the same order (200), nothing reserved twice.
    const replay = await stack.api.post(
      "/v1/checkout",
      { skuIds: [A, B], expectedTotal: total },
      { ...user, "idempotency-key": "journey-checkout-1" },
    );
    expect(replay.status).toBe(200);
    expect(replay.body.orderId).toBe(orderId);
    // The same key with another body is refused.
    const reused = await stack.api.post(
      "/v1/checkout",
      { skuIds: [A] },
      { ...user, "idempotency-key": "journey-checkout-1" },
    );
    expect(reused.status).toBe(422);
    expect(reused.body.code).toBe("IDEMPOTENCY_KEY_REUSED");

    // Read right after the 201: the checked-out lines are gone, C stays.
    const cart = await stack.api.get("/v1/cart", user);
    expect(quantities(cart.body)).toEqual({ [C]: 1 });

    expect(await stack.api.skuCounters(A)).toMatchObject({ onHand: 10, reserved: 3, sold: 0, available: 7 });
    expect(await stack.api.skuCounters(B)).toMatchObject({ onHand: 5, reserved: 1, sold: 0, available: 4 });

    const mine = await stack.api.get(`/v1/orders/${orderId}`, user);
    expect(mine.status).toBe(200);
    expect(mine.body).toMatchObject({ orderId, status: "PENDING", total, payments: [], refundRequired: false });
    // The guest who filled the cart is not the owner: the order belongs to the user.
    expect((await stack.api.get(`/v1/orders/${orderId}`, stack.api.guest(guestId))).status).toBe(404);
  });

  it("a signed payment.succeeded pays the order; its replay changes nothing", async () => {
    // The provider delivers the event several times at once: one of them pays, the others are duplicates.
    const deliveries = await Promise.all([1, 2, 3, 4].map(() => stack.api.webhook(paid)));
    expect(deliveries.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    const firsts = deliveries.filter((r) => r.body.duplicate === false);
    expect(firsts).toHaveLength(1);
    expect(firsts[0]!.body).toEqual({
      received: true,
      duplicate: false,
      orderId,
      status: "PAID",
      refundRequired: false,
    });
    for (const r of deliveries) expect(r.body).toMatchObject({ orderId, status: "PAID", refundRequired: false });

    const order = await stack.api.get(`/v1/orders/${orderId}`, user);
    expect(order.body.status).toBe("PAID");
    expect(order.body.paidAt).toEqual(expect.any(String));
    expect(order.body.payments).toHaveLength(1);
    expect(order.body.payments[0]).toMatchObject({
      eventId: "evt_paid_1",
      transactionId: "txn_1",
      status: "SUCCEEDED",
      amount: total,
      currency: "USD",
    });

    // Reserved -> sold (the commit travels through the order's outbox to the SKUs).
    await eventually(async () => {
      expect(await stack.api.skuCounters(A)).toMatchObject({ onHand: 7, reserved: 0, sold: 3, available: 7 });
      expect(await stack.api.skuCounters(B)).toMatchObject({ onHand: 4, reserved: 0, sold: 1, available: 4 });
    });

    // The provider retries the same event (and, separately, a new event id for the same transaction).
    const replay = await stack.api.webhook(paid);
    expect(replay.status).toBe(200);
    expect(replay.body).toMatchObject({ duplicate: true, status: "PAID", refundRequired: false });
    const sameTxn = await stack.api.webhook({ ...paid, eventId: "evt_paid_1_redelivered" });
    expect(sameTxn.status).toBe(200);
    expect(sameTxn.body).toMatchObject({ duplicate: true, status: "PAID", refundRequired: false });

    await sleep(1500);
    const after = await stack.api.get(`/v1/orders/${orderId}`, user);
    expect(after.body.status).toBe("PAID");
    expect(after.body.payments).toHaveLength(1);
    expect(await stack.api.skuCounters(A)).toMatchObject({ onHand: 7, reserved: 0, sold: 3 });
    expect(await stack.api.skuCounters(B)).toMatchObject({ onHand: 4, reserved: 0, sold: 1 });
  });

  it("Postgres has the PAID order with its items, one payment, and reserve + commit audit rows", async () => {
    await eventually(
      async () => {
        const { rows } = await stack.db.query(
          "select status, total, currency, owner_id, paid_at is not null as paid from orders where order_id = $1",
          [orderId],
        );
        expect(rows).toEqual([{ status: "PAID", total, currency: "USD", owner_id: `user:${userId}`, paid: true }]);
      },
      { timeoutMs: 30_000 },
    );
    const { rows: items } = await stack.db.query(
      "select sku_id, quantity, unit_price, line_total from order_items where order_id = $1 order by sku_id",
      [orderId],
    );
    expect(items).toEqual(
      [
        { sku_id: A, quantity: 3, unit_price: 1250, line_total: 3750 },
        { sku_id: B, quantity: 1, unit_price: 799, line_total: 799 },
      ].sort((x, y) => x.sku_id.localeCompare(y.sku_id)),
    );
    await eventually(async () => {
      const { rows } = await stack.db.query(
        "select event_id, transaction_id, status, amount from payments where order_id = $1",
        [orderId],
      );
      expect(rows).toEqual([{ event_id: "evt_paid_1", transaction_id: "txn_1", status: "SUCCEEDED", amount: total }]);
    });
    await eventually(async () => {
      const rows = await auditOf(stack, orderId);
      const expected = [
        { sku_id: A, kind: "reserve", quantity: 3, on_hand_delta: 0, reserved_delta: 3, sold_delta: 0 },
        { sku_id: A, kind: "commit", quantity: 3, on_hand_delta: -3, reserved_delta: -3, sold_delta: 3 },
        { sku_id: B, kind: "reserve", quantity: 1, on_hand_delta: 0, reserved_delta: 1, sold_delta: 0 },
        { sku_id: B, kind: "commit", quantity: 1, on_hand_delta: -1, reserved_delta: -1, sold_delta: 1 },
      ];
      expect(rows).toEqual(expected.sort((x, y) => x.sku_id.localeCompare(y.sku_id)));
    });
    await expectAuditBalanced(stack, A);
    await expectAuditBalanced(stack, B);
  });

  it("a forged, tampered or stale signature is 401 and records nothing", async () => {
    const refund: WebhookEvent = {
      eventId: "evt_forged",
      type: "payment.refunded",
      orderId,
      transactionId: "txn_forged",
      amount: total,
      currency: "USD",
    };
    const forged = await stack.api.webhook(refund, { secret: "not-the-secret" });
    expect(forged.status).toBe(401);
    expect(isProblem(forged)).toBe(true);
    expect(forged.body.code).toBe("UNAUTHORIZED");

    const stale = await stack.api.webhook(
      { ...refund, eventId: "evt_stale", transactionId: "txn_stale" },
      { t: Math.floor(Date.now() / 1000) - 600 },
    );
    expect(stale.status).toBe(401);
    expect(stale.body.code).toBe("UNAUTHORIZED");

    // A valid signature over another body (amount changed in transit).
    const signedFor = JSON.stringify({ ...refund, eventId: "evt_tampered", transactionId: "txn_tampered" });
    const tampered = await stack.api.request("POST", "/v1/payments/webhook", {
      headers: { "payment-signature": signPayment(signedFor, stack.secrets.PAYMENT_WEBHOOK_SECRET) },
      body: signedFor.replace(`"amount":${total}`, `"amount":1`),
    });
    expect(tampered.status).toBe(401);

    const missing = await stack.api.request("POST", "/v1/payments/webhook", { body: JSON.stringify(refund) });
    expect(missing.status).toBe(401);

    await sleep(3000); // what the queue would have carried by now
    const order = await stack.api.get(`/v1/orders/${orderId}`, user);
    expect(order.body.status).toBe("PAID");
    expect(order.body.payments.map((p: any) => p.eventId)).toEqual(["evt_paid_1"]);
    expect(await stack.api.skuCounters(A)).toMatchObject({ onHand: 7, sold: 3 });
    const { rows } = await stack.db.query(
      "select event_id from payments where order_id = $1 or event_id like 'evt_%' order by event_id",
      [orderId],
    );
    expect(rows.map((r) => r.event_id)).toEqual(["evt_paid_1"]);
  });

  it("payment.refunded -> REFUNDED and the units go back on hand", async () => {
    const res = await stack.api.webhook({
      eventId: "evt_refund_1",
      type: "payment.refunded",
      orderId,
      transactionId: "txn_refund_1",
      amount: total,
      currency: "USD",
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ duplicate: false, status: "REFUNDED", refundRequired: false });
    const order = await stack.api.get(`/v1/orders/${orderId}`, user);
    expect(order.body.status).toBe("REFUNDED");
    expect(order.body.payments.map((p: any) => [p.eventId, p.status])).toEqual([
      ["evt_paid_1", "SUCCEEDED"],
      ["evt_refund_1", "REFUNDED"],
    ]);

    await eventually(async () => {
      expect(await stack.api.skuCounters(A)).toMatchObject({ onHand: 10, reserved: 0, sold: 3, available: 10 });
      expect(await stack.api.skuCounters(B)).toMatchObject({ onHand: 5, reserved: 0, sold: 1, available: 5 });
    });
    await eventually(
      async () => {
        const { rows } = await stack.db.query("select status from orders where order_id = $1", [orderId]);
        expect(rows).toEqual([{ status: "REFUNDED" }]);
        const { rows: pays } = await stack.db.query(
          "select event_id, status from payments where order_id = $1 order by received_at",
          [orderId],
        );
        expect(pays).toEqual([
          { event_id: "evt_paid_1", status: "SUCCEEDED" },
          { event_id: "evt_refund_1", status: "REFUNDED" },
        ]);
        const restocks = (await auditOf(stack, orderId)).filter((r) => r.kind === "restock");
        expect(restocks.map((r) => [r.sku_id, r.on_hand_delta]).sort()).toEqual(
          [
            [A, 3],
            [B, 1],
          ].sort(),
        );
      },
      { timeoutMs: 30_000 },
    );
    await expectAuditBalanced(stack, A);
    await expectAuditBalanced(stack, B);
  });
});

describe("journey: an unpaid order expires (RESERVATION_TTL_SECONDS=3), a late payment is not honoured", () => {
  let stack: E2eStack;
  const D = newId("sku-d");
  const userId = newId("late-payer");
  let user: Record<string, string>;

  beforeAll(async () => {
    stack = await startE2eStack({ RESERVATION_TTL_SECONDS: "3" });
    console.log(`[e2e] expiry stack started in ${stack.startSeconds.toFixed(1)} s`);
    user = await stack.api.user(userId);
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it("the order expires at expiresAt, its stock comes back, and a late payment is flagged for refund", async () => {
    expect(
      (
        await stack.api.putSku(D, {
          productId: "prod-expiry",
          name: "Expiring",
          merchantId: "m-x",
          price: 999,
          stock: 4,
        })
      ).status,
    ).toBe(201);
    expect((await stack.api.post("/v1/cart/items", { skuId: D, quantity: 2 }, user)).status).toBe(200);

    const placed = await stack.api.post("/v1/checkout", {}, { ...user, "idempotency-key": "expiry-1" });
    expect(placed.status, placed.text).toBe(201);
    const orderId = placed.body.orderId as string;
    const expiresAt = Date.parse(placed.body.expiresAt);
    expect(expiresAt - Date.now()).toBeLessThanOrEqual(3_000);
    expect(await stack.api.skuCounters(D)).toMatchObject({ onHand: 4, reserved: 2, available: 2 });

    // Nobody pays. The order actor's alarm expires it and releases the stock (GET /v1/orders
    // only reads: it never expires an order itself, and the cron sweep does not run here).
    await sleep(Math.max(0, expiresAt - Date.now()) - 500);
    expect((await stack.api.get(`/v1/orders/${orderId}`, user)).body.status).toBe("PENDING");
    const expired = await eventually(
      async () => {
        const res = await stack.api.get(`/v1/orders/${orderId}`, user);
        expect(res.body.status).toBe("EXPIRED");
        return res.body;
      },
      { timeoutMs: 10_000, intervalMs: 200 },
    );
    console.log(`[e2e] order seen EXPIRED ${((Date.now() - expiresAt) / 1000).toFixed(1)} s after expiresAt`);
    expect(expired.refundRequired).toBe(false);
    await eventually(
      async () =>
        expect(await stack.api.skuCounters(D)).toMatchObject({ onHand: 4, reserved: 0, sold: 0, available: 4 }),
      { timeoutMs: 10_000 },
    );
    await eventually(async () => expect((await stack.api.get(`/v1/skus/${D}`)).body.available).toBe(4), {
      timeoutMs: 10_000,
    });
    await eventually(
      async () => {
        const { rows } = await stack.db.query("select status, refund_required from orders where order_id = $1", [
          orderId,
        ]);
        expect(rows).toEqual([{ status: "EXPIRED", refund_required: false }]);
      },
      { timeoutMs: 30_000 },
    );

    // The payment arrives after expiry: recorded, flagged for refund, the stock is not taken again.
    const late = await stack.api.webhook({
      eventId: "evt_late",
      type: "payment.succeeded",
      orderId,
      transactionId: "txn_late",
      amount: 1998,
      currency: "USD",
    });
    expect(late.status, late.text).toBe(200);
    expect(late.body).toMatchObject({ duplicate: false, status: "EXPIRED", refundRequired: true });
    const order = await stack.api.get(`/v1/orders/${orderId}`, user);
    expect(order.body).toMatchObject({ status: "EXPIRED", refundRequired: true, paidAt: null });
    expect(order.body.payments).toHaveLength(1);
    expect(order.body.payments[0]).toMatchObject({ eventId: "evt_late", status: "SUCCEEDED", amount: 1998 });

    await sleep(2000);
    expect(await stack.api.skuCounters(D)).toMatchObject({ onHand: 4, reserved: 0, sold: 0, available: 4 });
    await eventually(
      async () => {
        const { rows } = await stack.db.query("select status, refund_required from orders where order_id = $1", [
          orderId,
        ]);
        expect(rows).toEqual([{ status: "EXPIRED", refund_required: true }]);
        const { rows: pays } = await stack.db.query("select event_id, status from payments where order_id = $1", [
          orderId,
        ]);
        expect(pays).toEqual([{ event_id: "evt_late", status: "SUCCEEDED" }]);
        const kinds = (await auditOf(stack, orderId)).map((r) => [r.kind, r.reserved_delta, r.sold_delta]);
        expect(kinds).toEqual([
          ["reserve", 2, 0],
          ["release", -2, 0],
        ]);
      },
      { timeoutMs: 30_000 },
    );
    await expectAuditBalanced(stack, D);
  });
});
