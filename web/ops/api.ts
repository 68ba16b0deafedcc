// The admin API as the ops page calls it (docs/API.md, "Operations"): the admin token the
// operator typed in, kept in sessionStorage (gone when the tab closes), sent as a Bearer
// token; problem+json answers turned into errors that carry the problem's title and detail.
import type { z } from "zod";
import type { DeadLettersSchema, MetricsSchema, StockSchema } from "../../src/http/validation/ops";

export interface Problem {
  title: string;
  status: number;
  detail?: string;
  code?: string;
}

export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail ? `${problem.title}: ${problem.detail}` : problem.title);
  }
}

/**
 * The answers' shapes are the API's own zod schemas (type-only: nothing of them is bundled), so
 * the page stops compiling when the admin API changes a field it reads.
 */
export type Metrics = z.output<typeof MetricsSchema>;
export type MetricsBucket = Metrics["series"][number];
export type Stock = z.output<typeof StockSchema>;
export type DeadLetter = z.output<typeof DeadLettersSchema>["deadLetters"][number];
export type DeadLetterStatus = DeadLetter["status"];

export interface Counters {
  onHand: number;
  reserved: number;
  sold: number;
}

/** POST /v1/admin/reconcile */
export interface ReconcileReport {
  checked: number;
  repaired: number;
  drifting: { skuId: string; drift: Counters; repaired: boolean }[];
  promotions?: { checked: number; drifting: unknown[] };
}

const TOKEN_KEY = "edgeCart.adminToken";
const CALL_TIMEOUT_MS = 15_000;

export const adminToken = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (token: string): void => sessionStorage.setItem(TOKEN_KEY, token),
  forget: (): void => sessionStorage.removeItem(TOKEN_KEY),
};

/** One admin call (`body` sent as JSON); the page's own refresh must never be answered from the browser's cache. */
export async function admin<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {
    accept: "application/json",
    authorization: `Bearer ${adminToken.get() ?? ""}`,
  };
  if (body !== undefined) headers["content-type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      cache: "no-store",
      // A call that hangs must not hold the page's refresh (main.ts runs one at a time).
      signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError({
      title: "Network error",
      status: 0,
      detail: `the service could not be reached, or did not answer within ${CALL_TIMEOUT_MS / 1000} s`,
    });
  }
  const text = await res.text();
  const json = parsed(text);
  if (res.ok) return json as T;
  throw new ApiError(
    isProblem(json)
      ? json
      : { title: res.statusText || "Request failed", status: res.status, detail: text.slice(0, 200) },
  );
}

function parsed(text: string): unknown {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

function isProblem(json: unknown): json is Problem {
  return json !== null && typeof json === "object" && "title" in json;
}

/** The token is refused (missing, wrong, or the admin API is disabled): ask for it again. */
export function tokenRefused(err: unknown): boolean {
  return err instanceof ApiError && (err.problem.status === 401 || err.problem.status === 403);
}
