/**
 * The events an order emits for a decision, shared by checkout orders (order
 * actor) and flash orders (stock stripes).
 */
import type { Decision, Order } from "../../domain/order";
import { envelope } from "../../events/envelope";
import type { Outbox } from "../outbox";

/**
 * The events a decision on an order emits (call inside the transaction that stores the order):
 * the payment, the order's own, and for each promotion that discounted it, `promotion.redeemed`
 * when the order is paid (its stock committed) or `promotion.released` when its stock goes back.
 */
export function addOrderEvents(
  outbox: Outbox,
  order: Order,
  decision: Pick<Decision, "payment" | "events"> & Partial<Pick<Decision, "effect">>,
): void {
  if (decision.payment) {
    outbox.addEvent(
      envelope("payment.recorded", order.orderId, order.version, {
        orderId: order.orderId,
        ownerId: order.ownerId,
        payment: decision.payment,
      }),
    );
  }
  for (const type of decision.events) outbox.addEvent(envelope(type, order.orderId, order.version, order));
  if (!decision.effect) return;
  const type = decision.effect === "commit" ? "promotion.redeemed" : "promotion.released";
  for (const d of order.discounts ?? []) {
    outbox.addEvent(
      envelope(type, d.promotionId, order.version, {
        promotionId: d.promotionId,
        code: d.code,
        orderId: order.orderId,
        customerId: order.ownerId,
        amount: d.amount,
        currency: order.currency,
        orderVersion: order.version,
      }),
    );
  }
}
