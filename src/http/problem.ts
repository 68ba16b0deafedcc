/**
 * RFC 9457 problem+json: domain refusals become typed problems, anything else
 * an internal error without detail.
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ProblemCode, ProblemItem } from "../domain/errors";
import { DomainError, STATUS_OF } from "../domain/errors";
import { noteOutcome } from "../log/context";
import { log } from "../log/logger";
import { errorText } from "../log/redact";

export const TITLES: Record<ProblemCode, string> = {
  VALIDATION_FAILED: "The request is not valid",
  UNAUTHORIZED: "Authentication required",
  FORBIDDEN: "Not allowed",
  NOT_FOUND: "Not found",
  SKU_UNAVAILABLE: "SKU unavailable",
  OUT_OF_STOCK: "Out of stock",
  SALE_NOT_STARTED: "The sale has not started",
  SOLD_OUT: "Sold out",
  LIMIT_EXCEEDED: "Purchase limit exceeded",
  SIGN_IN_REQUIRED: "Sign in to buy this item",
  CART_TOO_LARGE: "Cart too large",
  PROMOTION_UNKNOWN: "No such promotion code",
  PROMOTION_EXPIRED: "The promotion has ended",
  PROMOTION_NOT_APPLICABLE: "The promotion does not apply",
  PROMOTION_EXHAUSTED: "The promotion has been used up",
  PROMOTION_LIMIT_PER_CUSTOMER: "The promotion's limit per customer is reached",
  PROMOTION_CODE_TAKEN: "Another promotion has this code",
  PROMOTION_LIMIT_TOO_LOW: "The limit is below what is already used",
  CURRENCY_MISMATCH: "Currency mismatch",
  PRICE_CHANGED: "Price changed",
  ORDER_NOT_PENDING: "Order is not pending",
  CHECKOUT_EMPTY: "Nothing to check out",
  CHECKOUT_IN_PROGRESS: "These lines are being checked out already",
  IDEMPOTENCY_KEY_REUSED: "Idempotency key reused",
  PAYMENT_REFUSED: "The payment provider refuses this payment",
  VERSION_CONFLICT: "Version conflict",
  DEAD_LETTER_RESOLVED: "The dead letter was resolved otherwise",
  PAYLOAD_TOO_LARGE: "Payload too large",
  UNSUPPORTED_MEDIA_TYPE: "Unsupported media type",
  UPGRADE_REQUIRED: "Upgrade required",
  RATE_LIMITED: "Too many requests",
  DEPENDENCY_UNAVAILABLE: "Service temporarily unavailable",
  OVERLOADED: "The service is at capacity",
  STALE_ROUTE: "Service temporarily unavailable",
  INTERNAL: "Internal error",
};

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ProblemCode;
  errors?: ProblemItem[];
  requestId?: string;
}

export function problemType(code: ProblemCode): string {
  return `urn:edge-cart:problem:${code.toLowerCase().replaceAll("_", "-")}`;
}

/** An RFC 9457 problem+json response. */
export function problem(
  c: Context,
  code: ProblemCode,
  detail: string,
  errors?: ProblemItem[],
  headers?: Record<string, string>,
): Response {
  const status = STATUS_OF[code];
  noteOutcome(code);
  const body: Problem = { type: problemType(code), title: TITLES[code], status, detail, code };
  if (errors && errors.length > 0) body.errors = errors;
  const requestId = c.get("requestId" as never) as string | undefined;
  if (requestId) body.requestId = requestId;
  c.set("problemCode" as never, code as never);
  return new Response(JSON.stringify(body), {
    status,
    headers: {
      "content-type": "application/problem+json",
      ...(requestId ? { "x-request-id": requestId } : {}),
      ...headers,
    },
  });
}

/**
 * The single error handler: domain errors become their problem; anything
 * else is logged with the request id and answered without detail (no stack
 * ever leaves the Worker). A Durable Object that is overloaded or restarting
 * answers 503 with Retry-After, which clients may retry.
 */
export function onError(err: Error, c: Context): Response {
  if (err instanceof DomainError) return problem(c, err.code, err.detail, err.errors, err.headers);
  if (err instanceof HTTPException) {
    const code = (Object.entries(STATUS_OF).find(([, s]) => s === err.status)?.[0] ??
      "VALIDATION_FAILED") as ProblemCode;
    return problem(c, code, err.message || TITLES[code]);
  }
  const flags = err as Error & { retryable?: boolean; overloaded?: boolean; durableObjectReset?: boolean };
  log.error("request failed", { method: c.req.method, path: c.req.path, error: errorText(err), stack: err.stack });
  // An actor that is overloaded or was reset mid-request: the client retries (with the same Idempotency-Key for buys).
  if (flags.overloaded || flags.retryable || flags.durableObjectReset) {
    return problem(c, "DEPENDENCY_UNAVAILABLE", "the service is busy; retry shortly", undefined, {
      "retry-after": "1",
    });
  }
  return problem(c, "INTERNAL", "an unexpected error occurred; it has been logged");
}

/**
 * Runs work that needs Redis or Postgres; if it fails, logs `failure` with the error (and
 * `fields`) and answers 503 DEPENDENCY_UNAVAILABLE with `detail`.
 */
export async function orUnavailable<T>(
  work: () => Promise<T>,
  failure: string,
  detail: string,
  fields: Record<string, unknown> = {},
): Promise<T> {
  try {
    return await work();
  } catch (err) {
    log.error(failure, { ...fields, error: errorText(err) });
    throw new DomainError("DEPENDENCY_UNAVAILABLE", detail);
  }
}
