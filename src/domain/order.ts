/**
 * The order state machine (docs/API.md, Checkout, orders, payments):
 *   PENDING -> PAID -> REFUNDED, PENDING -> CANCELLED, PENDING -> EXPIRED.
 * The functions here decide; the order actor applies the decision and its
 * stock effects in one storage transaction.
 */
import type { z } from "zod";
import type {
  OrderItemSchema,
  OrderSchema,
  OrderStatusSchema,
  PaymentEventTypeSchema,
  PaymentSchema,
  PaymentStatusSchema,
  RedemptionSchema,
} from "../schemas/order";
import type { ProductSnapshot } from "./catalog";
import { productSnapshot } from "./catalog";
import { lineAmount, sumAmounts } from "./money";
import type { Promotion } from "./promotions";
import { applyPromotions } from "./promotions";

export type OrderStatus = z.infer<typeof OrderStatusSchema>;

/** An order line; its `unitPrice` is the price when the stock was reserved. */
export type OrderItem = z.infer<typeof OrderItemSchema>;

/** A promotion's redemption an order holds (schemas/order.ts). */
export type Redemption = z.infer<typeof RedemptionSchema>;

export type PaymentEventType = z.infer<typeof PaymentEventTypeSchema>;
export type PaymentStatus = z.infer<typeof PaymentStatusSchema>;

export interface PaymentEvent {
  eventId: string;
  type: PaymentEventType;
  orderId: string;
  transactionId: string;
  amount: number;
  currency: string;
}

/** A payment provider's event as recorded on its order. */
export type Payment = z.infer<typeof PaymentSchema>;

/** The order; `ownerId` (`user:{id}` or `guest:{clientCartId}`) may see and pay it (schemas/order.ts). */
export type Order = z.infer<typeof OrderSchema>;

/** What a decision asks the SKU actors to do with the order's reservations. */
export type StockEffect = "commit" | "release" | "restock";

export type OrderEventType =
  | "order.created"
  | "order.paid"
  | "order.cancelled"
  | "order.expired"
  | "order.refunded"
  | "order.refund_required";

export interface Decision {
  status: OrderStatus;
  refundRequired: boolean;
  payment: Payment | null;
  effect: StockEffect | null;
  events: OrderEventType[];
}

/** An order line from a reserved line's price snapshot. */
export function orderLine(item: ProductSnapshot & { quantity: number; unitPrice: number }): OrderItem {
  return {
    ...productSnapshot(item),
    quantity: item.quantity,
    unitPrice: item.unitPrice,
    lineTotal: lineAmount(item.unitPrice, item.quantity),
  };
}

export function orderTotal(items: readonly OrderItem[]): number {
  return sumAmounts(items.map((item) => item.lineTotal));
}

export function isDue(order: Pick<Order, "status" | "expiresAt">, now: number): boolean {
  return order.status === "PENDING" && Date.parse(order.expiresAt) <= now;
}

/** Expiry: only a PENDING order past `expiresAt` expires; anything else is a no-op. */
export function decideExpiry(order: Order, now: number): Decision | null {
  if (!isDue(order, now)) return null;
  return {
    status: "EXPIRED",
    refundRequired: order.refundRequired,
    payment: null,
    effect: "release",
    events: ["order.expired"],
  };
}

export function decideCancel(order: Order): Decision | null {
  if (order.status !== "PENDING") return null;
  return {
    status: "CANCELLED",
    refundRequired: order.refundRequired,
    payment: null,
    effect: "release",
    events: ["order.cancelled"],
  };
}

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

/**
 * Decides a payment provider event. The caller has already expired a PENDING
 * order whose `expiresAt` passed (so a late success is never honoured with
 * stock that was released) and filtered duplicate event / transaction ids.
 */
