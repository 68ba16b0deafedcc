/**
 * Where an order lives (its own actor, or the stock stripe that sold it in a
 * flash sale) and what routes, the webhook and the cron sweep do with it there.
 */
import type { Outcome } from "../../domain/errors";
import type { Order, PaymentEvent } from "../../domain/order";
import { orderHome } from "../../domain/order-ids";
import { stripeName } from "../../domain/stripes";

/** What the routes, the webhook and the cron sweep do with an order, wherever it lives. */
export interface OrderActorStub {
  get(): Promise<Order | null>;
  cancel(ownerId: string): Promise<Outcome<{ order: Order }>>;
  /** `usedBy`: the other order that already owns the event's provider ids, if any. */
  applyPayment(event: PaymentEvent, usedBy: string | null): Promise<Outcome<{ order: Order; duplicate: boolean }>>;
  expireIfDue(): Promise<{ expired: boolean }>;
  /** Tests and development only: moves the clock of the actor that keeps the order (src/actors/clock.ts). */
  advanceClock(ms: number): Promise<number>;
}

/**
 * The order's home (docs/API.md, Flash buy): a checkout order is its own order
 * actor; a flash order is kept by the SKU stripe that reserved it. Null for
 * anything that is not an order id (and so never wakes an actor).
 */
export function orderActor(env: Env, orderId: string): OrderActorStub | null {
  const home = orderHome(orderId);
  if (!home) return null;
  if (home.kind === "checkout") {
    const actor = env.ORDERS.getByName(orderId);
    return {
      get: () => actor.get(),
      cancel: (ownerId) => actor.cancel(ownerId),
      applyPayment: (event, usedBy) => actor.applyPayment(event, usedBy),
      expireIfDue: () => actor.expireIfDue(),
      advanceClock: (ms) => actor.advanceClock(ms),
    };
  }
  const stripe = env.SKUS.getByName(stripeName(home.skuId, home.stripe));
  return {
    get: () => stripe.flashOrder(orderId),
    cancel: (ownerId) => stripe.cancelFlash(orderId, ownerId),
    applyPayment: (event, usedBy) => stripe.payFlash(event, usedBy),
    expireIfDue: () => stripe.expireFlash(orderId),
    advanceClock: (ms) => stripe.advanceClock(ms),
  };
}
