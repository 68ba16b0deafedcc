/**
 * The log context of the work in progress: which request it serves and
 * which actor runs it. The HTTP edge opens one per request, an actor one per
 * traced call (src/actors/traced.ts) and per alarm; every log line and every
 * event envelope written inside reads it, across awaits.
 */
import { AsyncLocalStorage } from "node:async_hooks";

export interface LogContext {
  requestId?: string;
  /** `cart:{cartKey}`, `sku:{skuId}~{stripe}`, `order:{orderId}`, `promotions:{name}`. */
  actor?: string;
  /** The outcome of the request, noted where it is decided (a problem's code). */
  outcome?: string;
}

const storage = new AsyncLocalStorage<LogContext>();

/** Runs `work` with `context` (on top of the current one) as the log context. */
export function withLogContext<T>(context: LogContext, work: () => T): T {
  const current = storage.getStore();
  return storage.run(current ? { ...current, ...context } : context, work);
}

export function logContext(): LogContext | undefined {
  return storage.getStore();
}

/** The request id of the work in progress, if it serves a request. */
export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId;
}

/** Notes the request's outcome for its request line (e.g. the code of a problem answer). */
export function noteOutcome(outcome: string): void {
  const current = storage.getStore();
  if (current) current.outcome = outcome;
}
