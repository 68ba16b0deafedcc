// Starts the real backing services for the workerd test project (Node side):
// a fresh migrated Postgres database, the Neon WebSocket proxy and the Upstash
// REST adapter in front of the machine's Redis, the static API reference, an identity provider's
// key set endpoint (jwks-server.ts) and the local Stripe stand-in. The Worker under test gets the
// services' addresses as bindings (vitest.config.ts); the tests read the key set server's with inject().
import type { TestProject } from "vitest/node";
import { buildDocsAssets } from "../../dev/docs-assets.ts";
import { startStripeStandIn } from "../../dev/stripe-stand-in.ts";
import { startJwksServer } from "./jwks-server.ts";
import { startTestServices } from "./services.ts";
import { quietWorkerdNoise } from "./workerd-noise.ts";

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
    neonWsProxy: string;
    upstashUrl: string;
    upstashToken: string;
    jwksServer: string;
    jwksRefusedUrl: string;
    stripeApiUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // workerd's expected disconnect lines, printed past vitest's console capture (workerd-noise.ts).
  const loud = quietWorkerdNoise();
  // The static assets ([assets] in wrangler.toml): wrangler builds them for dev and deploy, the tests here.
  buildDocsAssets();
  const services = await startTestServices();
  project.provide("databaseUrl", services.databaseUrl);
  project.provide("neonWsProxy", services.neonWsProxy);
  project.provide("upstashUrl", services.upstashUrl);
  project.provide("upstashToken", services.upstashToken);
  const jwks = await startJwksServer();
  project.provide("jwksServer", jwks.url);
  project.provide("jwksRefusedUrl", jwks.refusedUrl);
  // Slow answers stay short: the tests that use them set STRIPE_TIMEOUT_MS well below.
  const stripe = await startStripeStandIn({ slowMs: 2000 });
  project.provide("stripeApiUrl", stripe.url);
  return async () => {
    await jwks.stop();
    await stripe.close();
    await services.stop();
    loud();
  };
}
