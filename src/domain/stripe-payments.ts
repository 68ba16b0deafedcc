/**
 * Stripe's payments in our terms (docs/API.md, Stripe): the PaymentIntent an
 * order asks for, and what Stripe's webhook events mean: which order an event
 * is for and the payment events it brings there. Pure: the route has checked
 * the signature; the order applies the payment events exactly like the
 * provider-neutral webhook's (payments.ts).
 *
 *   payment_intent.succeeded       -> payment.succeeded, transaction = the PaymentIntent
 *   payment_intent.payment_failed  -> payment.failed, transaction = the failed charge
 *                                     (or the event, for an attempt that made no charge)
 *   payment_intent.canceled        -> payment.failed, transaction = `<intent>:canceled`
 *   charge.refunded                -> the intent's success (a refunded charge was paid,
 *                                     so a refund that overtakes it still lands on a paid
 *                                     order; a duplicate once the success is in), then
 *                                     payment.refunded of that intent, transaction =
 *                                     `<charge>:refunded:<amount_refunded>`
 *
 * Stripe reports the running total refunded on a charge, not each refund's
 * amount (refund ids are not in the event): a running total names one refund
 * state, so two partial refunds are two transactions and a redelivery is one.
 */
import { z } from "zod";
import type { Order, PaymentEvent } from "./order";

/** The four event types we act on (the ones to select in Stripe's dashboard). */
export const STRIPE_EVENT_TYPES = [
  "payment_intent.succeeded",
  "payment_intent.payment_failed",
  "payment_intent.canceled",
  "charge.refunded",
] as const;

/** The metadata key that names the order on the PaymentIntent (copied by Stripe onto its charges). */
export const ORDER_METADATA_KEY = "orderId";

/**
 * Stripe counts these currencies in other units than ISO 4217's minor unit
 * (ours): ISK stays two-decimal in Stripe's API, so 1 krona is 100 there
 * (docs.stripe.com/currencies, special cases). Every other currency is the same.
 */
const STRIPE_UNITS_PER_MINOR_UNIT: Readonly<Record<string, number>> = { ISK: 100 };

/** Our amount (minor units of `currency`, uppercase ISO 4217) as Stripe's integer amount. */
export function toStripeAmount(amount: number, currency: string): number {
  return amount * (STRIPE_UNITS_PER_MINOR_UNIT[currency] ?? 1);
}

/** Stripe's amount in our minor units, or null when it is not a whole number of them. */
export function fromStripeAmount(amount: number, currency: string): number | null {
  const scaled = amount / (STRIPE_UNITS_PER_MINOR_UNIT[currency] ?? 1);
  return Number.isSafeInteger(scaled) ? scaled : null;
}

/** Stripe's lowercase currency code as ours. */
export function fromStripeCurrency(currency: string): string {
  return currency.toUpperCase();
}

/** What checkout asks Stripe for: the order's total in Stripe's units, its currency, and the order on the intent. */
export function paymentIntentRequest(order: Pick<Order, "orderId" | "total" | "currency">) {
  return {
    amount: toStripeAmount(order.total, order.currency),
    currency: order.currency.toLowerCase(),
    metadata: { [ORDER_METADATA_KEY]: order.orderId },
    automatic_payment_methods: { enabled: true },
  };
}

/**
 * Stripe's idempotency key for the order's intent: asking again (a retried
 * checkout, a later `payment-intent` call) returns the same intent. Stripe
 * keeps keys for 24 hours, longer than an order stays payable.
 */
export function paymentIntentKey(orderId: string): string {
  return `edge-cart:payment-intent:${orderId}`;
}

const StripeId = z.string().regex(/^[A-Za-z0-9_]{1,255}$/, "a Stripe object id");
const StripeAmount = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const StripeCurrency = z.string().regex(/^[a-z]{3}$/, "a lowercase ISO 4217 code");
const Metadata = z.record(z.string(), z.string()).nullish();
/** An id, or the object itself when it was expanded. */
const Ref = z.union([StripeId, z.looseObject({ id: StripeId })]).nullish();

/** The parts of a PaymentIntent we read (docs.stripe.com/api/payment_intents/object). */
const PaymentIntentObject = z.looseObject({
  id: StripeId,
  object: z.literal("payment_intent"),
  amount: StripeAmount,
  amount_received: StripeAmount,
  currency: StripeCurrency,
  metadata: Metadata,
  cancellation_reason: z.string().max(100).nullish(),
  last_payment_error: z
    .looseObject({
      charge: StripeId.optional(),
      code: z.string().max(100).optional(),
      decline_code: z.string().max(100).optional(),
      message: z.string().optional(),
    })
    .nullish(),
});

/** The parts of a Charge we read (docs.stripe.com/api/charges/object). */
const ChargeObject = z.looseObject({
  id: StripeId,
  object: z.literal("charge"),
  amount_captured: StripeAmount,
  amount_refunded: StripeAmount,
  currency: StripeCurrency,
  metadata: Metadata,
  payment_intent: Ref,
});

