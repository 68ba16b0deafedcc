/**
 * The order's Stripe PaymentIntent (docs/API.md, Stripe). Asked for after the
 * order is placed, outside every actor: a slow or failing Stripe never holds
 * a stock transaction. Stripe refusing the payment cancels the order, so its
 * stock is released at once; Stripe not answering in time leaves the order
 * as it is, and `POST /v1/orders/{orderId}/payment-intent` asks again (the
 * same intent: Stripe's idempotency key is derived from the order id).
 */
import { z } from "zod";
import { orderActor } from "../actors/order/order-routing";
import { DomainError } from "../domain/errors";
import type { Order } from "../domain/order";
import { orderPaymentIntent, stripeEnabled } from "../payments/stripe";
import type { PlacedOrderView } from "./order-views";
import { placedView } from "./order-views";
import type { App } from "./route";
import { route } from "./route";
import { OrderParams } from "./validation/orders";

export const PAYMENT_INTENT_RETRY_SECONDS = 5;

/** Stripe refuses this order's payment: release its stock now rather than at expiry, and say so. */
async function refuse(env: Env, order: Order, detail: string): Promise<never> {
  await orderActor(env, order.orderId)?.cancel(order.ownerId);
  throw new DomainError(
    "PAYMENT_REFUSED",
    `Stripe refuses this payment (${detail}); order ${order.orderId} is cancelled and its stock released`,
  );
}

/**
 * What checkout and flash buy answer: the placed order, with Stripe's
 * `clientSecret` when Stripe is on and the order is PENDING (null when Stripe
 * did not answer within STRIPE_TIMEOUT_MS).
 */
export async function placedWithIntent(env: Env, order: Order): Promise<PlacedOrderView> {
  const view = placedView(order);
  if (!stripeEnabled(env) || order.status !== "PENDING") return view;
  const intent = await orderPaymentIntent(env, order);
  if (intent.kind === "refused") return refuse(env, order, intent.detail);
  return { ...view, clientSecret: intent.kind === "created" ? intent.clientSecret : null };
}

const PaymentIntentSchema = z
  .object({
    orderId: z.string(),
    clientSecret: z.string().meta({ description: "for Stripe.js: `elements({ clientSecret })`, `confirmPayment`" }),
  })
  .meta({ examples: [{ orderId: "ord_5d41402abc4b2a76b9719d911017c592", clientSecret: "pi_3Pq_secret_9f2c" }] });

export function paymentIntentRoutes(app: App): void {
  route(
    app,
    {
      method: "post",
      path: "/v1/orders/{orderId}/payment-intent",
      tag: "Payments",
      summary: "The PENDING order's Stripe PaymentIntent (created once, then the same one)",
      description:
        "For an order placed while Stripe did not answer (checkout's `clientSecret: null`), or a page that lost it. 503 with Retry-After while Stripe does not answer; 422 PAYMENT_REFUSED when Stripe refuses the payment (the order is then cancelled and its stock released); 403 when STRIPE_SECRET_KEY is not set.",
      access: "cart",
      params: OrderParams,
      ok: { status: 200, description: "The intent's client secret", schema: PaymentIntentSchema },
      problems: ["NOT_FOUND", "ORDER_NOT_PENDING", "PAYMENT_REFUSED", "FORBIDDEN", "DEPENDENCY_UNAVAILABLE"],
    },
    async (c, { identity, params }) => {
      if (!stripeEnabled(c.env))
        throw new DomainError("FORBIDDEN", "PaymentIntents are not created until STRIPE_SECRET_KEY is set");
      const order = await orderActor(c.env, params.orderId)?.get();
      if (!order || order.ownerId !== identity.cartKey) throw new DomainError("NOT_FOUND", "no such order");
      if (order.status !== "PENDING") throw new DomainError("ORDER_NOT_PENDING", `the order is ${order.status}`);
      const intent = await orderPaymentIntent(c.env, order);
      if (intent.kind === "refused") return refuse(c.env, order, intent.detail);
      if (intent.kind === "unavailable") {
        throw new DomainError("DEPENDENCY_UNAVAILABLE", "Stripe does not answer right now; retry shortly", undefined, {
          "retry-after": String(PAYMENT_INTENT_RETRY_SECONDS),
        });
      }
      return c.json({ orderId: order.orderId, clientSecret: intent.clientSecret });
    },
  );
}
