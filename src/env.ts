/**
 * Settings that `wrangler types` cannot see because they are optional secrets:
 * production sets them with `wrangler secret put`, `npm run dev` passes the
 * local ones. Every reader treats them as possibly missing.
 */
declare global {
  namespace Cloudflare {
    interface Env {
      /** Neon (or any Postgres) connection string; without it the consumer retries and /healthz says "degraded". */
      DATABASE_URL?: string;
      /** Local only: host:port of the WebSocket-to-TCP proxy the Neon driver uses instead of Neon's endpoint. */
      NEON_WS_PROXY?: string;
      /** Upstash REST endpoint and token; without them cart snapshots are off and reads go to the actors. */
      UPSTASH_REDIS_REST_URL?: string;
      UPSTASH_REDIS_REST_TOKEN?: string;
      /**
       * Production sign-in: the identity provider's key set (JWKS, RS256/ES256/EdDSA) that user JWTs are
       * verified against instead of HS256 with JWT_SECRET. With it, JWT_ISSUER (the exact `iss`) and
       * JWT_AUDIENCE (this API's `aud`; several comma-separated) are required: without them every user
       * token is refused and /healthz says "misconfigured" (src/http/user-tokens.ts).
       */
      JWT_JWKS_URL?: string;
      JWT_ISSUER?: string;
      JWT_AUDIENCE?: string;
      /** How long one fetch of the key set may take (ms, default 3000); past it the request is 503 DEPENDENCY_UNAVAILABLE. */
      JWT_JWKS_TIMEOUT_MS?: string;
      /** Seconds a rate-limited buyer is told to wait (the binding's period). */
      RATE_LIMIT_PERIOD_SECONDS?: string;
      /** Load shedding per isolate (src/http/admission.ts): requests served at once (default 256, "0" = off), and how long one may wait for a slot (ms, default 250). */
      MAX_IN_FLIGHT?: string;
      SHED_WAIT_MS?: string;
      /**
       * Local runtime only (the local stack sets it): ms an actor keeps the events the queue took, to send
       * them again after the runtime restarts; the local queue keeps accepted messages in memory only
       * (src/actors/outbox-kept.ts). Unset or "0" on Cloudflare, where a resolved send is on disk.
       */
      OUTBOX_KEEP_SENT_MS?: string;
      /**
       * Metrics (src/ops/metrics.ts): "off", "postgres" (the local sink) or "analytics-engine" (the
       * OPS_METRICS binding); unset: Postgres in development and tests, Analytics Engine elsewhere.
       */
      METRICS?: string;
      /** Alert thresholds (src/ops/alerts.ts): open dead letters above this (default 0), queue lag above this many ms (default 60000). */
      ALERT_DEAD_LETTERS?: string;
      ALERT_QUEUE_LAG_MS?: string;
      /** Stripe (docs/API.md, Stripe): with the secret key, checkout and flash buy create a PaymentIntent. */
      STRIPE_SECRET_KEY?: string;
      /** The signing secret of the Stripe webhook endpoint (`whsec_…`); without it Stripe's webhook is refused (403). */
      STRIPE_WEBHOOK_SECRET?: string;
      /** The publishable key the storefront mounts Stripe's Payment Element with; without it the page offers the test provider. */
      STRIPE_PUBLISHABLE_KEY?: string;
      /** Development and tests only: Stripe's API at another address (a local stand-in), e.g. http://127.0.0.1:12111. */
      STRIPE_API_URL?: string;
      /** Where the storefront loads Stripe.js from (default https://js.stripe.com/v3/); a local stand-in in development. */
      STRIPE_JS_URL?: string;
      /** The lowest level of log line written: debug, info (default), warn or error (src/log/logger.ts). */
      LOG_LEVEL?: string;
      /** How long checkout waits for Stripe to create the PaymentIntent (ms, default 4000). */
      STRIPE_TIMEOUT_MS?: string;
      /** How long a cart waits before it writes a snapshot Redis missed again (ms, default 30000, jittered by half). */
      SNAPSHOT_RETRY_MS?: string;
    }
  }
}

export function reservationTtlSeconds(env: Env): number {
  const ttl = Number(env.RESERVATION_TTL_SECONDS);
  return Number.isInteger(ttl) && ttl > 0 ? ttl : 900;
}

export function guestCartTtlMs(env: Env): number {
  const days = Number(env.GUEST_CART_TTL_DAYS);
  return (Number.isFinite(days) && days > 0 ? days : 30) * 24 * 3600 * 1000;
}

export function snapshotRetryMs(env: Env): number {
  const ms = Number(env.SNAPSHOT_RETRY_MS);
  return Number.isInteger(ms) && ms > 0 ? ms : 30_000;
}

export function outboxKeepSentMs(env: Env): number {
  const ms = Number(env.OUTBOX_KEEP_SENT_MS ?? 0);
  return Number.isInteger(ms) && ms > 0 ? ms : 0;
}
