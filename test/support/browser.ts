// Browser tests (test/browser): a Chromium driven by playwright-core, against the local stack
// started like the end-to-end tests (test/support/e2e.ts). Nothing downloads a browser build:
// the project's globalSetup (browser-setup.ts) finds the one the machine has (Debian's
// chromium in CI: .ci/run installs it with apt-get), and without one the tests are skipped.
import path from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { describe, inject } from "vitest";
import { buildWebAssets } from "../../dev/storefront-assets.ts";
import { ROOT } from "../../dev/util.ts";
import { eventually, startE2eStack, type E2eStack } from "./e2e.ts";

/** The browser browser-setup.ts found, or null. */
export const CHROMIUM = inject("chromiumPath");

/** describe() of a browser test: skipped when there is no browser (the run said so in one line). */
export const describeInBrowser = describe.skipIf(CHROMIUM === null);

/**
 * Playwright itself passes --headless and a fresh temporary --user-data-dir per launch (it
 * refuses a --user-data-dir in args); the rest keeps chromium quiet and off the network.
 */
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
];

export interface BrowserStack {
  stack: E2eStack;
  browser: Browser;
  /** A fresh browser context (its own localStorage: another device) on the storefront. */
  device(opts?: { width?: number; height?: number }): Promise<{ context: BrowserContext; page: Page }>;
  stop(): Promise<void>;
}

/** `extraVars`: more Worker vars (e.g. Stripe's keys and the local stand-in's address). */
export async function startBrowserStack(extraVars: Record<string, string> = {}): Promise<BrowserStack> {
  buildWebAssets();
  const stack = await startE2eStack({ vars: { ENVIRONMENT: "development", ...extraVars } });
  let browser: Browser;
  try {
    if (!CHROMIUM) throw new Error("startBrowserStack: no browser (use describeInBrowser)");
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
  } catch (err) {
    await stack.stop();
    throw err;
  }
  const contexts: BrowserContext[] = [];
  return {
    stack,
    browser,
    async device(opts = {}) {
      const context = await browser.newContext({
        baseURL: stack.baseUrl,
        viewport: { width: opts.width ?? 1200, height: opts.height ?? 900 },
      });
      contexts.push(context);
      const page = await context.newPage();
      page.setDefaultTimeout(20_000);
      await page.goto("/shop/");
      await page.waitForSelector("body[data-ready=true]");
      return { context, page };
    },
    async stop() {
      for (const c of contexts) await c.close().catch(() => undefined);
      await browser.close().catch(() => undefined);
      await stack.stop();
    },
  };
}

/** Waits until the catalog listing (Postgres, fed by the queue) shows every SKU given. */
export async function waitForListing(stack: E2eStack, skuIds: string[]): Promise<void> {
  await eventually(
    async () => {
      const res = await stack.api.get("/v1/products?limit=100");
      const listed = new Set<string>(
        res.body.items.flatMap((p: { skus: { skuId: string }[] }) => p.skus.map((s) => s.skuId)),
      );
      for (const id of skuIds) if (!listed.has(id)) throw new Error(`${id} not listed yet`);
    },
    { timeoutMs: 30_000 },
  );
}

export const SCREENSHOT_DIR = path.join(ROOT, "docs");

/** Saves docs/<file> when SCREENSHOTS=1; otherwise takes none (a picture nobody looks at costs Chromium a second). */
export async function saveScreenshot(page: Page, file: string): Promise<void> {
  if (process.env.SCREENSHOTS !== "1") return;
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, file), fullPage: false });
}

/** Saves docs/storefront-<name>.png (see saveScreenshot). */
export function screenshot(page: Page, name: string): Promise<void> {
  return saveScreenshot(page, `storefront-${name}.png`);
}

/** Opens the cart drawer unless it is open. */
export async function openCart(page: Page): Promise<void> {
  const toggle = page.locator("#cart-toggle");
  if ((await toggle.getAttribute("aria-expanded")) !== "true") await toggle.click();
}

/** The order page's status, or the problem the page shows instead (so a failure says why). */
export async function orderStatus(page: Page): Promise<string | null> {
  const notice = page.locator("#notice:not(.ok)");
  if (await notice.isVisible()) return `problem shown: ${await notice.textContent()}`;
  return page
    .getByTestId("order-status")
    .textContent({ timeout: 1000 })
    .catch(() => null);
}
