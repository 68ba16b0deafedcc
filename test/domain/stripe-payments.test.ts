// Stripe's events in our terms (src/domain/stripe-payments.ts), from fixtures in the shape of
// Stripe's API reference, and Stripe's signature checked by the official library
// (src/payments/stripe.ts) against headers the same library generates.
import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import {
  fromStripeAmount,
  paymentIntentRequest,
  stripeOutcome,
  StripeEventSchema,
  toStripeAmount,
} from "../../src/domain/stripe-payments";
import { stripeSignatureValid } from "../../src/payments/stripe";
import { STRIPE_WEBHOOK_SECRET, stripeEvent } from "../support/stripe";

const orderId = "ord_0123456789abcdef0123456789abcdef";
const outcome = (event: unknown) => stripeOutcome(StripeEventSchema.parse(event));

describe("Stripe events as payment events", () => {
  it("payment_intent.succeeded pays with the intent as the transaction, in our currency code", () => {
    const event = stripeEvent("payment_intent.succeeded", { orderId, intentId: "pi_A", amount: 2500 });
    expect(outcome(event)).toEqual({
      kind: "payment",
      orderId,
      payments: [
        { eventId: event.id, type: "payment.succeeded", orderId, transactionId: "pi_A", amount: 2500, currency: "USD" },
      ],
    });
  });

  it("payment_intent.payment_failed is a failure of its charge, with Stripe's reason", () => {
    const event = stripeEvent("payment_intent.payment_failed", {
      orderId,
      intentId: "pi_A",
      amount: 2500,
      failedChargeId: "ch_F",
    });
    const [failure] = (outcome(event) as { payments: unknown[] }).payments;
    expect(failure).toMatchObject({ type: "payment.failed", transactionId: "ch_F", eventId: event.id });
    expect((failure as { reason: string }).reason).toBe(
      "reported failed by Stripe (card_declined/insufficient_funds): Your card has insufficient funds.",
    );
    // An attempt that made no charge (e.g. failed authentication) is its own event.
    delete event.data.object.last_payment_error.charge;
    expect(outcome(event)).toMatchObject({ payments: [{ transactionId: event.id }] });
  });

  it("payment_intent.canceled is recorded as a failure of the intent", () => {
    const event = stripeEvent("payment_intent.canceled", { orderId, intentId: "pi_A", amount: 2500 });
    expect(outcome(event)).toMatchObject({
      payments: [
        { type: "payment.failed", transactionId: "pi_A:canceled", reason: "PaymentIntent canceled (abandoned)" },
      ],
    });
  });

  it("charge.refunded: the intent's success first, then a refund by running total of that intent", () => {
    const event = stripeEvent("charge.refunded", {
      orderId,
      intentId: "pi_A",
      chargeId: "ch_A",
      amount: 2500,
      amountRefunded: 1000,
    });
    expect(outcome(event)).toEqual({
      kind: "payment",
      orderId,
      payments: [
        {
          eventId: `${event.id}:payment`,
          type: "payment.succeeded",
          orderId,
          transactionId: "pi_A",
          amount: 2500,
          currency: "USD",
        },
        {
          eventId: event.id,
          type: "payment.refunded",
          orderId,
          transactionId: "ch_A:refunded:1000",
          amount: 1000,
          currency: "USD",
          refundOf: "pi_A",
          runningTotal: true,
        },
      ],
    });
    // A charge made without an intent refunds the charge itself.
    event.data.object.payment_intent = null;
    expect(outcome(event)).toMatchObject({ payments: [{ type: "payment.refunded", refundOf: "ch_A" }] });
  });

  const succeeded = () => stripeEvent("payment_intent.succeeded", { orderId, intentId: "pi_A", amount: 2500 });

  it("ignores other event types and intents no order of ours made", () => {
    const event = succeeded();
    expect(outcome({ ...event, type: "customer.created" })).toMatchObject({ kind: "ignored" });
    const foreign = structuredClone(event);
    foreign.data.object.metadata = {};
    expect(outcome(foreign)).toMatchObject({ kind: "ignored", reason: "pi_A carries no metadata.orderId" });
  });

  it("does not ignore an event whose object it cannot read: it is unreadable", () => {
    const broken = succeeded();
    broken.data.object.amount_received = "2500";
    expect(outcome(broken)).toMatchObject({ kind: "unreadable" });
  });

  it("amounts in Stripe's units: ISK is two-decimal at Stripe, every other currency as ours", () => {
    expect(toStripeAmount(2500, "USD")).toBe(2500);
    expect(toStripeAmount(500, "JPY")).toBe(500);
    expect(toStripeAmount(4990, "ISK")).toBe(499_000);
    expect(fromStripeAmount(499_000, "ISK")).toBe(4990);
    expect(fromStripeAmount(499_050, "ISK")).toBeNull();
    const event = stripeEvent("payment_intent.succeeded", {
      orderId,
      intentId: "pi_A",
      amount: 499_050,
      currency: "isk",
    });
    expect(outcome(event)).toMatchObject({ kind: "unreadable" });
    expect(paymentIntentRequest({ orderId, total: 4990, currency: "ISK" })).toEqual({
      amount: 499_000,
      currency: "isk",
      metadata: { orderId },
      automatic_payment_methods: { enabled: true },
    });
  });
});

describe("Stripe-Signature, signed by the stripe package", () => {
  const payload = JSON.stringify(stripeEvent("payment_intent.succeeded", { orderId, intentId: "pi_A", amount: 2500 }));
  const sign = (secret: string, timestamp = Math.floor(Date.now() / 1000)) =>
    Stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp });

  it("accepts Stripe's signature, also as one of several v1 values (secret rotation)", async () => {
    expect(await stripeSignatureValid(STRIPE_WEBHOOK_SECRET, sign(STRIPE_WEBHOOK_SECRET), payload)).toBe(true);
    const old = sign("whsec_rolled_away");
    const current = sign(STRIPE_WEBHOOK_SECRET);
    const both = `${old},${current.split(",").find((p) => p.startsWith("v1="))}`;
    expect(both.match(/v1=/g)).toHaveLength(2);
    expect(await stripeSignatureValid(STRIPE_WEBHOOK_SECRET, both, payload)).toBe(true);
  });

  it("refuses another secret, a stale timestamp, an altered body, and no header", async () => {
    expect(await stripeSignatureValid(STRIPE_WEBHOOK_SECRET, sign("whsec_wrong"), payload)).toBe(false);
    const stale = sign(STRIPE_WEBHOOK_SECRET, Math.floor(Date.now() / 1000) - 301);
    expect(await stripeSignatureValid(STRIPE_WEBHOOK_SECRET, stale, payload)).toBe(false);
    const reformatted = JSON.stringify(JSON.parse(payload), null, 2);
    expect(await stripeSignatureValid(STRIPE_WEBHOOK_SECRET, sign(STRIPE_WEBHOOK_SECRET), reformatted)).toBe(false);
    expect(await stripeSignatureValid(STRIPE_WEBHOOK_SECRET, undefined, payload)).toBe(false);
    expect(await stripeSignatureValid(STRIPE_WEBHOOK_SECRET, "t=abc,v1=zz", payload)).toBe(false);
  });
});
