// Helpers for the end-to-end tests (test/e2e, Node): a small HTTP client over the global
// fetch, credentials (user JWTs, admin token, webhook signatures) built from the same
// .dev.vars the local stack runs with, Postgres access and polling.
import { createHmac, randomUUID } from "node:crypto";
import nodeHttp from "node:http";
import pg from "pg";
import { expect } from "vitest";
import { sign } from "hono/jwt";
import { readDevVars, startLocalStack, type LocalStack } from "../../dev/stack.ts";
import type { StackMode } from "../../dev/stack/types.ts";
import type { PaymentEvent } from "../../src/domain/order.ts";

// Money and stock counters are bigint columns; every value the API accepts is below 2^53
// (src/contracts/limits.ts), so the tests read them as plain numbers, as the Worker does.
pg.types.setTypeParser(pg.types.builtins.INT8, Number);

// ---- the stack ---------------------------------------------------------------------------

export interface E2eStack extends LocalStack {
  /** The secrets the Worker runs with (.dev.vars, then extraVars). */
  secrets: { JWT_SECRET: string; ADMIN_TOKEN: string; PAYMENT_WEBHOOK_SECRET: string };
  api: Api;
  db: pg.Pool;
  /** Seconds the stack took to answer its first request. */
  startSeconds: number;
}

export interface E2eStackOptions {
  /** Vars over .dev.vars. */
  vars?: Record<string, string>;
  quiet?: boolean;
  onWorkerLine?: (line: string) => void;
  /** "dev" (wrangler dev, the default) or "start" (built once, served by workerd: what `npm start` runs). */
  mode?: StackMode;
  /** The fresh database's name prefix. */
  databaseName?: string;
  /** Connections of the test's own Postgres pool. */
  poolSize?: number;
}

/** One stack per test file: fresh database, private Redis, the Worker on a free port. */
export async function startE2eStack(options: E2eStackOptions = {}): Promise<E2eStack> {
  const { vars: extraVars = {}, quiet = !process.env.E2E_VERBOSE, onWorkerLine } = options;
  const t0 = performance.now();
  // snapshot: the Worker runs the src/ of this moment; a concurrent edit must not reload it mid-test.
  const stack = await startLocalStack({
    mode: options.mode,
    port: 0,
    databaseName: options.databaseName ?? "edge_cart_e2e",
    quiet,
    extraVars,
    snapshot: true,
    onWorkerLine,
  });
  const startSeconds = (performance.now() - t0) / 1000;
  const vars = { ...readDevVars(), ...extraVars };
  const secrets = {
    JWT_SECRET: required(vars, "JWT_SECRET"),
    ADMIN_TOKEN: required(vars, "ADMIN_TOKEN"),
    PAYMENT_WEBHOOK_SECRET: required(vars, "PAYMENT_WEBHOOK_SECRET"),
  };
  const db = new pg.Pool({ connectionString: stack.databaseUrl, max: options.poolSize ?? 4 });
  db.on("error", () => undefined); // an idle client dropped at stop() must not crash the run
  const stop = async () => {
    await db.end().catch(() => undefined);
    await stack.stop();
  };
  return { ...stack, stop, secrets, api: new Api(stack.baseUrl, secrets), db, startSeconds };
}

function required(vars: Record<string, string>, name: string): string {
  const v = vars[name];
  if (!v) throw new Error(`${name} is not set in .dev.vars`);
  return v;
}

// ---- HTTP ----------------------------------------------------------------------------------

export interface HttpResult<T = any> {
  status: number;
  headers: Headers;
  /** Parsed JSON when the response is JSON (also problem+json), else the text. */
  body: T;
  text: string;
}

export interface RequestOptions {
  headers?: Record<string, string>;
  /** Sent as JSON unless it is a string (sent as is, still labelled application/json). */
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
}

