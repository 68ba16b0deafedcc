/**
 * An order as the API shows it: as placed (checkout, flash buy) and as its
 * owner reads it (no owner, source, version or where its redemptions are
 * kept). The fields are the response schemas' own (validation/orders.ts), and so
 * are the return types: a field a schema names that the order lacks, or whose
 * type differs, fails typecheck, and a field added to a schema is answered
 * without a second list to keep in step.
 */
import type { z } from "zod";
import type { Order } from "../domain/order";
import { OrderViewSchema, PlacedOrderSchema } from "./validation/orders";

/** What checkout and flash buy answer (clientSecret is Stripe's, added by payment-intents.ts). */
export type PlacedOrderView = z.output<typeof PlacedOrderSchema>;
/** What an order's owner reads. */
export type OrderView = z.output<typeof OrderViewSchema>;

/** The order's fields that `shape` names. */
function fields<K extends keyof Order>(shape: Record<K, unknown>): readonly K[] {
  return Object.keys(shape) as K[];
}

const { clientSecret: _stripe, ...placedShape } = PlacedOrderSchema.shape;
const PLACED_FIELDS = fields(placedShape);
const ORDER_FIELDS = fields(OrderViewSchema.shape);

/** The order's `keys` that it has (an absent optional field stays absent, as JSON would drop it). */
function pick<K extends keyof Order>(o: Order, keys: readonly K[]): Pick<Order, K> {
  const view: Partial<Pick<Order, K>> = {};
  for (const key of keys) if (o[key] !== undefined) view[key] = o[key];
  return view as Pick<Order, K>;
}

export function placedView(o: Order): PlacedOrderView {
  return pick(o, PLACED_FIELDS);
}

export function orderView(o: Order): OrderView {
  return pick(o, ORDER_FIELDS);
}