export function decidePayment(order: Order, event: PaymentEvent, now: number): Decision {
  const keep = {
    status: order.status,
    refundRequired: order.refundRequired,
    effect: null,
    events: [] as OrderEventType[],
  };
  switch (event.type) {
    case "payment.failed":
      return { ...keep, payment: record(event, "FAILED", "reported failed by the payment provider", now) };
    case "payment.succeeded": {
      const wrong = mismatch(order, event);
      if (wrong) return { ...keep, payment: record(event, "FAILED", wrong, now) };
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
        ...keep,
        refundRequired: true,
        payment: record(event, "SUCCEEDED", reason, now),
        events: ["order.refund_required"],
      };
    }
    case "payment.refunded": {
      const wrong = mismatch(order, event);
      if (order.status === "PAID" && !wrong) {
        return {
          status: "REFUNDED",
          refundRequired: false,
          payment: record(event, "REFUNDED", null, now),
          effect: "restock",
          events: ["order.refunded"],
        };
      }
      if (order.refundRequired && event.currency === order.currency) {
        // The refund of a late or duplicate payment settles the flag; stock is untouched.
        return {
          ...keep,
          refundRequired: false,
          payment: record(event, "REFUNDED", "refund of a payment that was not honoured", now),
        };
      }
      const reason =
        wrong && order.status === "PAID"
          ? `${wrong} (partial refunds are not supported)`
          : `refund for a ${order.status.toLowerCase()} order`;
      return { ...keep, payment: record(event, "FAILED", reason, now) };
    }
  }
}

/** The order after a decision: new status, the payment appended, `paidAt` / `closedAt` set on the transition. */
export function applyDecision(prev: Order, decision: Decision, now: number): Order {
  const at = new Date(now).toISOString();
  return {
    ...prev,
    status: decision.status,
    refundRequired: decision.refundRequired,
    payments: decision.payment ? [...prev.payments, decision.payment] : prev.payments,
    paidAt: decision.status === "PAID" && prev.status !== "PAID" ? at : prev.paidAt,
    closedAt:
      decision.status !== "PENDING" && decision.status !== "PAID" && prev.status !== decision.status
        ? at
        : prev.closedAt,
    version: prev.version + 1,
  };
}

/**
 * A new PENDING order over reserved lines, priced with the promotions that
 * apply (already checked, in the order they apply) and holding the
 * redemptions reserved for the limited ones.
 */
export function pendingOrder(input: {
  orderId: string;
  ownerId: string;
  source: Order["source"];
  items: OrderItem[];
  currency: string;
  expiresAt: number;
  now: number;
  promotions?: readonly Promotion[];
  redemptions?: Redemption[];
}): Order {
  const priced = applyPromotions(input.items, input.promotions ?? []);
  return {
    orderId: input.orderId,
    ownerId: input.ownerId,
    source: input.source,
    status: "PENDING",
    items: input.items.map((item, i) => ({ ...item, discounts: priced.lines[i]! })),
    subtotal: priced.subtotal,
    discounts: priced.discounts,
    total: priced.total,
    redemptions: input.redemptions ?? [],
    currency: input.currency,
    createdAt: new Date(input.now).toISOString(),
    expiresAt: new Date(input.expiresAt).toISOString(),
    paidAt: null,
    closedAt: null,
    refundRequired: false,
    payments: [],
    version: 1,
  };
}

/** The provider sent this event (or this transaction) to the order before: no second effect. */
export function isDuplicatePayment(order: Order, event: PaymentEvent): boolean {
  return order.payments.some((p) => p.eventId === event.eventId || p.transactionId === event.transactionId);
}

/** A payment whose provider ids already belong to another order: recorded FAILED, nothing else changes. */
export function decideForeignPayment(order: Order, event: PaymentEvent, usedBy: string, now: number): Decision {
  return {
    status: order.status,
    refundRequired: order.refundRequired,
    payment: record(event, "FAILED", `transaction or event id already used on order ${usedBy}`, now),
    effect: null,
    events: [],
  };
}
