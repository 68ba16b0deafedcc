import { describe, expect, it } from "vitest";
import type { Order, PaymentEvent } from "../../src/domain/order";
import { decideCancel, decideExpiry } from "../../src/domain/order";
import { decidePayment } from "../../src/domain/payments";
import { paidOrder, pendingOrder } from "../support/orders";

const now = Date.parse("2026-06-01T12:00:00Z");

const order = (over: Partial<Order> = {}): Order => pendingOrder(over, now);

const event = (type: PaymentEvent["type"], over: Partial<PaymentEvent> = {}): PaymentEvent => ({
  eventId: "evt_1",
  type,
  orderId: "ord_1",
  transactionId: "tx_1",
  amount: 2500,
  currency: "USD",
  ...over,
});

describe("order state machine", () => {
  it("pays a PENDING order with the right amount and commits its stock", () => {
    const d = decidePayment(order(), event("payment.succeeded"), now);
    expect(d).toMatchObject({
      status: "PAID",
      effect: "commit",
      events: ["order.paid"],
      payment: { status: "SUCCEEDED" },
    });
  });

  it("records an amount or currency mismatch as a failed payment and stays PENDING", () => {
    expect(decidePayment(order(), event("payment.succeeded", { amount: 2499 }), now)).toMatchObject({
      status: "PENDING",
      effect: null,
      payment: { status: "FAILED", reason: expect.stringMatching(/amount mismatch/) },
    });
    expect(decidePayment(order(), event("payment.succeeded", { currency: "EUR" }), now).payment?.reason).toMatch(
      /currency mismatch/,
    );
  });

  it("records a failure and keeps the order payable", () => {
    expect(decidePayment(order(), event("payment.failed"), now)).toMatchObject({
      status: "PENDING",
      effect: null,
      payment: { status: "FAILED" },
    });
  });

  it("flags a payment after expiry or cancel for refund without touching stock", () => {
    for (const status of ["EXPIRED", "CANCELLED"] as const) {
      expect(decidePayment(order({ status }), event("payment.succeeded"), now)).toMatchObject({
        status,
        refundRequired: true,
        effect: null,
      });
    }
  });

  it("refunds a PAID order and puts its units back on hand", () => {
    expect(decidePayment(paidOrder({}, now), event("payment.refunded"), now)).toMatchObject({
      status: "REFUNDED",
      effect: "restock",
      events: ["order.refunded"],
    });
    expect(decidePayment(order({ status: "PENDING" }), event("payment.refunded"), now)).toMatchObject({
      status: "PENDING",
      effect: null,
      payment: { status: "FAILED" },
    });
  });

  it("expires only a PENDING order past its expiry", () => {
    expect(decideExpiry(order(), now)).toBeNull();
    expect(decideExpiry(order({ expiresAt: new Date(now - 1).toISOString() }), now)).toMatchObject({
      status: "EXPIRED",
      effect: "release",
    });
    expect(decideExpiry(order({ status: "PAID", expiresAt: new Date(now - 1).toISOString() }), now)).toBeNull();
  });

  it("cancels only a PENDING order", () => {
    expect(decideCancel(order())).toMatchObject({ status: "CANCELLED", effect: "release" });
    expect(decideCancel(order({ status: "PAID" }))).toBeNull();
  });
});
