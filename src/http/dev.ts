import { sign } from "hono/jwt";
import { z } from "zod";
import { DomainError } from "../domain/errors";
import { hmacSha256Hex } from "./signing";

import { orderActor } from "../actors/order/order-routing";
import { requireAdmin, USER_ID } from "./identity";
import type { App } from "./route";
import { readJsonBody } from "./route";

/**
 * Development-only helpers for the storefront (web/shop): a demo sign-in that issues user
 * tokens and a "pay with the test provider" button that goes through the signed payment
 * webhook; and for the ops page's tests, a raw message put on an event queue (a poisoned
 * event, to see it dead-lettered and replayed). They exist only while ENVIRONMENT is "development" (.dev.vars, the local stack);
 * wrangler.toml sets "production", where every path below is a plain 404.
 * They are not in the OpenAPI document: no client outside the local stack may rely on them.
 */
export const DEV_PREFIX = "/v1/dev";
const DEMO_TOKEN_SECONDS = 8 * 3600;

const DEMO_USERS = ["alice", "bob", "carol"];
const TokenBody = z.object({ userId: z.string().regex(USER_ID) });
/** At most a day per call: enough to pass any reservation's expiry. */
const ClockBody = z.object({ advanceMs: z.number().int().min(0).max(86_400_000) });

/** The event queues a raw message may be put on, by queue name (as wrangler.toml names them). */
const EVENT_QUEUES = { "cart-events": "CART_EVENTS", "order-events": "ORDER_EVENTS" } as const;

export function devEnabled(env: Env): boolean {
  return env.ENVIRONMENT === "development";
}

export function devRoutes(app: App): void {
  app.use(`${DEV_PREFIX}/*`, async (c, next) => {
    if (!devEnabled(c.env)) throw new DomainError("NOT_FOUND", `no route for ${c.req.method} ${c.req.path}`);
    await next();
  });

  // The storefront asks this to know whether to offer the demo sign-in and the test payment.
  app.get(DEV_PREFIX, (c) => c.json({ development: true, demoUsers: DEMO_USERS }));

  // A demo user's token, signed with the local JWT_SECRET (what `npm run token` prints).
  app.post(`${DEV_PREFIX}/token`, async (c) => {
    const { userId } = await readJsonBody(c, TokenBody);
    if (!c.env.JWT_SECRET) throw new DomainError("FORBIDDEN", "JWT_SECRET is not set");
    const now = Math.floor(Date.now() / 1000);
    const token = await sign({ sub: userId, iat: now, exp: now + DEMO_TOKEN_SECONDS }, c.env.JWT_SECRET, "HS256");
    return c.json({ userId, token, expiresAt: new Date((now + DEMO_TOKEN_SECONDS) * 1000).toISOString() });
  });

  // Moves the clock of the actor that keeps an order (admin): its own order actor, or for a flash
  // order the stock stripe that sold it (every order of that stripe sees the new time), then
  // expires the order if it is now due. End-to-end tests move time with it instead of sleeping.
  app.post(`${DEV_PREFIX}/orders/:orderId/advance-clock`, async (c) => {
    await requireAdmin(c);
    const { advanceMs } = await readJsonBody(c, ClockBody);
    const orderId = c.req.param("orderId");
    const actor = orderActor(c.env, orderId);
    if (!actor) throw new DomainError("NOT_FOUND", "no such order");
    const aheadMs = await actor.advanceClock(advanceMs);
    const { expired } = await actor.expireIfDue();
    return c.json({ orderId, aheadMs, expired });
  });

  // Plays the test payment provider for one of the caller's orders: reads the order with the
  // caller's own credentials (404 unless it is theirs), then posts a signed payment.succeeded
  // to the public webhook, which verifies it like any provider's call.
  app.post(`${DEV_PREFIX}/orders/:orderId/pay`, async (c) => {
    const orderId = c.req.param("orderId");
    const auth = c.req.header("authorization");
    if (!auth) throw new DomainError("UNAUTHORIZED", "sign in to pay for an order");
    const read = await app.request(
      `/v1/orders/${encodeURIComponent(orderId)}`,
      { headers: { authorization: auth } },
      c.env,
      c.executionCtx,
    );
    if (read.status !== 200) return read;
    const order = (await read.json()) as { total: number; currency: string };
    if (!c.env.PAYMENT_WEBHOOK_SECRET) throw new DomainError("FORBIDDEN", "PAYMENT_WEBHOOK_SECRET is not set");
    const raw = JSON.stringify({
      eventId: `evt_dev_${crypto.randomUUID()}`,
      type: "payment.succeeded",
      orderId,
      transactionId: `tx_dev_${crypto.randomUUID()}`,
      amount: order.total,
      currency: order.currency,
    });
    const t = Math.floor(Date.now() / 1000);
    const signature = `t=${t},v1=${await hmacSha256Hex(c.env.PAYMENT_WEBHOOK_SECRET, `${t}.${raw}`)}`;
    return app.request(
      "/v1/payments/webhook",
      { method: "POST", headers: { "content-type": "application/json", "payment-signature": signature }, body: raw },
      c.env,
      c.executionCtx,
    );
  });

  // Puts any JSON value on an event queue as it is, past the edge's validation (a NUL byte
  // included): what a producer bug or an older version could send. Admin token as well, so a
  // development stack reachable by others cannot be fed events by anyone.
  app.post(`${DEV_PREFIX}/queues/:queue/messages`, async (c) => {
    await requireAdmin(c);
    const name = c.req.param("queue");
    const binding = Object.hasOwn(EVENT_QUEUES, name) ? EVENT_QUEUES[name as keyof typeof EVENT_QUEUES] : null;
    if (!binding)
      throw new DomainError("NOT_FOUND", `no event queue ${name}: one of ${Object.keys(EVENT_QUEUES).join(", ")}`);
    const message = await readJsonBody(c, z.unknown());
    await c.env[binding].send(message, { contentType: "json" });
    return c.json({ queue: name, sent: true }, 202);
  });
}
