// The full buyer journey over real HTTP: guest cart -> login + merge -> checkout -> signed
// payment webhook (and its replay, forgeries, stale signatures) -> refund; then, on a stack
// with a 3 s reservation TTL, an unpaid order that expires and a payment that arrives late.
// Each test builds its own SKUs, carts and order from fresh ids (the helpers below), so any
// test runs alone (`-t`) or in any order; the stack is shared per describe.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  eventually,
  expectAuditBalanced,
  isProblem,
  newId,
  signPayment,
  sleep,
  startE2eStack,
  type E2eStack,
  type SkuInput,
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

// ---- the journey's steps: each test builds what it needs from fresh ids, so any test runs alone --------

const PRICES = { A: 1250, B: 799, C: 300 } as const;
const STOCK = { A: 10, B: 5, C: 20 } as const;
/** What the user checks out: three A (one from another device, two merged from the guest cart) and one B. */
const TOTAL = 3 * PRICES.A + PRICES.B;

interface Skus {
  A: string;
  B: string;
  C: string;
}

/** A journey SKU: product prod-journey of merchant m-journey, at most 5 per buyer. */
const journeySku = (name: string, price: number, stock: number): SkuInput => ({
  productId: "prod-journey",
  name,
  merchantId: "m-journey",
  price,
  stock,
  purchaseLimit: 5,
});

/** Three fresh SKUs (A, B, C) with PRICES and STOCK. */
async function createSkus(stack: E2eStack): Promise<Skus> {
  const skus = { A: newId("sku-a"), B: newId("sku-b"), C: newId("sku-c") };
  await Promise.all(
    (["A", "B", "C"] as const).map(async (key) => {
      const res = await stack.api.putSku(skus[key], journeySku(`Item ${skus[key]}`, PRICES[key], STOCK[key]));
      if (res.status !== 201) throw new Error(`PUT sku ${skus[key]}: ${res.status} ${res.text}`);
    }),
  );
  return skus;
}

async function add(stack: E2eStack, headers: Record<string, string>, skuId: string, quantity: number) {
  const res = await stack.api.post("/v1/cart/items", { skuId, quantity }, headers);
  if (res.status !== 200) throw new Error(`add ${skuId}: ${res.status} ${res.text}`);
}

/** A user with one A from another device, and a guest cart holding two A, one B and one C. */
async function userAndGuestCarts(stack: E2eStack) {
  const skus = await createSkus(stack);
  const userId = newId("buyer");
  const user = await stack.api.user(userId);
  const guestId = randomUUID();
  const guest = stack.api.guest(guestId);
  await Promise.all([
    add(stack, user, skus.A, 1),
    (async () => {
      await add(stack, guest, skus.A, 2);
      await add(stack, guest, skus.B, 1);
      await add(stack, guest, skus.C, 1);
    })(),
  ]);
  return { skus, userId, user, guestId, guest };
}

/** The guest cart merged (sum) into the user's: three A, one B, one C. */
async function mergedCart(stack: E2eStack) {
  const carts = await userAndGuestCarts(stack);
  const merged = await stack.api.post("/v1/cart/merge", { clientCartId: carts.guestId, strategy: "sum" }, carts.user);
  if (merged.status !== 200) throw new Error(`merge: ${merged.status} ${merged.text}`);
  return carts;
}

function checkoutAB(stack: E2eStack, skus: Skus, user: Record<string, string>, key: string) {
  return stack.api.post(
    "/v1/checkout",
    { skuIds: [skus.A, skus.B], expectedTotal: TOTAL },
    { ...user, "idempotency-key": key },
  );
}

/** The merged cart's A and B checked out: a PENDING order of TOTAL. */
async function placedOrder(stack: E2eStack) {
  const carts = await mergedCart(stack);
  const key = newId("checkout");
  const placed = await checkoutAB(stack, carts.skus, carts.user, key);
  if (placed.status !== 201) throw new Error(`checkout: ${placed.status} ${placed.text}`);
  const orderId = placed.body.orderId as string;
  const paid: WebhookEvent = {
    eventId: newId("evt_paid"),
    type: "payment.succeeded",
    orderId,
    transactionId: newId("txn"),
    amount: TOTAL,
    currency: "USD",
  };
  return { ...carts, key, placed, orderId, paid };
}

/** The placed order paid, and its commit through to the SKUs. */
async function paidOrder(stack: E2eStack) {
  const order = await placedOrder(stack);
  const res = await stack.api.webhook(order.paid);
  if (res.status !== 200) throw new Error(`payment: ${res.status} ${res.text}`);
  await eventually(async () => expect(await stack.api.skuCounters(order.skus.A)).toMatchObject({ sold: 3 }));
  return order;
}

