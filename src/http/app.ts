import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { requestId } from "hono/request-id";
import { shedLoad } from "./admission";
import { cartRoutes } from "./cart";
import { catalogRoutes } from "./catalog";
import { checkoutRoutes } from "./checkout";
import { corsForAllowedOrigins } from "./cors";
import { devRoutes } from "./dev";
import { operationRoutes } from "./operations";
import { orderRoutes } from "./orders";
import { paymentRoutes } from "./payments";
import { reconcileRoutes } from "./reconcile";
import { skuLiveRoutes } from "./sku-live";
import { onError, problem } from "./problem";
import type { AppEnv } from "./route";

/** Bodies are small JSON documents: 64 KiB is far above any valid request (a 200-line batch delete is ~6 KiB). */
export const MAX_BODY_BYTES = 64 * 1024;

function buildApp(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use(corsForAllowedOrigins);
  app.use(requestId());
  app.use(shedLoad());
  app.use(bodyLimit({ maxSize: MAX_BODY_BYTES, onError: (c) => problem(c, "PAYLOAD_TOO_LARGE", `the body is larger than ${MAX_BODY_BYTES} bytes`) }));
  app.onError(onError);
  app.notFound((c) => problem(c, "NOT_FOUND", `no route for ${c.req.method} ${c.req.path}`));
  catalogRoutes(app);
  skuLiveRoutes(app);
  cartRoutes(app);
  checkoutRoutes(app);
  orderRoutes(app);
  paymentRoutes(app);
  operationRoutes(app);
  reconcileRoutes(app);
  devRoutes(app);
  return app;
}

export const app = buildApp();