/** The event envelope (docs.stripe.com/api/events/object); `data.object` is read per type. */
export const StripeEventSchema = z.looseObject({
  id: StripeId,
  object: z.literal("event"),
  type: z.string().max(200),
  data: z.looseObject({ object: z.unknown() }),
});
export type StripeEvent = z.infer<typeof StripeEventSchema>;

export type StripeOutcome =
  /** Not ours to act on: another event type, or an object no order of ours made (no metadata.orderId). */
  | { kind: "ignored"; reason: string }
  /** One of our event types whose object we cannot read: kept for an operator, not retried. */
  | { kind: "unreadable"; reason: string }
  /** The payment events to apply to the order, in order. */
  | { kind: "payment"; orderId: string; payments: PaymentEvent[] };

function refId(ref: z.infer<typeof Ref>): string | null {
  if (!ref) return null;
  return typeof ref === "string" ? ref : ref.id;
}

function issues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.join(".") || "(object)"}: ${i.message}`)
    .join("; ");
}

/** Control characters and lone surrogates out, and a bounded length: Stripe's message ends up in Postgres. */
function plainText(text: string, max = 300): string {
  return text.replace(/[\p{Cc}\p{Cs}]/gu, " ").slice(0, max);
}

function failureReason(error: z.infer<typeof PaymentIntentObject>["last_payment_error"]): string {
  if (!error) return "reported failed by Stripe";
  const code = [error.code, error.decline_code].filter(Boolean).join("/");
  const words = error.message ? plainText(error.message) : "no message";
  return `reported failed by Stripe${code ? ` (${plainText(code, 100)})` : ""}: ${words}`;
}

/** The event's object read through `schema` and the order it names, or why there is nothing to apply. */
function readObject<T extends { id: string; metadata?: Record<string, string> | null }>(
  event: StripeEvent,
  schema: z.ZodType<T>,
): { object: T; orderId: string } | StripeOutcome {
  const parsed = schema.safeParse(event.data.object);
  if (!parsed.success) return { kind: "unreadable", reason: `${event.type}: ${issues(parsed.error)}` };
  const orderId = parsed.data.metadata?.[ORDER_METADATA_KEY];
  if (!orderId) return { kind: "ignored", reason: `${parsed.data.id} carries no metadata.${ORDER_METADATA_KEY}` };
  return { object: parsed.data, orderId };
}

/** What a verified Stripe event means for our orders. */
export function stripeOutcome(event: StripeEvent): StripeOutcome {
  switch (event.type) {
    case "payment_intent.succeeded":
    case "payment_intent.payment_failed":
    case "payment_intent.canceled":
      return intentChanged(event);
    case "charge.refunded":
      return chargeRefunded(event);
    default:
      return { kind: "ignored", reason: `${event.type} is not an event this service acts on` };
  }
}

function intentChanged(event: StripeEvent): StripeOutcome {
  const read = readObject(event, PaymentIntentObject);
  if ("kind" in read) return read;
  const { object: intent, orderId } = read;
  const currency = fromStripeCurrency(intent.currency);
  const base = { eventId: event.id, orderId, currency };
  if (event.type === "payment_intent.succeeded") {
    const amount = fromStripeAmount(intent.amount_received, currency);
    if (amount === null)
      return { kind: "unreadable", reason: `${intent.id}: amount_received is not whole ${currency}` };
    return {
      kind: "payment",
      orderId,
      payments: [{ ...base, type: "payment.succeeded", transactionId: intent.id, amount }],
    };
  }
  const failed = event.type === "payment_intent.payment_failed";
  return {
    kind: "payment",
    orderId,
    payments: [
      {
        ...base,
        type: "payment.failed",
        transactionId: failed ? (intent.last_payment_error?.charge ?? event.id) : `${intent.id}:canceled`,
        amount: fromStripeAmount(intent.amount, currency) ?? 0,
        reason: failed
          ? failureReason(intent.last_payment_error)
          : `PaymentIntent canceled (${plainText(intent.cancellation_reason ?? "no reason given", 100)})`,
      },
    ],
  };
}

function chargeRefunded(event: StripeEvent): StripeOutcome {
  const read = readObject(event, ChargeObject);
  if ("kind" in read) return read;
  const { object: charge, orderId } = read;
  const currency = fromStripeCurrency(charge.currency);
  const captured = fromStripeAmount(charge.amount_captured, currency);
  const refunded = fromStripeAmount(charge.amount_refunded, currency);
  if (captured === null || refunded === null)
    return { kind: "unreadable", reason: `${charge.id}: an amount is not whole ${currency}` };
  const intentId = refId(charge.payment_intent);
  const payments: PaymentEvent[] = [];
  if (intentId) {
    payments.push({
      eventId: `${event.id}:payment`,
      type: "payment.succeeded",
      orderId,
      transactionId: intentId,
      amount: captured,
      currency,
    });
  }
  payments.push({
    eventId: event.id,
    type: "payment.refunded",
    orderId,
    transactionId: `${charge.id}:refunded:${charge.amount_refunded}`,
    amount: refunded,
    currency,
    refundOf: intentId ?? charge.id,
    runningTotal: true,
  });
  return { kind: "payment", orderId, payments };
}
