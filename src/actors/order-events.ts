/**
 * The events an order emits for a decision, shared by checkout orders (order
 * actor) and flash orders (stock stripes).
 */
import type { Decision, Order } from "../domain/order";
import { envelope } from "../events/envelope";
import type { Outbox } from "./outbox";

/** The events a decision on an order emits (call inside the transaction that stores the order). */
export function addOrderEvents(outbox: Outbox, order: Order, decision: Pick<Decision, "payment" | "events">): void {
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
}
