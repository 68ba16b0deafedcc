/**
 * Domain errors carry the machine-readable `code` of docs/API.md (3. Errors) and the
 * HTTP status the edge maps them to. Everything else that escapes a handler
 * is an internal error and is reported without detail.
 */
export type ProblemCode =
  | "VALIDATION_FAILED"
  | "UNAUTHORIZED"
  | "FORBIDDEN"
  | "NOT_FOUND"
  | "SKU_UNAVAILABLE"
  | "OUT_OF_STOCK"
  | "SALE_NOT_STARTED"
  | "SOLD_OUT"
  | "LIMIT_EXCEEDED"
  | "SIGN_IN_REQUIRED"
  | "CART_TOO_LARGE"
  | "PROMOTION_UNKNOWN"
  | "PROMOTION_EXPIRED"
  | "PROMOTION_NOT_APPLICABLE"
  | "PROMOTION_EXHAUSTED"
  | "PROMOTION_LIMIT_PER_CUSTOMER"
  | "PROMOTION_CODE_TAKEN"
  | "PROMOTION_LIMIT_TOO_LOW"
  | "CURRENCY_MISMATCH"
  | "PRICE_CHANGED"
  | "ORDER_NOT_PENDING"
  | "CHECKOUT_EMPTY"
  | "CHECKOUT_IN_PROGRESS"
  | "IDEMPOTENCY_KEY_REUSED"
  | "PAYMENT_REFUSED"
  | "VERSION_CONFLICT"
  | "DEAD_LETTER_RESOLVED"
  | "PAYLOAD_TOO_LARGE"
  | "UNSUPPORTED_MEDIA_TYPE"
  | "UPGRADE_REQUIRED"
  | "RATE_LIMITED"
  | "DEPENDENCY_UNAVAILABLE"
  | "OVERLOADED"
  | "STALE_ROUTE"
  | "INTERNAL";

export const STATUS_OF: Record<ProblemCode, number> = {
  VALIDATION_FAILED: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  SKU_UNAVAILABLE: 409,
  OUT_OF_STOCK: 409,
  SALE_NOT_STARTED: 409,
  SOLD_OUT: 409,
  LIMIT_EXCEEDED: 409,
  /** A guest checking out a SKU with a purchase limit: limits are per user (docs/API.md, Purchase limits). */
  SIGN_IN_REQUIRED: 409,
  CART_TOO_LARGE: 409,
  PROMOTION_UNKNOWN: 409,
  PROMOTION_EXPIRED: 409,
  /** The unmet condition is named in `errors` (starts_at, currency, matching_lines, min_subtotal, buy_x, sign_in). */
  PROMOTION_NOT_APPLICABLE: 409,
  PROMOTION_EXHAUSTED: 409,
  PROMOTION_LIMIT_PER_CUSTOMER: 409,
  /** Admin: another promotion holds this code. */
  PROMOTION_CODE_TAKEN: 409,
  /** Admin: a limit below the redemptions already used and reserved. */
  PROMOTION_LIMIT_TOO_LOW: 409,
  CURRENCY_MISMATCH: 409,
  PRICE_CHANGED: 409,
  ORDER_NOT_PENDING: 409,
  CHECKOUT_EMPTY: 409,
  /** Another checkout (another Idempotency-Key: a second device, a double click) holds these lines. */
  CHECKOUT_IN_PROGRESS: 409,
  IDEMPOTENCY_KEY_REUSED: 422,
  /** The payment provider refuses to take this order's payment (e.g. an amount over Stripe's maximum): the order is cancelled. */
  PAYMENT_REFUSED: 422,
  VERSION_CONFLICT: 412,
  DEAD_LETTER_RESOLVED: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UPGRADE_REQUIRED: 426,
  RATE_LIMITED: 429,
  DEPENDENCY_UNAVAILABLE: 503,
  /** Load shed: past capacity the request was refused before it did anything (retry as it is). */
  OVERLOADED: 503,
  /** Internal only: a reservation reached a stripe that is not the buyer's home; the router retries. */
  STALE_ROUTE: 503,
  INTERNAL: 500,
};

/** One entry of `errors`: a field problem or a cart/checkout line problem. */
export interface ProblemItem {
  code: string;
  skuId?: string;
  path?: string;
  message?: string;
  /** Line details such as available, limit, requested (plain values: they cross actor RPC). */
  [extra: string]: string | number | boolean | null | undefined;
}

/** V8's Error, with the stack depth knob the Workers types leave out. */
const V8Error = Error as ErrorConstructor & { stackTraceLimit: number };

export class DomainError extends Error {
  readonly status: number;
  constructor(
    readonly code: ProblemCode,
    readonly detail: string,
    readonly errors?: ProblemItem[],
    /** Extra response headers, e.g. Retry-After for RATE_LIMITED. */
    readonly headers?: Record<string, string>,
  ) {
    // A refusal is an answer, not a fault, and nothing logs its stack: none is captured. Three of
    // four flash attempts are refused; a throw 25 frames deep costs ~19 us with its stack and ~2 us
    // without (V8, measured in Node).
    const limit = V8Error.stackTraceLimit;
    V8Error.stackTraceLimit = 0;
    super(detail);
    V8Error.stackTraceLimit = limit;
    this.name = "DomainError";
    this.status = STATUS_OF[code];
  }
}

/**
 * Actors return refusals as plain values (an RPC boundary would strip the
 * Error subclass), and the edge turns them back into DomainErrors.
 */
export interface Refusal {
  ok: false;
  code: ProblemCode;
  detail: string;
  errors?: ProblemItem[];
}

export type Outcome<T> = ({ ok: true } & T) | Refusal;

export function refuse(code: ProblemCode, detail: string, errors?: ProblemItem[]): Refusal {
  return errors ? { ok: false, code, detail, errors } : { ok: false, code, detail };
}

/** Unwraps an actor outcome at the edge: a refusal becomes a DomainError. */
export function unwrap<O extends { ok: boolean }>(outcome: O): Extract<O, { ok: true }> {
  if (!outcome.ok) {
    const refusal = outcome as unknown as Refusal;
    throw new DomainError(refusal.code, refusal.detail, refusal.errors);
  }
  return outcome as Extract<O, { ok: true }>;
}
