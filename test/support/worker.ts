// Helpers for tests that run inside workerd (the "workers" project): real
// HTTP through the Worker's own fetch handler, real actors, real Postgres.
import { env, exports } from "cloudflare:workers";
import { sign } from "hono/jwt";
import { eq, sql } from "drizzle-orm";
import { withDatabase, type Database } from "../../src/db/client";
import { inventoryAudit } from "../../src/db/tables";
import type { PaymentEvent } from "../../src/domain/order";

export const ADMIN = { authorization: "Bearer test-admin-token" };
export const WEBHOOK_SECRET = "test-webhook-secret";

export interface Call {
  method?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface Reply<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/** One HTTP request through the Worker (JSON in, JSON or problem+json out). */
export async function api<T = any>(path: string, call: Call = {}): Promise<Reply<T>> {
  const headers: Record<string, string> = { ...call.headers };
  let body: string | undefined;
  if (call.body !== undefined) {
    body = typeof call.body === "string" ? call.body : JSON.stringify(call.body);
    headers["content-type"] ??= "application/json";
  }
  const res = await exports.default.fetch(
    new Request(`http://edge-cart.test${path}`, { method: call.method ?? (body ? "POST" : "GET"), headers, body }),
  );
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON (e.g. the docs page)
  }
  return { status: res.status, headers: res.headers, body: parsed as T };
}

export const unique = (prefix: string) => `${prefix}-${crypto.randomUUID().slice(0, 8)}`;

export async function userToken(userId: string, expiresInSeconds = 3600, secret = "test-jwt-secret"): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return sign({ sub: userId, iat: now, exp: now + expiresInSeconds }, secret, "HS256");
}

export async function asUser(
  userId = unique("user"),
): Promise<{ userId: string; cartKey: string; headers: Record<string, string> }> {
  return { userId, cartKey: `user:${userId}`, headers: { authorization: `Bearer ${await userToken(userId)}` } };
}

export function asGuest(cartId: string = crypto.randomUUID()): {
  cartId: string;
  cartKey: string;
  headers: Record<string, string>;
} {
  return { cartId, cartKey: `guest:${cartId}`, headers: { "x-cart-id": cartId } };
}

export interface SkuFields {
  productId?: string;
  name?: string;
  merchantId?: string;
  price?: number;
  currency?: string;
  status?: "active" | "inactive";
  stock?: number;
  purchaseLimit?: number | null;
  /** How many stock stripes the SKU is split into (1..64). */
  stripes?: number;
  image?: string | null;
  spec?: string | Record<string, string> | null;
  saleStartsAt?: string | null;
}

/** `PUT /v1/admin/skus/{skuId}` with a full valid body (fields override the defaults); answers the raw response. */
export function putSkuRequest(skuId: string, fields: SkuFields = {}) {
  return api(`/v1/admin/skus/${skuId}`, {
    method: "PUT",
    headers: ADMIN,
    body: {
      productId: `p-${skuId}`,
      name: `Item ${skuId}`,
      merchantId: "m-1",
      price: 1000,
      currency: "USD",
      status: "active",
      stock: 100,
      ...fields,
    },
  });
}

/** Creates (or updates) a SKU through the admin API and returns its id. */
export async function putSku(skuId: string = unique("sku"), fields: SkuFields = {}): Promise<string> {
  const res = await putSkuRequest(skuId, fields);
  if (res.status !== 200 && res.status !== 201)
    throw new Error(`putSku ${skuId}: ${res.status} ${JSON.stringify(res.body)}`);
  return skuId;
}

export async function adminSku(
  skuId: string,
): Promise<{ onHand: number; reserved: number; sold: number; available: number; version: number }> {
  const res = await api(`/v1/admin/skus/${skuId}`, { headers: ADMIN });
  if (res.status !== 200) throw new Error(`adminSku ${skuId}: ${res.status}`);
  return res.body;
}

/** Runs a query against the real Postgres the Worker writes to. */
export function db<T>(work: (db: Database) => Promise<T>): Promise<T> {
  return withDatabase(env, work);
}

/** Postgres answers any write of a SKU named `flaky-*` with a deadlock (SQLSTATE 40P01), a failure worth retrying. */
export async function installFlakySkuTrigger(): Promise<void> {
  await db(async (d) => {
    await d.execute(sql`CREATE OR REPLACE FUNCTION test_flaky_sku() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'simulated deadlock' USING ERRCODE = '40P01'; END $$`);
    await d.execute(sql`CREATE OR REPLACE TRIGGER test_flaky_sku BEFORE INSERT OR UPDATE ON skus
      FOR EACH ROW WHEN (NEW.sku_id LIKE 'flaky-%') EXECUTE FUNCTION test_flaky_sku()`);
  });
}

/** Polls until `check` returns a value (not undefined/null/false) or the time is up. */
export async function eventually<T>(
  check: () => Promise<T | null | undefined | false>,
  timeoutMs = 20_000,
  what = "condition",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== null && value !== undefined && value !== false) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Signs a webhook exactly as the payment provider does (the provider is the one test double we use). */
export async function signWebhook(
  rawBody: string,
  secret = WEBHOOK_SECRET,
  t = Math.floor(Date.now() / 1000),
): Promise<string> {
  const mac = await hmacSha256(secret, `${t}.${rawBody}`);
  return `t=${t},v1=${[...mac].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** HMAC-SHA256 of `input` under `secret` (webhook signatures, HS256 tokens). */
export async function hmacSha256(secret: string, input: string): Promise<Uint8Array> {
  const encoder = new TextEncoder();
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(input)));
}

export async function sendPayment(
  event: Partial<PaymentEvent> & Pick<PaymentEvent, "orderId" | "amount">,
  options: { secret?: string; t?: number } = {},
) {
  const body = JSON.stringify({
    eventId: `evt_${crypto.randomUUID()}`,
    type: "payment.succeeded",
    transactionId: `tx_${crypto.randomUUID()}`,
    currency: "USD",
    ...event,
  });
  return api("/v1/payments/webhook", {
    headers: { "payment-signature": await signWebhook(body, options.secret, options.t) },
    body,
  });
}

export async function checkout(headers: Record<string, string>, body: unknown = {}, key: string = crypto.randomUUID()) {
  return api("/v1/checkout", { headers: { ...headers, "idempotency-key": key }, body });
}

/** The SKU's inventory_audit rows summed (docs/invariants.md 4: they must equal the actor's counters). */
export async function auditSums(skuId: string): Promise<{ onHand: number; reserved: number; sold: number }> {
  const [sums] = await db((d) =>
    d
      .select({
        onHand: sql<number>`coalesce(sum(${inventoryAudit.onHandDelta}), 0)::int`,
        reserved: sql<number>`coalesce(sum(${inventoryAudit.reservedDelta}), 0)::int`,
        sold: sql<number>`coalesce(sum(${inventoryAudit.soldDelta}), 0)::int`,
      })
      .from(inventoryAudit)
      .where(eq(inventoryAudit.skuId, skuId)),
  );
  return sums!;
}

/** True once the audit rows of `skuId` sum to its live counters. */
export async function auditBalances(skuId: string): Promise<boolean> {
  const [counters, sums] = await Promise.all([adminSku(skuId), auditSums(skuId)]);
  return (
    sums.onHand === counters.onHand &&
    sums.reserved === counters.reserved &&
    sums.sold === counters.sold &&
    counters.available >= 0
  );
}
