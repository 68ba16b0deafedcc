/**
 * The Worker entry: fetch (the Hono app), queue (the consumer) and scheduled
 * (cron); re-exports the actor classes.
 */
import "./env";
import { consumeBatch } from "./consumer";
import { runScheduled } from "./cron";
import { tracedEnv } from "./actors/traced";
import { app } from "./http/app";

export { CartActor } from "./actors/cart/cart-actor";
export { OrderActor } from "./actors/order/order-actor";
export { PaymentLedger } from "./actors/order/payment-ledger";
export { PromotionCatalog } from "./actors/promotions/promotion-catalog";
export { SkuActor } from "./actors/sku/sku-actor";
export { SkuWatch } from "./actors/sku/sku-watch";

/** The Worker: the HTTP API, the queue consumer (events -> Postgres) and the cron triggers. */
export default {
  // Actor calls made while a request is served carry its id (src/actors/traced.ts).
  fetch: (request, env, ctx) => app.fetch(request, tracedEnv(env), ctx),
  async queue(batch, env, ctx) {
    await consumeBatch(batch, env, (work) => ctx.waitUntil(work));
  },
  async scheduled(controller, env, ctx) {
    ctx.waitUntil(runScheduled(controller.cron, env, new Date(controller.scheduledTime)));
  },
} satisfies ExportedHandler<Env>;
