/**
 * The order state machine (docs/API.md, Checkout, orders, payments):
 *   PENDING -> PAID -> REFUNDED, PENDING -> CANCELLED, PENDING -> EXPIRED.
 * The functions here decide (payment events: payments.ts); the order actor
 * applies the decision and its stock effects in one storage transaction.
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
} from "../contracts/order";
import type { ProductSnapshot } from "./catalog";
import { productSnapshot } from "./catalog";
import { lineAmount, sumAmounts } from "./money";
import type { Promotion } from "./promotions";
import { applyPromotions } from "./promotions";

export type OrderStatus = z.infer<typeof OrderStatusSchema>;

/** An order line; its `unitPrice` is the price when the stock was reserved. */
export type OrderItem = z.infer<typeof OrderItemSchema>;

/** A promotion's redemption an order holds (contracts/order.ts). */
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
  /** Failures: the provider's own account of why (e.g. Stripe's decline code and message). */
  reason?: string;
  /** Refunds: the payment (its `transactionId`) the money goes back from; absent = the one that paid the order. */
  refundOf?: string;
  /** Refunds: `amount` is the running total refunded on `refundOf` (Stripe's `amount_refunded`), not this refund's own. */
  runningTotal?: boolean;
}

/** A payment provider's event as recorded on its order. */
export type Payment = z.infer<typeof PaymentSchema>;

/** The order; `ownerId` (`user:{id}` or `guest:{clientCartId}`) may see and pay it (contracts/order.ts). */
export type Order = z.infer<typeof OrderSchema>;

/** What a decision asks the SKU actors to do with the order's reservations. */
export type StockEffect = "commit" | "release" | "restock";

export type OrderEventType =
  | "order.created"
  | "order.paid"
  | "order.cancelled"
  | "order.expired"
  | "order.refunded"
  | "order.refund_required"
  | "order.refund_settled";

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
