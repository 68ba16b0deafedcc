// Stripe's webhook events for tests, in the shape of Stripe's API reference (our own fixtures in
// test/fixtures/stripe/, one per event type), signed with the official `stripe` package, so the
// Worker's signature check is proven against Stripe's own signing code. Pure data and signing:
// usable in Node and in workerd.
import Stripe from "stripe";
import canceled from "../fixtures/stripe/payment_intent.canceled.json";
import paymentFailed from "../fixtures/stripe/payment_intent.payment_failed.json";
import succeeded from "../fixtures/stripe/payment_intent.succeeded.json";
import refunded from "../fixtures/stripe/charge.refunded.json";

/** The secret the workers project runs with (vitest.config.ts TEST_SECRETS). */
export const STRIPE_WEBHOOK_SECRET = "whsec_test_edge_cart";

const FIXTURES = {
  "payment_intent.succeeded": succeeded,
  "payment_intent.payment_failed": paymentFailed,
  "payment_intent.canceled": canceled,
  "charge.refunded": refunded,
} as const;

export type StripeEventType = keyof typeof FIXTURES;

const stripeId = (prefix: string) => `${prefix}_${crypto.randomUUID().replaceAll("-", "")}`;
export const newIntentId = () => stripeId("pi");
export const newChargeId = () => stripeId("ch");

export interface EventFields {
  orderId: string;
  /** The PaymentIntent (payment_intent.*: the object; charge.refunded: its payment_intent). */
  intentId: string;
  /** The smallest unit, as Stripe counts it. */
  amount: number;
  /** Lowercase, as Stripe sends it (default usd). */
  currency?: string;
  eventId?: string;
  /** charge.refunded: the charge and the running total refunded (default: all of `amount`). */
  chargeId?: string;
  amountRefunded?: number;
  /** payment_intent.payment_failed: the failed attempt's charge. */
  failedChargeId?: string;
}

/** A Stripe event of `type` from its fixture, for our order and amounts. */
export function stripeEvent(type: StripeEventType, fields: EventFields): Record<string, any> {
  const event = structuredClone(FIXTURES[type]) as Record<string, any>;
  const object = event.data.object;
  const currency = fields.currency ?? "usd";
  event.id = fields.eventId ?? stripeId("evt");
  event.created = Math.floor(Date.now() / 1000);
  object.metadata = { orderId: fields.orderId };
  object.currency = currency;
  if (type === "charge.refunded") {
    const refundedSoFar = fields.amountRefunded ?? fields.amount;
    object.id = fields.chargeId ?? newChargeId();
    object.payment_intent = fields.intentId;
    object.amount = fields.amount;
    object.amount_captured = fields.amount;
    object.amount_refunded = refundedSoFar;
    object.refunded = refundedSoFar === fields.amount;
    object.payment_method_details.card.amount_authorized = fields.amount;
    return event;
  }
  object.id = fields.intentId;
  object.client_secret = `${fields.intentId}_secret_test`;
  object.amount = fields.amount;
  if (type === "payment_intent.succeeded") object.amount_received = fields.amount;
  if (type === "payment_intent.payment_failed") {
    const charge = fields.failedChargeId ?? newChargeId();
    object.latest_charge = charge;
    object.last_payment_error.charge = charge;
  }
  return event;
}

/** `Stripe-Signature` for this payload, computed by the `stripe` package (its async form: workerd's crypto is async). */
export function stripeSignature(payload: string, secret = STRIPE_WEBHOOK_SECRET, timestamp?: number): Promise<string> {
  return Stripe.webhooks.generateTestHeaderStringAsync({
    payload,
    secret,
    ...(timestamp === undefined ? {} : { timestamp }),
    cryptoProvider: Stripe.createSubtleCryptoProvider(),
  });
}