/** The payment rows of an order in Postgres, once `eventIds` are all there (the queue has carried them). */
async function paymentRows(stack: E2eStack, orderId: string, eventIds: string[]) {
  return eventually(
    async () => {
      const { rows } = await stack.db.query(
        "select event_id, transaction_id, status, amount from payments where order_id = $1 order by received_at",
        [orderId],
      );
      expect(rows.map((r) => r.event_id)).toEqual(expect.arrayContaining(eventIds));
      return rows;
    },
    { timeoutMs: 30_000 },
  );
}

// The tests share nothing but the stack, so they run at once.
describe.concurrent("journey: guest cart -> merge -> checkout -> pay -> refund", () => {
  let stack: E2eStack;

  beforeAll(async () => {
    stack = await startE2eStack();
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it("an admin-created SKU starts with its whole stock available", async () => {
    const id = newId("sku-new");
    const res = await stack.api.putSku(id, journeySku("New", 1250, 10));
    expect(res.status, res.text).toBe(201);
    expect(res.body).toMatchObject({ skuId: id, price: 1250, onHand: 10, reserved: 0, sold: 0, available: 10 });
  });

  it("a guest's cart shows its lines and totals", async () => {
    const { skus, guestId, guest } = await userAndGuestCarts(stack);
    const guestCart = await stack.api.get("/v1/cart", guest);
    expect(guestCart.body.cartId).toBe(`guest:${guestId}`);
    expect(quantities(guestCart.body)).toEqual({ [skus.A]: 2, [skus.B]: 1, [skus.C]: 1 });
    expect(guestCart.body.totals).toMatchObject({
      totalItems: 3,
      totalQuantity: 4,
      totalAmount: 2 * PRICES.A + PRICES.B + PRICES.C,
    });
  });

  it("logging in merges the guest cart into the user's cart by summing quantities, and empties the guest cart", async () => {
    const { skus, userId, user, guestId, guest } = await userAndGuestCarts(stack);
    const merged = await stack.api.post("/v1/cart/merge", { clientCartId: guestId, strategy: "sum" }, user);
    expect(merged.status, merged.text).toBe(200);
    expect(merged.body.cartId).toBe(`user:${userId}`);
    expect(quantities(merged.body)).toEqual({ [skus.A]: 3, [skus.B]: 1, [skus.C]: 1 });
    expect(merged.body.merge).toMatchObject({ strategy: "sum", clamped: [] });
    expect((await stack.api.get("/v1/cart", guest)).body.items).toEqual([]);
  });

  it("merging the same guest cart again changes nothing", async () => {
    const { skus, user, guestId } = await mergedCart(stack);
    const again = await stack.api.post("/v1/cart/merge", { clientCartId: guestId, strategy: "sum" }, user);
    expect(again.status).toBe(200);
    expect(quantities(again.body)).toEqual({ [skus.A]: 3, [skus.B]: 1, [skus.C]: 1 });
  });

  it("a merge needs a logged-in user: 401 for a guest", async () => {
    const { guestId, guest } = await userAndGuestCarts(stack);
    const asGuest = await stack.api.post("/v1/cart/merge", { clientCartId: guestId, strategy: "sum" }, guest);
    expect(asGuest.status).toBe(401);
  });

  it("checkout answers 201 PENDING with the checked-out lines and a 15-minute payment window", async () => {
    const { skus, user } = await mergedCart(stack);
    const before = Date.now();
    const res = await checkoutAB(stack, skus, user, newId("checkout"));
    expect(res.status, res.text).toBe(201);
    expect(res.body).toMatchObject({ status: "PENDING", total: TOTAL, currency: "USD" });
    expect(res.body.items.map((i: any) => [i.skuId, i.quantity, i.unitPrice, i.lineTotal]).sort()).toEqual(
      [
        [skus.A, 3, PRICES.A, 3 * PRICES.A],
        [skus.B, 1, PRICES.B, PRICES.B],
      ].sort(),
    );
    const ttl = Date.parse(res.body.expiresAt) - before;
    expect(ttl).toBeGreaterThan(890_000);
    expect(ttl).toBeLessThan(910_000);
  });

  it("checkout takes exactly the checked-out lines out of the cart and reserves their stock", async () => {
    const { skus, user } = await placedOrder(stack);
    // Read right after the 201: the checked-out lines are gone, C stays.
    expect(quantities((await stack.api.get("/v1/cart", user)).body)).toEqual({ [skus.C]: 1 });
    expect(await stack.api.skuCounters(skus.A)).toMatchObject({ onHand: 10, reserved: 3, sold: 0, available: 7 });
    expect(await stack.api.skuCounters(skus.B)).toMatchObject({ onHand: 5, reserved: 1, sold: 0, available: 4 });
  });

  it("a double-clicked checkout (one Idempotency-Key three times at once) makes one order", async () => {
    const { skus, user } = await mergedCart(stack);
    const key = newId("double-click");
    const sent = await Promise.all([1, 2, 3].map(() => checkoutAB(stack, skus, user, key)));
    expect(sent.map((r) => r.status).sort(), sent.map((r) => r.text).join("\n")).toEqual([200, 200, 201]);
    expect(new Set(sent.map((r) => r.body.orderId)).size).toBe(1);
    expect(await stack.api.skuCounters(skus.A)).toMatchObject({ reserved: 3 });
  });

  it("a checkout replayed with the same key and body answers 200 with the same order", async () => {
    const { skus, user, key, orderId } = await placedOrder(stack);
    const replay = await checkoutAB(stack, skus, user, key);
    expect(replay.status).toBe(200);
    expect(replay.body.orderId).toBe(orderId);
    expect(await stack.api.skuCounters(skus.A)).toMatchObject({ reserved: 3 });
  });

  it("the same Idempotency-Key with another body is 422 IDEMPOTENCY_KEY_REUSED", async () => {
    const { skus, user, key } = await placedOrder(stack);
    const reused = await stack.api.post("/v1/checkout", { skuIds: [skus.A] }, { ...user, "idempotency-key": key });
    expect(reused.status).toBe(422);
    expect(reused.body.code).toBe("IDEMPOTENCY_KEY_REUSED");
  });

  it("the order is the user's: they read it PENDING, the guest who filled the cart gets 404", async () => {
    const { user, guest, orderId } = await placedOrder(stack);
    const mine = await stack.api.get(`/v1/orders/${orderId}`, user);
    expect(mine.status).toBe(200);
    expect(mine.body).toMatchObject({ orderId, status: "PENDING", total: TOTAL, payments: [], refundRequired: false });
    expect((await stack.api.get(`/v1/orders/${orderId}`, guest)).status).toBe(404);
  });

  it("one signed payment.succeeded delivered four times at once pays the order once and sells the reserved units", async () => {
    const { skus, user, orderId, paid } = await placedOrder(stack);
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
      eventId: paid.eventId,
      transactionId: paid.transactionId,
      status: "SUCCEEDED",
      amount: TOTAL,
      currency: "USD",
    });
    // Reserved -> sold (the commit travels through the order's outbox to the SKUs).
    await eventually(async () => {
      expect(await stack.api.skuCounters(skus.A)).toMatchObject({ onHand: 7, reserved: 0, sold: 3, available: 7 });
      expect(await stack.api.skuCounters(skus.B)).toMatchObject({ onHand: 4, reserved: 0, sold: 1, available: 4 });
    });
  });

  it("a redelivered payment event, or a new event id for the same transaction, is a duplicate and changes nothing", async () => {
    const { skus, user, orderId, paid } = await paidOrder(stack);
    const replay = await stack.api.webhook(paid);
    expect(replay.status).toBe(200);
    expect(replay.body).toMatchObject({ duplicate: true, status: "PAID", refundRequired: false });
    const sameTxn = await stack.api.webhook({ ...paid, eventId: newId("evt_redelivered") });
    expect(sameTxn.status).toBe(200);
    expect(sameTxn.body).toMatchObject({ duplicate: true, status: "PAID", refundRequired: false });

    // The first payment has reached Postgres through the queue: a second would be beside it.
    expect((await paymentRows(stack, orderId, [paid.eventId])).map((r) => r.event_id)).toEqual([paid.eventId]);
    const after = await stack.api.get(`/v1/orders/${orderId}`, user);
    expect(after.body.status).toBe("PAID");
    expect(after.body.payments).toHaveLength(1);
    expect(await stack.api.skuCounters(skus.A)).toMatchObject({ onHand: 7, reserved: 0, sold: 3 });
    expect(await stack.api.skuCounters(skus.B)).toMatchObject({ onHand: 4, reserved: 0, sold: 1 });
  });

  it("Postgres has the PAID order with its items, one payment, and reserve + commit audit rows", async () => {
    const { skus, userId, orderId, paid } = await paidOrder(stack);
    const { A, B } = skus;
    await eventually(
      async () => {
        const { rows } = await stack.db.query(
          "select status, total, currency, owner_id, paid_at is not null as paid from orders where order_id = $1",
          [orderId],
        );
        expect(rows).toEqual([
          { status: "PAID", total: TOTAL, currency: "USD", owner_id: `user:${userId}`, paid: true },
        ]);
      },
      { timeoutMs: 30_000 },
    );
    const { rows: items } = await stack.db.query(
      "select sku_id, quantity, unit_price, line_total from order_items where order_id = $1 order by sku_id",
      [orderId],
    );
    expect(items).toEqual(
      [
        { sku_id: A, quantity: 3, unit_price: PRICES.A, line_total: 3 * PRICES.A },
        { sku_id: B, quantity: 1, unit_price: PRICES.B, line_total: PRICES.B },
      ].sort((x, y) => x.sku_id.localeCompare(y.sku_id)),
    );
    expect(await paymentRows(stack, orderId, [paid.eventId])).toEqual([
      { event_id: paid.eventId, transaction_id: paid.transactionId, status: "SUCCEEDED", amount: TOTAL },
    ]);
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

  it("a forged, tampered, stale or missing payment signature is 401 and records nothing", async () => {
    const { skus, user, orderId, paid } = await paidOrder(stack);
    const refund: WebhookEvent = {
      ...paid,
      eventId: newId("evt_forged"),
      transactionId: newId("txn_forged"),
      type: "payment.refunded",
    };
    const forged = await stack.api.webhook(refund, { secret: "not-the-secret" });
    expect(forged.status).toBe(401);
    expect(isProblem(forged)).toBe(true);
    expect(forged.body.code).toBe("UNAUTHORIZED");

    const stale = await stack.api.webhook(
      { ...refund, eventId: newId("evt_stale"), transactionId: newId("txn_stale") },
      { t: Math.floor(Date.now() / 1000) - 600 },
    );
    expect(stale.status).toBe(401);
    expect(stale.body.code).toBe("UNAUTHORIZED");

    // A valid signature over another body (amount changed in transit).
    const signedFor = JSON.stringify({
      ...refund,
      eventId: newId("evt_tampered"),
      transactionId: newId("txn_tampered"),
    });
    const tampered = await stack.api.request("POST", "/v1/payments/webhook", {
      headers: { "payment-signature": signPayment(signedFor, stack.secrets.PAYMENT_WEBHOOK_SECRET) },
      body: signedFor.replace(`"amount":${TOTAL}`, `"amount":1`),
    });
    expect(tampered.status).toBe(401);

    const missing = await stack.api.request("POST", "/v1/payments/webhook", { body: JSON.stringify(refund) });
    expect(missing.status).toBe(401);

    // The paid event has reached Postgres through the queue, and nothing of the refused ones is beside it.
    expect((await paymentRows(stack, orderId, [paid.eventId])).map((r) => r.event_id)).toEqual([paid.eventId]);
    const order = await stack.api.get(`/v1/orders/${orderId}`, user);
    expect(order.body.status).toBe("PAID");
    expect(order.body.payments.map((p: any) => p.eventId)).toEqual([paid.eventId]);
    expect(await stack.api.skuCounters(skus.A)).toMatchObject({ onHand: 7, sold: 3 });
  });

  it("payment.refunded -> REFUNDED and the units go back on hand", async () => {
    const { skus, user, orderId, paid } = await paidOrder(stack);
    const { A, B } = skus;
    const refundId = newId("evt_refund");
    const res = await stack.api.webhook({
      eventId: refundId,
      type: "payment.refunded",
      orderId,
      transactionId: newId("txn_refund"),
      amount: TOTAL,
      currency: "USD",
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ duplicate: false, status: "REFUNDED", refundRequired: false });
    const order = await stack.api.get(`/v1/orders/${orderId}`, user);
    expect(order.body.status).toBe("REFUNDED");
    expect(order.body.payments.map((p: any) => [p.eventId, p.status])).toEqual([
      [paid.eventId, "SUCCEEDED"],
      [refundId, "REFUNDED"],
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
          { event_id: paid.eventId, status: "SUCCEEDED" },
          { event_id: refundId, status: "REFUNDED" },
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

describe.concurrent("journey: an unpaid order expires (RESERVATION_TTL_SECONDS=3), a late payment is not honoured", () => {
  let stack: E2eStack;

  beforeAll(async () => {
    stack = await startE2eStack({ vars: { RESERVATION_TTL_SECONDS: "3" } });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  /** A fresh SKU of 4 units and a user's PENDING order for 2 of them, which nobody pays. */
  async function unpaidOrder() {
    const skuId = newId("sku-d");
    const user = await stack.api.user(newId("late-payer"));
    const sku = { productId: "prod-expiry", name: "Expiring", merchantId: "m-x", price: 999, stock: 4 };
    expect((await stack.api.putSku(skuId, sku)).status).toBe(201);
    expect((await stack.api.post("/v1/cart/items", { skuId, quantity: 2 }, user)).status).toBe(200);
    const placed = await stack.api.post("/v1/checkout", {}, { ...user, "idempotency-key": newId("expiry") });
    expect(placed.status, placed.text).toBe(201);
    return { skuId, user, orderId: placed.body.orderId as string, expiresAt: Date.parse(placed.body.expiresAt) };
  }

  /** The order's status, once the order actor's alarm has expired it (GET /v1/orders only reads). */
  function expiredOrder(orderId: string, user: Record<string, string>) {
    return eventually(
      async () => {
        const res = await stack.api.get(`/v1/orders/${orderId}`, user);
        expect(res.body.status).toBe("EXPIRED");
        return res.body;
      },
      { timeoutMs: 10_000, intervalMs: 200 },
    );
  }

  it("an unpaid order stays PENDING until expiresAt, then expires and its stock comes back", async () => {
    const { skuId, user, orderId, expiresAt } = await unpaidOrder();
    expect(expiresAt - Date.now()).toBeLessThanOrEqual(3_000);
    expect(await stack.api.skuCounters(skuId)).toMatchObject({ onHand: 4, reserved: 2, available: 2 });

    // Nobody pays. The order actor's alarm expires it and releases the stock (the cron sweep does not run here).
    // A real wait: this stack's actors run on real time, and the question is what happens at expiresAt.
    await sleep(Math.max(0, expiresAt - Date.now()) - 500);
    expect((await stack.api.get(`/v1/orders/${orderId}`, user)).body.status).toBe("PENDING");
    expect((await expiredOrder(orderId, user)).refundRequired).toBe(false);
    await eventually(
      async () =>
        expect(await stack.api.skuCounters(skuId)).toMatchObject({ onHand: 4, reserved: 0, sold: 0, available: 4 }),
      { timeoutMs: 10_000 },
    );
    await eventually(async () => expect((await stack.api.get(`/v1/skus/${skuId}`)).body.available).toBe(4), {
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
  });

  it("a payment after expiry is recorded and flagged for refund, and takes no stock", async () => {
    const { skuId, user, orderId } = await unpaidOrder();
    await expiredOrder(orderId, user);
    const eventId = newId("evt_late");
    const late = await stack.api.webhook({
      eventId,
      type: "payment.succeeded",
      orderId,
      transactionId: newId("txn_late"),
      amount: 1998,
      currency: "USD",
    });
    expect(late.status, late.text).toBe(200);
    expect(late.body).toMatchObject({ duplicate: false, status: "EXPIRED", refundRequired: true });
    const order = await stack.api.get(`/v1/orders/${orderId}`, user);
    expect(order.body).toMatchObject({ status: "EXPIRED", refundRequired: true, paidAt: null });
    expect(order.body.payments).toHaveLength(1);
    expect(order.body.payments[0]).toMatchObject({ eventId, status: "SUCCEEDED", amount: 1998 });

    // Once the late payment has reached Postgres, the audit has only the reserve and its release,
    // and the counters show the units back on hand.
    await eventually(
      async () => {
        const { rows } = await stack.db.query("select status, refund_required from orders where order_id = $1", [
          orderId,
        ]);
        expect(rows).toEqual([{ status: "EXPIRED", refund_required: true }]);
        const { rows: pays } = await stack.db.query("select event_id, status from payments where order_id = $1", [
          orderId,
        ]);
        expect(pays).toEqual([{ event_id: eventId, status: "SUCCEEDED" }]);
        const kinds = (await auditOf(stack, orderId)).map((r) => [r.kind, r.reserved_delta, r.sold_delta]);
        expect(kinds).toEqual([
          ["reserve", 2, 0],
          ["release", -2, 0],
        ]);
      },
      { timeoutMs: 30_000 },
    );
    expect(await stack.api.skuCounters(skuId)).toMatchObject({ onHand: 4, reserved: 0, sold: 0, available: 4 });
    await expectAuditBalanced(stack, skuId);
  });
});
