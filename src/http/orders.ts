/**
 * Order routes: one order, the owner's listing, cancel.
 */
import type { z } from "zod";
import type { OrderActorStub } from "../actors/order/order-routing";
import { orderActor } from "../actors/order/order-routing";
import { ownerOrderIds } from "../db/order-reads";
import type { Order } from "../domain/order";
import { DomainError, unwrap } from "../domain/errors";
import { orderView } from "./order-views";
import type { App } from "./route";
import { route } from "./route";
import { OrderListSchema, OrderParams, OrderViewSchema, OrdersQuery } from "./validation/orders";

/** The order's home; anything that is not a well-formed order id is simply not found (and never wakes an actor). */
function orderActorOrNotFound(env: Env, orderId: string): OrderActorStub {
  const actor = orderActor(env, orderId);
  if (!actor) throw new DomainError("NOT_FOUND", "no such order");
  return actor;
}

/** `createdAt|orderId` of the last order on the previous page. */
function parseCursor(cursor: string | undefined): { createdAt: string; orderId: string } | null {
  if (!cursor) return null;
  const at = cursor.lastIndexOf("|");
  const createdAt = cursor.slice(0, at);
  if (at < 0 || Number.isNaN(Date.parse(createdAt)))
    throw new DomainError("VALIDATION_FAILED", "cursor is not one this API returned", [
      { code: "invalid_cursor", path: "query.cursor" },
    ]);
  return { createdAt, orderId: cursor.slice(at + 1) };
}

const newestFirst = (a: Order, b: Order) =>
  a.createdAt === b.createdAt ? (a.orderId < b.orderId ? 1 : -1) : a.createdAt < b.createdAt ? 1 : -1;

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
      ok: { status: 200, description: "The order with its payments", schema: OrderViewSchema },
      problems: ["NOT_FOUND"],
    },
    async (c, { identity, params }) => {
      const order = await orderActorOrNotFound(c.env, params.orderId).get();
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
      ok: {
        status: 200,
        description: "A page of orders; pass `next` as `cursor` for the following page",
        schema: OrderListSchema,
      },
      problems: ["DEPENDENCY_UNAVAILABLE"],
    },
    async (c, { identity, query }) => {
      // Two indexes, each asked for one more than a page after the cursor: the cart's
      // (checkout orders, at once) and Postgres (flash orders, within seconds; 503 without it).
      const after = parseCursor(query.cursor);
      const [indexed, stored] = await Promise.all([
        c.env.CARTS.getByName(identity.cartKey).listOrders(query.cursor ?? null, query.limit),
        ownerOrderIds(c.env, identity.cartKey, after, query.limit + 1),
      ]);
      const ids = [...new Set([...indexed.orderIds, ...stored])];
      const found = await Promise.all(ids.map((id) => orderActor(c.env, id)?.get() ?? null));
      const mine = found.filter((o): o is Order => o !== null && o.ownerId === identity.cartKey).sort(newestFirst);
      const page = mine.slice(0, query.limit);
      const last = page[page.length - 1];
      const more = mine.length > query.limit || indexed.next !== null;
      const list: z.output<typeof OrderListSchema> = {
        items: page.map(orderView),
        next: more && last ? `${last.createdAt}|${last.orderId}` : null,
      };
      return c.json(list);
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
      ok: { status: 200, description: "The cancelled order", schema: OrderViewSchema },
      problems: ["NOT_FOUND", "ORDER_NOT_PENDING"],
    },
    async (c, { identity, params }) => {
      const { order } = unwrap(await orderActorOrNotFound(c.env, params.orderId).cancel(identity.cartKey));
      return c.json(orderView(order));
    },
  );
}
