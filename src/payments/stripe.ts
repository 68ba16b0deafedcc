/**
 * Stripe's API through the official `stripe` package on its fetch client (it
 * runs on Workers): checking a webhook's `Stripe-Signature` and creating an
 * order's PaymentIntent. Nothing here touches an actor: callers use it after
 * the stock is reserved (or before anything is recorded), never inside a
 * transaction.
 *
 * The package is loaded on first use: an isolate that never talks to Stripe
 * (most of them: cart, catalog, flash buy without Stripe) does not evaluate
 * its ~270 modules at start-up.
 */
import type Stripe from "stripe";
import type { Order } from "../domain/order";
import { paymentIntentKey, paymentIntentRequest } from "../domain/stripe-payments";
import { withTimeout } from "../timeout";
import { log } from "../log/logger";

/** Stripe's own default; a signature older than this is refused (so is a replay later on). */
export const STRIPE_SIGNATURE_TOLERANCE_SECONDS = 300;
const DEFAULT_TIMEOUT_MS = 4000;

export function stripeEnabled(env: Env): boolean {
  return Boolean(env.STRIPE_SECRET_KEY);
}

export function stripeTimeoutMs(env: Env): number {
  const ms = Number(env.STRIPE_TIMEOUT_MS);
  return Number.isInteger(ms) && ms > 0 ? ms : DEFAULT_TIMEOUT_MS;
}

let library: Promise<typeof Stripe> | null = null;
const loadStripe = () => (library ??= import("stripe").then((m) => m.default));
const clients = new Map<string, Stripe>();

/** One client per key and address per isolate. `STRIPE_API_URL` points it at a local stand-in (tests, development). */
async function client(env: Env, key: string): Promise<Stripe> {
  const address = env.STRIPE_API_URL ?? "";
  let stripe = clients.get(`${address}|${key}`);
  if (!stripe) {
    const api = address ? new URL(address) : null;
    const Library = await loadStripe();
    stripe = new Library(key, {
      httpClient: Library.createFetchHttpClient(),
      // One retry (same idempotency key, so never a second intent) inside our own deadline.
      maxNetworkRetries: 1,
      ...(api && {
        host: api.hostname,
        port: api.port || (api.protocol === "https:" ? 443 : 80),
        protocol: api.protocol === "https:" ? "https" : "http",
      }),
    });
    clients.set(`${address}|${key}`, stripe);
  }
  return stripe;
}

/**
 * Whether `Stripe-Signature` signs this raw body with `secret` as Stripe
 * does: `t=`, one or more `v1=` (secret rotation), 300 s tolerance,
 * constant-time compare. The check is the official library's, not ours.
 */
export async function stripeSignatureValid(
  secret: string,
  header: string | undefined,
  rawBody: string,
): Promise<boolean> {
  if (!header || !rawBody) return false;
  const Library = await loadStripe();
  const signature = Library.webhooks.signature;
  if (!signature) return false;
  try {
    return await signature.verifyHeaderAsync(
      rawBody,
      header,
      secret,
      STRIPE_SIGNATURE_TOLERANCE_SECONDS,
      Library.createSubtleCryptoProvider(),
    );
  } catch {
    return false;
  }
}

export type IntentOutcome =
  | { kind: "created"; intentId: string; clientSecret: string }
  /** Stripe refuses this payment (a 4xx about the request, e.g. an amount over its maximum): the order cannot be paid. */
  | { kind: "refused"; detail: string }
  /** No usable answer in time (slow, down, rate-limited, misconfigured): the order stands; ask again later. */
  | { kind: "unavailable"; detail: string };

/**
 * The order's PaymentIntent: created once, then the same one for every later
 * call (Stripe's idempotency key is derived from the order id). Waits at most
 * STRIPE_TIMEOUT_MS.
 */
export async function orderPaymentIntent(env: Env, order: Order): Promise<IntentOutcome> {
  const key = env.STRIPE_SECRET_KEY;
  if (!key) return { kind: "unavailable", detail: "STRIPE_SECRET_KEY is not set" };
  const Library = await loadStripe();
  const stripe = await client(env, key);
  const timeoutMs = stripeTimeoutMs(env);
  const work = stripe.paymentIntents.create(paymentIntentRequest(order), {
    idempotencyKey: paymentIntentKey(order.orderId),
    timeout: timeoutMs,
  });
  work.catch(() => undefined); // a late failure after the deadline is not reported twice
  try {
    const intent = await withTimeout(work, timeoutMs);
    if (!intent.client_secret) return { kind: "unavailable", detail: `${intent.id} came without a client_secret` };
    return { kind: "created", intentId: intent.id, clientSecret: intent.client_secret };
  } catch (err) {
    return classify(err, Library);
  }
}

function classify(err: unknown, Library: typeof Stripe): IntentOutcome {
  if (err instanceof Library.errors.StripeError) {
    const refused =
      (err.type === "StripeInvalidRequestError" || err.type === "StripeCardError") &&
      (err.statusCode === 400 || err.statusCode === 402);
    // Stripe's message on a bad key echoes part of it: that one is not logged.
    const words = err.type === "StripeAuthenticationError" ? "authentication failed" : err.message;
    const detail = `Stripe ${err.statusCode ?? "error"} ${err.code ?? err.type}: ${words}`;
    if (refused) return { kind: "refused", detail: err.message };
    log.error("stripe: payment intent not created", { outcome: "unavailable", error: detail });
    return { kind: "unavailable", detail };
  }
  const detail = err instanceof Error ? err.message : String(err);
  log.warn("stripe: payment intent not created", { outcome: "unavailable", error: detail });
  return { kind: "unavailable", detail };
}
