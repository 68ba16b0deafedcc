/**
 * An order as the API shows it: as placed (checkout, flash buy) and as its
 * owner reads it (no owner, source, version or where its redemptions are
 * kept). The fields are the response schemas' own (schemas/orders.ts), so a
 * field added to a schema is answered without a second list to keep in step.
 */
import type { Order } from "../domain/order";
import { OrderSchema, PlacedOrderSchema } from "./schemas/orders";

const PLACED_FIELDS = Object.keys(PlacedOrderSchema.shape).filter((k) => k !== "clientSecret") as (keyof Order)[];
const ORDER_FIELDS = Object.keys(OrderSchema.shape) as (keyof Order)[];

function pick(o: Order, fields: readonly (keyof Order)[]): Partial<Order> {
  const view: Partial<Record<keyof Order, unknown>> = {};
  for (const field of fields) if (o[field] !== undefined) view[field] = o[field];
  return view as Partial<Order>;
}

export function placedView(o: Order) {
  return pick(o, PLACED_FIELDS);
}

export function orderView(o: Order) {
  return pick(o, ORDER_FIELDS);
}
