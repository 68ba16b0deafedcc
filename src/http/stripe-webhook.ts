/**
 * Stripe's webhook, beside the provider-neutral one (payments.ts): Stripe's
 * signature check (the official library's), Stripe's event read as our
 * payment events (domain/stripe-payments.ts), ids unique across orders, then
 * the order applies each event as it would the neutral webhook's. An event
 * for no order of ours is kept for an operator and answered 200, so Stripe
 * does not retry it for days.
 */
import { z } from "zod";
import { orderActor } from "../actors/order/order-routing";
import { foreignPaymentOwner } from "../actors/order/payment-ledger";
import type { DeadLetter } from "../consumer";
import type { Order } from "../domain/order";
import { DomainError, unwrap } from "../domain/errors";
import type { StripeEvent } from "../domain/stripe-payments";
import { StripeEventSchema, stripeOutcome } from "../domain/stripe-payments";
import { stripeSignatureValid } from "../payments/stripe";
import type { App } from "./route";
import { parseJsonBody, readBodyText, route } from "./route";
import { log } from "../log/logger";

export const STRIPE_WEBHOOK_PATH = "/v1/payments/stripe/webhook";

const StripeWebhookReply = z.object({
  received: z.literal(true),
  outcome: z.enum(["applied", "duplicate", "ignored", "dead_letter"]).meta({
    description:
      "applied: recorded on the order; duplicate: seen before, no second effect; ignored: not an event or intent of ours; dead_letter: kept for an operator (no such order, or an object we cannot read)",
  }),
  orderId: z.string().optional(),
  status: z.string().optional(),
  refundRequired: z.boolean().optional(),
  detail: z.string().optional(),
});

/** Keeps an event no order can take in `dead_letters` (through the DLQ, like any message the consumer cannot process). */
async function keepForOperator(env: Env, event: StripeEvent, error: string): Promise<void> {
  log.warn("stripe webhook: event kept as a dead letter", {
    eventId: event.id,
    type: event.type,
    outcome: "dead_letter",
    error,
  });
  const letter: DeadLetter = {
    deadLetter: true,
    queue: "stripe-webhook",
    messageId: `stripe:${event.id}`,
    error,
    body: event,
  };
  // A failure here answers 500, so Stripe delivers the event again: it is never lost.
  await env.ORDER_EVENTS_DLQ.send(letter, { contentType: "json" });
}

export function stripeWebhookRoutes(app: App): void {
  route(
    app,
    {
      method: "post",
      path: STRIPE_WEBHOOK_PATH,
      tag: "Payments",
      summary: "Stripe webhook (Stripe-Signature)",
      description:
        "Stripe's events, checked with Stripe's own signature scheme over the raw body before anything is read or recorded. The order is `data.object.metadata.orderId`. payment_intent.succeeded pays a PENDING order (amount and currency checked in the smallest unit; after expiry or cancel it is recorded with refundRequired); payment_intent.payment_failed and payment_intent.canceled are recorded FAILED and the order stays payable until it expires; charge.refunded refunds (the whole charge: REFUNDED and the units back on hand; a part: recorded PARTIALLY_REFUNDED, the order stays PAID). Redeliveries, and ids already used on another order, have no second effect. An event for no order of ours is answered 200 and kept as a dead letter; other event types and intents without metadata.orderId are ignored.",
      access: "stripe",
      rawBody: true,
      body: StripeEventSchema,
      ok: { status: 200, description: "Received", schema: StripeWebhookReply },
      problems: ["UNAUTHORIZED", "FORBIDDEN"],
    },
    async (c) => {
      const secret = c.env.STRIPE_WEBHOOK_SECRET;
      if (!secret) throw new DomainError("FORBIDDEN", "Stripe webhooks are refused until STRIPE_WEBHOOK_SECRET is set");
      const raw = await readBodyText(c);
      if (!(await stripeSignatureValid(secret, c.req.header("stripe-signature"), raw)))
        throw new DomainError("UNAUTHORIZED", "the Stripe-Signature is missing, invalid or stale");
      const event = parseJsonBody(raw, StripeEventSchema);
      const outcome = stripeOutcome(event);
      if (outcome.kind === "ignored")
        return c.json({ received: true as const, outcome: "ignored", detail: outcome.reason });
      if (outcome.kind === "unreadable") {
        await keepForOperator(c.env, event, outcome.reason);
        return c.json({ received: true as const, outcome: "dead_letter", detail: outcome.reason });
      }
      const actor = orderActor(c.env, outcome.orderId);
      if (!actor || !(await actor.get())) {
        const detail = `no order ${outcome.orderId}`;
        await keepForOperator(c.env, event, detail);
        return c.json({ received: true as const, outcome: "dead_letter", orderId: outcome.orderId, detail });
      }
      let order: Order | null = null;
      let applied = false;
      // In order: a refund's implied success lands before the refund itself.
      for (const payment of outcome.payments) {
        const usedBy = await foreignPaymentOwner(c.env, payment);
        const result = unwrap(await actor.applyPayment(payment, usedBy));
        order = result.order;
        applied ||= !result.duplicate;
      }
      return c.json({
        received: true as const,
        outcome: applied ? "applied" : "duplicate",
        orderId: order!.orderId,
        status: order!.status,
        refundRequired: order!.refundRequired,
      });
    },
  );
}