export async function http<T = any>(
  baseUrl: string,
  method: string,
  path: string,
  opts: RequestOptions = {},
): Promise<HttpResult<T>> {
  const { headers, body } = encodeBody(opts);
  const res = await fetch(baseUrl + path, {
    method,
    headers,
    body,
    signal: opts.signal ?? AbortSignal.timeout(60_000),
  });
  return decoded<T>(res.status, res.headers, await res.text());
}

/** The request's headers and body: an object body is sent as JSON. */
function encodeBody(opts: RequestOptions): { headers: Record<string, string>; body: string | undefined } {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.body === undefined) return { headers, body: undefined };
  const body = typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
  headers["content-type"] ??= opts.contentType ?? "application/json";
  return { headers, body };
}

/** A response whose JSON body (when it says it is JSON and parses) is parsed. */
function decoded<T>(status: number, headers: Headers, text: string): HttpResult<T> {
  let parsed: unknown = text;
  if (/json/i.test(headers.get("content-type") ?? "") && text !== "") {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  return { status, headers, body: parsed as T, text };
}

/**
 * The same request over node:http with a keep-alive Agent, for bursts: all requests are
 * fired at once but share at most `agent.maxSockets` connections. (A thousand simultaneous
 * fresh connections overflow the accept queues of wrangler dev's proxy and of workerd on a
 * busy 2-core machine; the drops then look like "Your worker restarted mid-request".)
 */
export function httpVia<T = any>(
  agent: nodeHttp.Agent,
  baseUrl: string,
  method: string,
  path: string,
  opts: RequestOptions = {},
): Promise<HttpResult<T>> {
  const { headers, body: payload } = encodeBody(opts);
  if (payload !== undefined) headers["content-length"] = String(Buffer.byteLength(payload));
  return new Promise((resolve, reject) => {
    const req = nodeHttp.request(
      new URL(path, baseUrl),
      { method, headers, agent, signal: opts.signal ?? AbortSignal.timeout(120_000) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers))
            if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(", ") : v);
          resolve(decoded<T>(res.statusCode ?? 0, h, text));
        });
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

export type Secrets = E2eStack["secrets"];

/** The API with its credentials: `as(...)` picks who calls. */
export class Api {
  constructor(
    readonly baseUrl: string,
    readonly secrets: Secrets,
  ) {}

  request<T = any>(method: string, path: string, opts: RequestOptions = {}): Promise<HttpResult<T>> {
    return http<T>(this.baseUrl, method, path, opts);
  }

  get<T = any>(path: string, headers: Record<string, string> = {}): Promise<HttpResult<T>> {
    return this.request<T>("GET", path, { headers });
  }

  post<T = any>(path: string, body: unknown, headers: Record<string, string> = {}): Promise<HttpResult<T>> {
    return this.request<T>("POST", path, { headers, body });
  }

  admin(): Record<string, string> {
    return { authorization: `Bearer ${this.secrets.ADMIN_TOKEN}` };
  }

  async user(userId: string, ttlSeconds = 3600): Promise<Record<string, string>> {
    return { authorization: `Bearer ${await userToken(this.secrets.JWT_SECRET, userId, ttlSeconds)}` };
  }

  guest(clientCartId: string): Record<string, string> {
    return { "x-cart-id": clientCartId };
  }

  putSku(skuId: string, sku: SkuInput): Promise<HttpResult> {
    return this.request("PUT", `/v1/admin/skus/${encodeURIComponent(skuId)}`, {
      headers: this.admin(),
      body: { currency: "USD", status: "active", ...sku },
    });
  }

  /** The admin view with the live counters; throws unless 200. */
  async skuCounters(skuId: string): Promise<SkuAdminView> {
    const res = await this.get<SkuAdminView>(`/v1/admin/skus/${encodeURIComponent(skuId)}`, this.admin());
    if (res.status !== 200) throw new Error(`GET admin sku ${skuId}: ${res.status} ${res.text}`);
    return res.body;
  }

  /** Signs and posts a payment-provider event. */
  webhook(event: WebhookEvent, opts: { secret?: string; t?: number; signature?: string } = {}): Promise<HttpResult> {
    const raw = JSON.stringify(event);
    const signature = opts.signature ?? signPayment(raw, opts.secret ?? this.secrets.PAYMENT_WEBHOOK_SECRET, opts.t);
    return this.request("POST", "/v1/payments/webhook", { headers: { "payment-signature": signature }, body: raw });
  }
}

export interface SkuInput {
  productId: string;
  name: string;
  merchantId: string;
  price: number;
  stock: number;
  currency?: string;
  status?: "active" | "inactive";
  purchaseLimit?: number | null;
  image?: string | null;
  spec?: Record<string, string> | null;
  stripes?: number;
}

export interface SkuAdminView {
  skuId: string;
  price: number;
  status: string;
  purchaseLimit: number | null;
  onHand: number;
  reserved: number;
  sold: number;
  available: number;
  version: number;
}

/** What the payment provider posts: the domain's PaymentEvent. */
export type WebhookEvent = PaymentEvent;

// ---- credentials ------------------------------------------------------------------------------

/** An HS256 user token with `sub` and `exp`, as a login service would issue it. */
export function userToken(secret: string, userId: string, ttlSeconds = 3600): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return sign({ sub: userId, iat: now, exp: now + ttlSeconds }, secret, "HS256");
}

