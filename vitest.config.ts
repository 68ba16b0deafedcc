import { readFileSync } from "node:fs";
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { configDefaults, defineConfig } from "vitest/config";
import { StackAwareSequencer } from "./test/support/sequencer.ts";

/**
 * The `stripe` package ships source maps whose sources it does not ship: loading it as
 * published makes Vite warn once per module (~270 lines). Its files are loaded without
 * their source-map comment instead; nothing else changes.
 */
const stripeWithoutSourceMaps = {
  name: "stripe-without-source-maps",
  enforce: "pre" as const,
  load(id: string) {
    if (!/[\\/]node_modules[\\/]stripe[\\/].*\.js$/.test(id)) return null;
    return readFileSync(id, "utf8").replace(/^\/\/# sourceMappingURL=.*$/m, "");
  },
};

/** Secrets the Worker under test runs with (the dev defaults' test twins). */
export const TEST_SECRETS = {
  JWT_SECRET: "test-jwt-secret",
  ADMIN_TOKEN: "test-admin-token",
  PAYMENT_WEBHOOK_SECRET: "test-webhook-secret",
  STRIPE_WEBHOOK_SECRET: "whsec_test_edge_cart",
};

/**
 * Test files run at once, over all projects in one pool (docs/testing.md). Most of an e2e
 * file's time is spent waiting (a stack starting, a crashed Worker's alarms coming due), so more
 * files than cores keeps the machine busy; TEST_WORKERS=1 runs one file at a time.
 */
const TEST_WORKERS = Number(process.env.TEST_WORKERS ?? 3);

// wrangler's informational lines ("Using secrets defined in .dev.vars", once per workers file)
// are left out; its warnings and errors stay. E2E_VERBOSE shows everything.
if (!process.env.E2E_VERBOSE) process.env.WRANGLER_LOG ??= "warn";

/**
 * Workers files that need the whole database to themselves, each in a project of its own (its own
 * database, Redis and queues through its own global setup), so they run beside everything else:
 *  - the alert tests hold a table locked (every other file's queue consumer waits on it), poison
 *    events, and judge counts (open drift, dead letters, queue lag) over the whole database;
 *  - the ops test reads the stock view, which lists the database's first 500 SKUs and asks each
 *    of their actors: in the shared database, the other files' SKUs push its own out of the list.
 */
const OWN_DATABASE: Record<string, string> = {
  "workers-alerts": "test/cron/alerts.test.ts",
  "workers-ops": "test/http/ops.test.ts",
};

/** A project whose files run inside workerd against a fresh database and Redis of its own (test/support/global-setup.ts). */
function workersProject(name: string, files: { include: string[]; exclude?: string[] }) {
  return {
    plugins: [
      stripeWithoutSourceMaps,
      cloudflareTest(({ inject }) => ({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            ...TEST_SECRETS,
            // Production behaviour, but actors' clocks may be advanced by tests (src/actors/clock.ts).
            ENVIRONMENT: "test",
            ALLOWED_ORIGINS: "https://shop.test, https://admin.shop.test",
            DATABASE_URL: inject("databaseUrl"),
            NEON_WS_PROXY: inject("neonWsProxy"),
            UPSTASH_REDIS_REST_URL: inject("upstashUrl"),
            UPSTASH_REDIS_REST_TOKEN: inject("upstashToken"),
            // The local Stripe stand-in (dev/stripe-stand-in.ts). No STRIPE_SECRET_KEY here: checkout
            // creates no intent unless a test turns Stripe on for its own requests (test/http/stripe-intents.test.ts).
            STRIPE_API_URL: inject("stripeApiUrl"),
            // Bursts of several hundred concurrent requests are correctness tests here, not overload:
            // no shedding (test/http/overload.test.ts turns it on for itself).
            MAX_IN_FLIGHT: "0",
            // One info line per request, actor call and applied event would bury the test report.
            LOG_LEVEL: "warn",
          },
          // A buyer gets 30 buy requests per 10 s in tests, a guest address 60 (production: wrangler.toml).
          ratelimits: {
            BUY_RATE_LIMITER: { namespace_id: "1001", simple: { limit: 30, period: 10 } },
            GUEST_IP_RATE_LIMITER: { namespace_id: "1002", simple: { limit: 60, period: 10 } },
          },
        },
      })),
    ],
    test: {
      name,
      include: files.include,
      exclude: [...configDefaults.exclude, ...(files.exclude ?? [])],
      globalSetup: ["test/support/global-setup.ts"],
      testTimeout: 60_000,
      hookTimeout: 60_000,
    },
  };
}

// Four kinds of project (docs/testing.md):
//  - node:    pure domain rules and the local-stack tools (dev/), in Node.
//  - workers: actors, HTTP routes, the queue consumer and cron inside workerd
//             (Miniflare), against the real Postgres and Redis of this machine.
//  - workers-alerts, workers-ops: the same, for files that need a database of their own (OWN_DATABASE).
//  - e2e:     the whole local stack (`npm run dev` pieces) driven over real HTTP.
//  - browser: the storefront in a Chromium (playwright-core) against that stack; its globalSetup
//             finds the browser once, and without one the tests skip with one line.
// Every file gets its own stack or its own ids, so files of every project run side by side.
export default defineConfig({
  test: {
    maxWorkers: TEST_WORKERS,
    // A passing test's console output (expected warnings, measurements) is dropped; a failing one's is shown.
    silent: "passed-only",
    // One line per file, a line for each test over 10 s, and the summary; `--reporter=verbose` lists every test.
    reporters: [["default", { summary: false }]],
    slowTestThreshold: 10_000,
    // Slowest files first, and only a few local stacks (e2e, browser files) at a time (test/support/sequencer.ts).
    sequence: { sequencer: StackAwareSequencer },
    projects: [
      {
        // The logger (src/log/logger.ts) reads LOG_LEVEL from workerd's module; Node gets a stand-in.
        resolve: {
          alias: { "cloudflare:workers": new URL("./test/support/cloudflare-workers.ts", import.meta.url).pathname },
        },
        test: {
          name: "node",
          environment: "node",
          include: ["test/domain/**/*.test.ts", "test/dev/**/*.test.ts"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      workersProject("workers", {
        include: [
          "test/actors/**/*.test.ts",
          "test/http/**/*.test.ts",
          "test/consumer/**/*.test.ts",
          "test/cron/**/*.test.ts",
        ],
        exclude: Object.values(OWN_DATABASE),
      }),
      ...Object.entries(OWN_DATABASE).map(([name, file]) => workersProject(name, { include: [file] })),
      {
        test: {
          name: "browser",
          environment: "node",
          include: ["test/browser/**/*.test.ts"],
          globalSetup: ["test/support/browser-setup.ts"],
          testTimeout: 180_000,
          hookTimeout: 240_000,
        },
      },
      {
        test: {
          name: "e2e",
          environment: "node",
          include: ["test/e2e/**/*.test.ts"],
          testTimeout: 180_000,
          hookTimeout: 240_000,
        },
      },
    ],
  },
});
