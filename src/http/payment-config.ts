/**
 * What the storefront's order page pays with (docs/API.md, Stripe): Stripe's
 * Payment Element when a publishable key is configured (and the secret key
 * that makes the intents), else the development test provider, else nothing.
 * Public: a publishable key is meant for browsers.
 */
import { z } from "zod";
import { stripeEnabled } from "../payments/stripe";
import { devEnabled } from "./dev";
import type { App } from "./route";
import { route } from "./route";

export const DEFAULT_STRIPE_JS_URL = "https://js.stripe.com/v3/";

const PaymentConfigSchema = z
  .discriminatedUnion("provider", [
    z.object({
      provider: z.literal("stripe"),
      publishableKey: z.string(),
      scriptUrl: z.string().meta({ description: "Stripe.js (STRIPE_JS_URL; default https://js.stripe.com/v3/)" }),
    }),
    z.object({ provider: z.literal("test").meta({ description: "development: POST /v1/dev/orders/{id}/pay" }) }),
    z.object({ provider: z.literal("none") }),
  ])
  .meta({
    examples: [{ provider: "stripe", publishableKey: "pk_test_51Pq", scriptUrl: DEFAULT_STRIPE_JS_URL }],
  });

export function paymentConfig(env: Env): z.infer<typeof PaymentConfigSchema> {
  if (env.STRIPE_PUBLISHABLE_KEY && stripeEnabled(env))
    return {
      provider: "stripe",
      publishableKey: env.STRIPE_PUBLISHABLE_KEY,
      scriptUrl: env.STRIPE_JS_URL || DEFAULT_STRIPE_JS_URL,
    };
  return { provider: devEnabled(env) ? "test" : "none" };
}

export function paymentConfigRoutes(app: App): void {
  route(
    app,
    {
      method: "get",
      path: "/v1/payments/config",
      tag: "Payments",
      summary:
        "How the storefront pays: Stripe's Payment Element (publishable key, Stripe.js URL) or the test provider",
      description:
        "stripe when STRIPE_PUBLISHABLE_KEY and STRIPE_SECRET_KEY are set; test in development (ENVIRONMENT=development) without them; none otherwise.",
      access: "none",
      ok: { status: 200, description: "The storefront's payment settings", schema: PaymentConfigSchema },
    },
    (c) => c.json(paymentConfig(c.env)),
  );
}
