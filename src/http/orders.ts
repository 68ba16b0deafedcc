import type { Order } from "../domain/order";
import { DomainError, unwrap } from "../domain/errors";
import { placedView } from "./checkout";
import type { App } from "./route";
import { route } from "./route";
import { OrderId, OrderListSchema, OrderParams, OrderSchema, OrdersQuery } from "./schemas";

export function orderView(o: Order) {
  return { ...placedView(o), createdAt: o.createdAt, paidAt: o.paidAt, refundRequired: o.refundRequired, payments: o.payments };
}

/** Anything that is not a well-formed order id is simply not found (and never wakes an actor). */
function orderIdOrNotFound(orderId: string): string {
  if (!OrderId.safeParse(orderId).success) throw new DomainError("NOT_FOUND", "no such order");
  return orderId;
}

export function orderRoutes(app: App): void {
  route(
    app,
    {
      method: "get",
      path: "/v1/orders/{orderId}",
      tag: "Orders",
      summary: "One of the caller's orders",
      access: "cart",
      params: OrderParams,
      ok: { status: 200, description: "The order with its payments", schema: OrderSchema },
      problems: ["NOT_FOUND"],
    },
    async (c, { identity, params }) => {
      const order = await c.env.ORDERS.getByName(orderIdOrNotFound(params.orderId)).get();
      if (!order || order.ownerId !== identity.cartKey) throw new DomainError("NOT_FOUND", "no such order");
      return c.json(orderView(order));
    },
  );

  route(
    app,
    {
      method: "get",
      path: "/v1/orders",
      tag: "Orders",
      summary: "The caller's orders, newest first",
      access: "cart",
      query: OrdersQuery,
      ok: { status: 200, description: "A page of orders; pass `next` as `cursor` for the following page", schema: OrderListSchema },
    },
    async (c, { identity, query }) => {
      const page = await c.env.CARTS.getByName(identity.cartKey).listOrders(query.cursor ?? null, query.limit);
      const orders = await Promise.all(page.orderIds.map((id) => c.env.ORDERS.getByName(id).get()));
      const items = orders.filter((o): o is Order => o !== null && o.ownerId === identity.cartKey).map(orderView);
      return c.json({ items, next: page.next });
    },
  );

  route(
    app,
    {
      method: "post",
      path: "/v1/orders/{orderId}/cancel",
      tag: "Orders",
      summary: "Cancel a PENDING order and release its stock",
      access: "cart",
      params: OrderParams,
      ok: { status: 200, description: "The cancelled order", schema: OrderSchema },
      problems: ["NOT_FOUND", "ORDER_NOT_PENDING"],
    },
    async (c, { identity, params }) => {
      const { order } = unwrap(await c.env.ORDERS.getByName(orderIdOrNotFound(params.orderId)).cancel(identity.cartKey));
      return c.json(orderView(order));
    },
  );
}
