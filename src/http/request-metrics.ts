/**
 * The request's data points (src/ops/metrics.ts): route and status with the duration, a flash
 * buy's outcome per SKU, a refusal's code, a cart edit. The route label is the operation's path
 * template (`POST /v1/cart/items/{skuId}`), set by `route()`, never the raw path: labels stay
 * few, and a malformed path needs no decoding to be counted.
 */
import type { Context, MiddlewareHandler } from "hono";
import { flushSoon, metricsSink, record } from "../ops/metrics";
import type { AppEnv } from "./context";

export const FLASH_ROUTE = "POST /v1/flash/{skuId}/orders";
/** Requests that change a cart (counted as cart edits when they succeed). */
const CART_EDIT_ROUTES = new Set([
  "POST /v1/cart/items",
  "PATCH /v1/cart/items/{skuId}",
  "DELETE /v1/cart/items/{skuId}",
  "POST /v1/cart/items/batch-delete",
  "POST /v1/cart/select",
  "DELETE /v1/cart",
  "POST /v1/cart/merge",
  "POST /v1/cart/promotions",
  "DELETE /v1/cart/promotions/{code}",
]);

/** A path segment as text; a malformed %-escape (decodeURIComponent throws on it) is kept as it came. */
export function pathSegment(path: string, index: number): string {
  const raw = path.split("/")[index] ?? "";
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** Keeps the write alive after the answer; without an execution context (a test calling app.fetch bare) it just runs. */
function waitUntil(c: Context<AppEnv>, work: Promise<unknown>): void {
  try {
    c.executionCtx.waitUntil(work);
  } catch {
    void work;
  }
}

export function requestMetrics(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const env = c.env;
    if (metricsSink(env) === "off") return next();
    const started = Date.now();
    await next();
    const ms = Date.now() - started;
    const route = c.get("route") ?? "unmatched";
    const status = c.res.status;
    const code = c.get("problemCode");
    record(env, { metric: "request", dim1: route, dim2: String(status), value: ms, histogram: true });
    if (code) record(env, { metric: "refusal", dim1: code, dim2: route });
    if (route === FLASH_ROUTE) {
      // A path the route refused as invalid is not a SKU: it would only add labels.
      const skuId = code === "VALIDATION_FAILED" ? "(invalid)" : pathSegment(c.req.path, 3);
      record(env, { metric: "flash", dim1: skuId, dim2: status < 300 ? "win" : (code ?? String(status)), value: ms });
    } else if (status < 300 && CART_EDIT_ROUTES.has(route)) {
      record(env, { metric: "cart_edit", dim1: route });
    }
    flushSoon(env, (work) => waitUntil(c, work));
  };
}
