/**
 * Operations routes: /healthz with time-boxed dependency checks, the OpenAPI
 * document, and the admin's sync endpoints.
 */
import { z } from "zod";
import { redisClient } from "../cache/redis";
import { cartEventProjected } from "../db/cart-reads";
import { databaseConfigured, withDatabase } from "../db/client";
import { DomainError } from "../domain/errors";
import { withTimeout } from "../timeout";
import { syncChangedCarts } from "../cron";
import { openDrift } from "../db/reconciliations";
import { userTokenHealth } from "./user-tokens";
import { DOCS_PATH, docsFallbackPage, openApiDocument } from "./openapi";
import { log } from "../log/logger";
import { errorText } from "../log/redact";

/** The storefront and the ops page: static assets built from web/shop and web/ops by dev/storefront-assets.ts. */
export const SHOP_PATH = "/shop/";
export const OPS_PATH = "/ops/";
import { orUnavailable } from "./problem";
import type { App } from "./route";
import { route } from "./route";
import { CartKeyParams, HealthSchema } from "./validation/operations";

/** Each dependency check is time-boxed, and its result reused for a few seconds: /healthz stays cheap and answers under load. */
const HEALTH_TIMEOUT_MS = 500;
const HEALTH_TTL_MS = 5_000;
/**
 * The admin cart sync answers once Postgres shows the cart's snapshot, or after this long with 503
 * DEPENDENCY_UNAVAILABLE: the snapshot stays queued and the consumer writes it when it can (docs/API.md).
 */
const SYNC_WAIT_MS = 10_000;

interface Health {
  postgres: string;
  redis: string;
  /** The reconciliation's open drift (docs/invariants.md 4). */
  inventory: string;
}

/**
 * Per set of dependencies, plain data only (no promise is shared between
 * requests): one request refreshes a stale result, the others meanwhile answer with it.
 */
const healthCache = new Map<string, { value: Health | null; at: number; refreshingSince: number }>();

