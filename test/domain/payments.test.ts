// Refunds, whichever provider sends them (src/domain/payments.ts): partial refunds add up,
// Stripe's running totals are counted once, and a refund never exceeds its payment.
import { describe, expect, it } from "vitest";
import type { Order, PaymentEvent } from "../../src/domain/order";
import { applyDecision } from "../../src/domain/order";
import { decidePayment, isDuplicatePayment } from "../../src/domain/payments";
import { paidOrder, pendingOrder } from "../support/orders";

const now = Date.parse("2026-06-01T12:00:00Z");

const refund = (amount: number, over: Partial<PaymentEvent> = {}): PaymentEvent => ({
  eventId: `evt_${amount}_${over.transactionId ?? "r"}`,
  type: "payment.refunded",
  orderId: "ord_1",
  transactionId: `re_${amount}`,
  amount,
  currency: "USD",
  ...over,
});

/** What the order actor does with one event: duplicates change nothing, anything else is decided and applied. */
function deliver(order: Order, event: PaymentEvent): { order: Order; effect: string | null; duplicate: boolean } {
  if (isDuplicatePayment(order, event)) return { order, effect: null, duplicate: true };
  const decision = decidePayment(order, event, now);
  return { order: applyDecision(order, decision, now), effect: decision.effect, duplicate: false };
}

describe("refunds", () => {
  it("partial refunds keep the order PAID until they add up to the payment, which refunds it and restocks once", () => {
    let order = paidOrder({}, now); // total 2500, paid by tx_paid
    const steps = [refund(1000), refund(500), refund(1000, { transactionId: "re_rest" })].map((e) => {
      const result = deliver(order, e);
      order = result.order;
      return [order.status, result.effect, order.payments.at(-1)!.status];
    });
    expect(steps).toEqual([
      ["PAID", null, "PARTIALLY_REFUNDED"],
      ["PAID", null, "PARTIALLY_REFUNDED"],
      ["REFUNDED", "restock", "REFUNDED"],
    ]);
    expect(order.payments.filter((p) => p.refundOf === "tx_paid").map((p) => p.amount)).toEqual([1000, 500, 1000]);
    // Nothing is left to refund: another one is recorded FAILED and restocks nothing.
    const extra = deliver(order, refund(1, { transactionId: "re_extra" }));
    expect(extra).toMatchObject({ effect: null, order: { status: "REFUNDED" } });
    expect(extra.order.payments.at(-1)).toMatchObject({ status: "FAILED", reason: "refund for a refunded order" });
  });

  it("a refund larger than what is left, or in another currency, is recorded FAILED and changes nothing", () => {
    const order = deliver(paidOrder({}, now), refund(2000)).order;
    for (const wrong of [
      refund(501, { transactionId: "re_big" }),
      refund(500, { transactionId: "re_eur", currency: "EUR" }),
    ]) {
      const d = decidePayment(order, wrong, now);
      expect(d).toMatchObject({ status: "PAID", effect: null, payment: { status: "FAILED" } });
    }
  });

  it("counts each of Stripe's running refund totals (amount_refunded) once, by what it adds, even out of order", () => {
    const total = (runningTotal: number, eventId: string): PaymentEvent =>
      refund(runningTotal, {
        eventId,
        transactionId: `ch_1:refunded:${runningTotal}`,
        refundOf: "tx_paid",
        runningTotal: true,
      });
    let order = paidOrder({}, now);
    // Out of order: the second partial refund (total 1500) arrives before the first (total 600).
    order = deliver(order, total(1500, "evt_b")).order;
    expect(order.payments.at(-1)).toMatchObject({ status: "PARTIALLY_REFUNDED", amount: 1500 });
    expect(deliver(order, total(600, "evt_a")).duplicate).toBe(true);
    expect(deliver(order, total(1500, "evt_b_again")).duplicate).toBe(true);
    const rest = deliver(order, total(2500, "evt_c"));
    expect(rest).toMatchObject({ effect: "restock", order: { status: "REFUNDED" } });
    expect(rest.order.payments.at(-1)).toMatchObject({ status: "REFUNDED", amount: 1000, refundOf: "tx_paid" });
  });

  it("refunding a payment that was not honoured touches no stock and clears refundRequired once it is back in full", () => {
    const late: PaymentEvent = {
      eventId: "evt_late",
      type: "payment.succeeded",
      orderId: "ord_1",
      transactionId: "pi_late",
      amount: 2500,
      currency: "USD",
    };
    let order = deliver(pendingOrder({ status: "EXPIRED" }, now), late).order;
    expect(order.refundRequired).toBe(true);
    const part = deliver(order, refund(1000, { refundOf: "pi_late" }));
    expect(part).toMatchObject({ effect: null, order: { status: "EXPIRED", refundRequired: true } });
    order = deliver(part.order, refund(1500, { refundOf: "pi_late" })).order;
    expect(order).toMatchObject({ status: "EXPIRED", refundRequired: false });
    expect(order.payments.at(-1)).toMatchObject({
      status: "REFUNDED",
      reason: "refund of a payment that was not honoured",
    });
  });

  it("a refund naming a payment the order does not have is recorded FAILED", () => {
    const d = decidePayment(paidOrder({}, now), refund(2500, { refundOf: "pi_other" }), now);
    expect(d).toMatchObject({ status: "PAID", effect: null, payment: { status: "FAILED" } });
    expect(d.payment?.reason).toMatch(/pi_other/);
  });
});
