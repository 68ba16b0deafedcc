// The admin API as the ops page calls it (docs/API.md, "Operations"): the admin token the
// operator typed in, kept in sessionStorage (gone when the tab closes), sent as a Bearer
// token; problem+json answers turned into errors that carry the problem's title and detail.

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

/** GET /v1/admin/metrics: one bucket of `stepSeconds`. */
export interface MetricsBucket {
  at: string;
  requests: number;
  status5xx: number;
  shed: number;
  p50Ms: number | null;
  p99Ms: number | null;
  flash: Record<string, { attempts: number; wins: number }>;
  cartEdits: number;
}
export interface Metrics {
  since: string;
  until: string;
  stepSeconds: number;
  series: MetricsBucket[];
  refusals: Record<string, number>;
  queueLagMs: number | null;
  outbox: Record<string, { depth: number; lagMs: number }> | null;
}

export interface Counters {
  onHand: number;
  reserved: number;
  sold: number;
}
/** GET /v1/admin/stock */
export interface Stock {
  skus: (Counters & { skuId: string; stripes: (Counters & { stripe: number })[]; drift: number })[];
  reconciledAt: string | null;
  reconcile: { ok: boolean; drift: unknown[] } | null;
  promotions: {
    id: string;
    code: string | null;
    limit: number | null;
    used: number | null;
    reserved: number | null;
    remaining: number | null;
  }[];
}

export type DeadLetterStatus = "open" | "replayed" | "discarded";
/** GET /v1/admin/dead-letters */
export interface DeadLetter {
  id: string;
  queue: string;
  eventId: string | null;
  type: string | null;
  reason: string | null;
  payload: unknown;
  receivedAt: string;
  status: DeadLetterStatus;
  resolvedAt: string | null;
}

/** POST /v1/admin/reconcile */
export interface ReconcileReport {
  checked: number;
  repaired: number;
  drifting: { skuId: string; drift: Counters; repaired: boolean }[];
  promotions?: { checked: number; drifting: unknown[] };
}

const TOKEN_KEY = "edgeCart.adminToken";

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
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError({ title: "Network error", status: 0, detail: "the service could not be reached" });
  }
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!res.ok) {
    const problem =
      json && typeof json === "object" && "title" in json
        ? (json as Problem)
        : { title: res.statusText || "Request failed", status: res.status, detail: text.slice(0, 200) };
    throw new ApiError(problem);
  }
  return json as T;
}

/** The token is refused (missing, wrong, or the admin API is disabled): ask for it again. */
export function tokenRefused(err: unknown): boolean {
  return err instanceof ApiError && (err.problem.status === 401 || err.problem.status === 403);
}
