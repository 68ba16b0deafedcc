// Starts the real backing services for the workerd test project (Node side):
// a fresh migrated Postgres database, the Neon WebSocket proxy and the Upstash
// REST adapter in front of the machine's Redis, the local Stripe stand-in, and the static API reference.
// The Worker under test gets their addresses as bindings (vitest.config.ts).
import type { TestProject } from "vitest/node";
import { buildDocsAssets } from "../../dev/docs-assets.ts";
import { startStripeStandIn } from "../../dev/stripe-stand-in.ts";
import { startTestServices } from "./services.ts";

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
    neonWsProxy: string;
    upstashUrl: string;
    upstashToken: string;
    stripeApiUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // The static assets ([assets] in wrangler.toml): wrangler builds them for dev and deploy, the tests here.
  buildDocsAssets();
  const services = await startTestServices();
  project.provide("databaseUrl", services.databaseUrl);
  project.provide("neonWsProxy", services.neonWsProxy);
  project.provide("upstashUrl", services.upstashUrl);
  project.provide("upstashToken", services.upstashToken);
  // Slow answers stay short: the tests that use them set STRIPE_TIMEOUT_MS well below.
  const stripe = await startStripeStandIn({ slowMs: 2000 });
  project.provide("stripeApiUrl", stripe.url);
  return async () => {
    await stripe.close();
    await services.stop();
  };
}
