/**
 * The Hono app: the edge step (request id, CORS, admission, body drain), every
 * resource's routes, and one onError that answers problem+json.
 */
import { Hono } from "hono";
import { cartRoutes } from "./cart";
import { catalogRoutes } from "./catalog";
import { checkoutRoutes } from "./checkout";
import { devRoutes } from "./dev";
import { edge } from "./edge";
import { operationRoutes } from "./operations";
import { opsRoutes } from "./ops";
import { orderRoutes } from "./orders";
import { paymentConfigRoutes } from "./payment-config";
import { paymentIntentRoutes } from "./payment-intents";
import { paymentRoutes } from "./payments";
import { promotionRoutes } from "./promotions";
import { reconcileRoutes } from "./reconcile";
import { requestMetrics } from "./request-metrics";
import { skuLiveRoutes } from "./sku-live";
import { stripeWebhookRoutes } from "./stripe-webhook";
import { onError, problem } from "./problem";
import type { AppEnv } from "./route";

function buildApp(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use(requestMetrics());
  app.use(edge());
  app.onError(onError);
  app.notFound((c) => problem(c, "NOT_FOUND", `no route for ${c.req.method} ${c.req.path}`));
  catalogRoutes(app);
  skuLiveRoutes(app);
  cartRoutes(app);
  promotionRoutes(app);
  checkoutRoutes(app);
  orderRoutes(app);
  paymentRoutes(app);
  stripeWebhookRoutes(app);
  paymentIntentRoutes(app);
  paymentConfigRoutes(app);
  operationRoutes(app);
  reconcileRoutes(app);
  opsRoutes(app);
  devRoutes(app);
  return app;
}

export const app = buildApp();