/** Polls the read model until the consumer has projected `eventId` (true) or `ms` have passed (false). */
async function projectedWithin(env: Env, eventId: string, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  return withDatabase(env, async (db) => {
    for (let pause = 50; ; pause = Math.min(pause * 2, 500)) {
      if (await cartEventProjected(db, eventId)) return true;
      if (Date.now() + pause > deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  });
}

async function health(env: Env): Promise<Health> {
  const key = `${env.DATABASE_URL ?? ""}|${env.UPSTASH_REDIS_REST_URL ?? ""}`;
  const now = Date.now();
  const entry = healthCache.get(key) ?? { value: null, at: 0, refreshingSince: 0 };
  healthCache.set(key, entry);
  if (entry.value && (now - entry.at < HEALTH_TTL_MS || now - entry.refreshingSince < HEALTH_TIMEOUT_MS * 2))
    return entry.value;
  entry.refreshingSince = now;
  const [postgres, redis] = await Promise.all([checkPostgres(env), checkRedis(env)]);
  entry.value = { postgres: postgres.state, redis, inventory: postgres.inventory };
  entry.at = Date.now();
  return entry.value;
}

/** Postgres answers, and the reconciliation's open drift (docs/invariants.md 4) read from it. */
async function checkPostgres(env: Env): Promise<{ state: string; inventory: string }> {
  if (!databaseConfigured(env)) return { state: "not configured", inventory: "unknown" };
  try {
    const drifting = await withTimeout(
      withDatabase(env, (db) => openDrift(db)),
      HEALTH_TIMEOUT_MS,
    );
    return { state: "ok", inventory: drifting === 0 ? "ok" : `drift on ${drifting} SKU(s): POST /v1/admin/reconcile` };
  } catch (err) {
    log.warn("healthz: postgres unavailable", { error: errorText(err) });
    return { state: "unavailable", inventory: "unknown" };
  }
}

async function checkRedis(env: Env): Promise<string> {
  const redis = redisClient(env, HEALTH_TIMEOUT_MS);
  if (!redis) return "disabled (snapshots off)";
  try {
    return (await redis.ping()) === "PONG" ? "ok" : "unavailable";
  } catch (err) {
    log.warn("healthz: redis unavailable", { error: errorText(err) });
    return "unavailable";
  }
}

export function operationRoutes(app: App): void {
  route(
    app,
    {
      method: "get",
      path: "/healthz",
      tag: "Operations",
      summary: "Health: the Worker answers; Postgres, Redis and user sign-in are checked",
      description:
        "Always 200 while the Worker runs: `degraded` (not down) when a dependency is missing or unreachable, or user sign-in is misconfigured (`checks.auth` names the missing setting) or its key set cannot be fetched; carts and orders keep working on the actors. Never shed under load; dependency checks are time-boxed (0.5 s) and reused for 5 s.",
      access: "none",
      ok: { status: 200, description: "Health", schema: HealthSchema },
    },
    async (c) => {
      const [{ postgres, redis, inventory }, auth] = await Promise.all([
        health(c.env),
        userTokenHealth(c.env, HEALTH_TIMEOUT_MS),
      ]);
      return c.json({
        status: postgres === "ok" && redis === "ok" && auth.startsWith("ok") ? "ok" : "degraded",
        checks: { postgres, redis, inventory, auth },
      });
    },
  );

  route(
    app,
    {
      method: "post",
      path: "/v1/admin/carts/{cartKey}/sync",
      tag: "Operations",
      summary: "Write one cart to Postgres now",
      description:
        "Sends the cart's full snapshot through the event queue and answers once Postgres shows it. Not shown within 10 s: 503 `DEPENDENCY_UNAVAILABLE` with `Retry-After`; the snapshot stays queued and is written when the consumer can.",
      access: "admin",
      params: CartKeyParams,
      ok: {
        status: 200,
        description: "Written",
        schema: z.object({ cartKey: z.string(), version: z.number().int(), lines: z.number().int() }),
      },
      problems: ["DEPENDENCY_UNAVAILABLE"],
    },
    async (c, { params }) => {
      const cartKey = params.cartKey.startsWith("guest:") ? params.cartKey.toLowerCase() : params.cartKey;
      const { written, landed } = await orUnavailable(
        async () => {
          // One write path: the actor sends its full snapshot through its outbox and the queue; the consumer writes it.
          const { eventId, ...receipt } = await c.env.CARTS.getByName(cartKey).publishSnapshot();
          return {
            written: receipt,
            landed: eventId === null || (await projectedWithin(c.env, eventId, SYNC_WAIT_MS)),
          };
        },
        "admin sync of a cart failed",
        "Postgres is unavailable; the cart stays queued for the hourly sync",
        { cartKey },
      );
      if (!landed)
        throw new DomainError(
          "DEPENDENCY_UNAVAILABLE",
          `the cart's snapshot is queued but Postgres did not show it within ${SYNC_WAIT_MS / 1000} s`,
          undefined,
          { "retry-after": String(SYNC_WAIT_MS / 1000) },
        );
      return c.json({ cartKey, ...written });
    },
  );

  route(
    app,
    {
      method: "post",
      path: "/v1/admin/sync",
      tag: "Operations",
      summary: "Run the hourly cart sync now",
      access: "admin",
      ok: {
        status: 200,
        description: "How many carts emitted a snapshot",
        schema: z.object({ carts: z.number().int(), source: z.string() }),
      },
      problems: ["DEPENDENCY_UNAVAILABLE"],
    },
    async (c) => {
      const synced = await orUnavailable(
        () => syncChangedCarts(c.env),
        "admin sync failed",
        "neither Redis nor Postgres can list the changed carts right now",
      );
      return c.json(synced);
    },
  );

  // A browser asking for a page gets the storefront (static assets under /shop/); API clients keep the JSON links.
  app.get("/", (c) =>
    /\btext\/html\b/.test(c.req.header("accept") ?? "")
      ? c.redirect(SHOP_PATH, 302)
      : c.json({
          name: "edge-cart",
          shop: SHOP_PATH,
          ops: OPS_PATH,
          docs: DOCS_PATH,
          openapi: "/openapi.json",
          health: "/healthz",
        }),
  );
  app.get("/openapi.json", (c) => c.json(openApiDocument()));
  // The reference UI is a static asset (public/docs/, served before the Worker); these answer only where it was not built.
  app.get("/docs", (c) => c.redirect(DOCS_PATH, 301));
  app.get(DOCS_PATH, (c) => c.html(docsFallbackPage(), 404));
}
