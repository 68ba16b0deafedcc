/**
 * Payment provider events on an order (docs/API.md, Checkout, orders,
 * payments), whichever provider sent them: a success pays a PENDING order, a
 * failure is recorded, a refund returns money from one payment. The same
 * rules serve the provider-neutral webhook and Stripe's.
 */
import type { Decision, Order, OrderEventType, Payment, PaymentEvent, PaymentStatus } from "./order";
import { sumAmounts } from "./money";

function record(event: PaymentEvent, status: PaymentStatus, reason: string | null, now: number): Payment {
  return {
    eventId: event.eventId,
    transactionId: event.transactionId,
    type: event.type,
    status,
    amount: event.amount,
    currency: event.currency,
    reason,
    receivedAt: new Date(now).toISOString(),
  };
}

function mismatch(order: Order, event: PaymentEvent): string | null {
  if (event.currency !== order.currency)
    return `currency mismatch: order is ${order.currency}, payment is ${event.currency}`;
  if (event.amount !== order.total) return `amount mismatch: order total is ${order.total}, payment is ${event.amount}`;
  return null;
}

/** Nothing changes but the payment recorded. */
function keep(order: Order): Omit<Decision, "payment"> {
  return { status: order.status, refundRequired: order.refundRequired, effect: null, events: [] as OrderEventType[] };
}

/**
 * Decides a payment provider event. The caller has already expired a PENDING
 * order whose `expiresAt` passed (so a late success is never honoured with
 * stock that was released) and filtered duplicates (isDuplicatePayment).
 */
export function decidePayment(order: Order, event: PaymentEvent, now: number): Decision {
  switch (event.type) {
    case "payment.failed":
      return {
        ...keep(order),
        payment: record(event, "FAILED", event.reason ?? "reported failed by the payment provider", now),
      };
    case "payment.succeeded": {
      const wrong = mismatch(order, event);
      if (wrong) return { ...keep(order), payment: record(event, "FAILED", wrong, now) };
      if (order.status === "PENDING") {
        return {
          status: "PAID",
          refundRequired: order.refundRequired,
          payment: record(event, "SUCCEEDED", null, now),
          effect: "commit",
          events: ["order.paid"],
        };
      }
      // Paid after expiry or cancel, or paid twice: the money must go back; stock is never oversold to honour it.
      const reason =
        order.status === "PAID"
          ? "duplicate payment for a paid order"
          : `payment for a ${order.status.toLowerCase()} order`;
      return {
        ...keep(order),
        refundRequired: true,
        payment: record(event, "SUCCEEDED", reason, now),
        events: ["order.refund_required"],
      };
    }
    case "payment.refunded":
      return decideRefund(order, event, now);
  }
}

/** The payment that paid the order: the success recorded without a reason (at most one). */
export function payingPayment(order: Order): Payment | null {
  return order.payments.find((p) => p.status === "SUCCEEDED" && p.reason === null) ?? null;
}

/** Successes recorded but not honoured (after expiry or cancel, or a second payment): their money is owed back. */
function unhonoured(order: Order): Payment[] {
  return order.payments.filter((p) => p.status === "SUCCEEDED" && p.reason !== null);
}

/** How much of payment `transactionId` has been refunded so far. */
export function refundedOf(order: Order, transactionId: string): number {
  return sumAmounts(
    order.payments
      .filter((p) => p.refundOf === transactionId && (p.status === "REFUNDED" || p.status === "PARTIALLY_REFUNDED"))
      .map((p) => p.amount),
  );
}

/** Some payment that was not honoured is not refunded in full yet. */
function owesRefund(order: Order): boolean {
  return unhonoured(order).some((p) => refundedOf(order, p.transactionId) < p.amount);
}

/**
 * A refund returns money from one payment: the one it names (`refundOf`), or
 * else the one that paid the order (a PAID order) or the oldest one owed back.
 * Refunds of a payment add up and never exceed it. The whole paying payment
 * back -> REFUNDED with its units back on hand; a part -> PARTIALLY_REFUNDED
 * recorded, the order stays PAID. A payment never honoured is refunded
 * without touching stock; the refund that completes the last one owed clears
 * `refundRequired`.
 */
function decideRefund(order: Order, event: PaymentEvent, now: number): Decision {
  const failed = (reason: string): Decision => ({ ...keep(order), payment: record(event, "FAILED", reason, now) });
  const paying = payingPayment(order);
  const target =
    event.refundOf !== undefined
      ? (order.payments.find((p) => p.status === "SUCCEEDED" && p.transactionId === event.refundOf) ?? null)
      : order.status === "PAID"
        ? paying
        : (unhonoured(order).find((p) => refundedOf(order, p.transactionId) < p.amount) ?? null);
  if (!target) {
    return failed(
      event.refundOf !== undefined
        ? `refund of ${event.refundOf}, which is not a payment recorded on this order`
        : `refund for a ${order.status.toLowerCase()} order`,
    );
  }
  if (event.currency !== target.currency)
    return failed(`currency mismatch: the payment is ${target.currency}, the refund is ${event.currency}`);
  const before = refundedOf(order, target.transactionId);
  const amount = event.runningTotal ? event.amount - before : event.amount;
  if (amount <= 0) return failed("a refund of nothing");
  if (before + amount > target.amount)
    return failed(
      `refund of ${amount} exceeds the ${target.amount - before} of ${target.transactionId} not yet refunded`,
    );
  const whole = before + amount === target.amount;
  const refund: Payment = {
    ...record(event, whole ? "REFUNDED" : "PARTIALLY_REFUNDED", null, now),
    amount,
    refundOf: target.transactionId,
  };
  if (target !== paying) {
    const after: Order = { ...order, payments: [...order.payments, refund] };
    // Cleared by the refund that settles the last payment owed; a flag raised for another reason stays.
    const refundRequired = order.refundRequired && (owesRefund(after) || !owesRefund(order));
    return {
      ...keep(order),
      refundRequired,
      payment: { ...refund, reason: "refund of a payment that was not honoured" },
      events: refundRequired === order.refundRequired ? [] : ["order.refund_settled"],
    };
  }
  if (order.status !== "PAID") return failed(`refund for a ${order.status.toLowerCase()} order`);
  if (!whole) return { ...keep(order), payment: refund };
  return {
    status: "REFUNDED",
    refundRequired: owesRefund(order),
    payment: refund,
    effect: "restock",
    events: ["order.refunded"],
  };
}

/**
 * The provider sent this event (or this transaction) to the order before, or
 * a refund's running total is already recorded (a later refund of the same
 * payment arrived first): no second effect.
 */
export function isDuplicatePayment(order: Order, event: PaymentEvent): boolean {
  if (order.payments.some((p) => p.eventId === event.eventId || p.transactionId === event.transactionId)) return true;
  return (
    event.type === "payment.refunded" &&
    event.runningTotal === true &&
    event.refundOf !== undefined &&
    event.amount <= refundedOf(order, event.refundOf)
  );
}

/** A payment whose provider ids already belong to another order: recorded FAILED, nothing else changes. */
export function decideForeignPayment(order: Order, event: PaymentEvent, usedBy: string, now: number): Decision {
  return {
    ...keep(order),
    payment: record(event, "FAILED", `transaction or event id already used on order ${usedBy}`, now),
  };
}