/** `Payment-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`. */
export function signPayment(rawBody: string, secret: string, t = Math.floor(Date.now() / 1000)): string {
  const v1 = createHmac("sha256", secret).update(`${t}.${rawBody}`).digest("hex");
  return `t=${t},v1=${v1}`;
}

export function newId(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

// ---- waiting -----------------------------------------------------------------------------------

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Retries `check` (which throws, e.g. a failed expect) until it passes or `timeoutMs` runs
 * out; then throws the last failure, so the report shows the real difference.
 */
/** The audit rows of a SKU sum to its live counters once the consumer has caught up (docs/invariants.md 4). */
export async function expectAuditBalanced(stack: E2eStack, skuId: string, timeoutMs = 30_000): Promise<void> {
  const live = await stack.api.skuCounters(skuId);
  await eventually(
    async () => {
      const { rows } = await stack.db.query(
        `select coalesce(sum(on_hand_delta), 0)::int as "onHand", coalesce(sum(reserved_delta), 0)::int as reserved,
                coalesce(sum(sold_delta), 0)::int as sold from inventory_audit where sku_id = $1`,
        [skuId],
      );
      expect(rows[0]).toEqual({ onHand: live.onHand, reserved: live.reserved, sold: live.sold });
    },
    { timeoutMs, intervalMs: 500 },
  );
}

export async function eventually<T>(
  check: () => Promise<T> | T,
  opts: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  const interval = opts.intervalMs ?? 250;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() >= deadline) throw err;
      await sleep(interval);
    }
  }
}

/**
 * wrangler dev's own proxy (not the Worker) answers a plain-text 503 "Your worker restarted
 * mid-request" when its hop to the Worker fails at the network level, which happens now and
 * then under a burst of ~1000 concurrent requests (measured: never when the same burst goes
 * straight to the Worker). The Worker may or may not have seen the request: only requests
 * that are safe to repeat (same Idempotency-Key) may be retried on it.
 */
export function isDevProxyDrop(res: HttpResult): boolean {
  return (
    res.status === 503 &&
    !(res.headers.get("content-type") ?? "").includes("json") &&
    res.text.startsWith("Your worker restarted mid-request")
  );
}

/** A problem+json answer: 4xx, right media type, a `code`, no stack. */
export function isProblem(res: HttpResult): boolean {
  return (
    (res.headers.get("content-type") ?? "").startsWith("application/problem+json") &&
    typeof res.body === "object" &&
    res.body !== null &&
    typeof res.body.code === "string" &&
    res.body.status === res.status
  );
}
