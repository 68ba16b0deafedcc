/**
 * An order as the API shows it: as placed (checkout, flash buy) and as its
 * owner reads it (no owner, source or version).
 */
import type { Order } from "../domain/order";

export function placedView(o: Order) {
  return {
    orderId: o.orderId,
    status: o.status,
    items: o.items,
    total: o.total,
    currency: o.currency,
    expiresAt: o.expiresAt,
  };
}

export function orderView(o: Order) {
  return {
    ...placedView(o),
    createdAt: o.createdAt,
    paidAt: o.paidAt,
    refundRequired: o.refundRequired,
    payments: o.payments,
  };
}
