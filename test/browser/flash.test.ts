// A flash sale in real browsers: 10 buyers wait on the countdown to saleStartsAt, press
// "Buy now" together for 3 units; exactly 3 get an order, the other 7 are told SOLD_OUT.
// (Contention at scale is the e2e flash sale's and the workers tests' job: 1,000 buys for 100
// units. Here ten pages show the page's own behaviour; each page is a Chromium renderer on two cores.)
import { afterAll, beforeAll, expect, it } from "vitest";
import { newId, userToken } from "../support/e2e.ts";
import { describeInBrowser, screenshot, startBrowserStack, type BrowserStack } from "../support/browser.ts";

let s: BrowserStack;
const run = newId("f");
const sku = `flash-${run}`;
const BUYERS = 10;
const UNITS = 3;

beforeAll(async () => {
  s = await startBrowserStack();
});
afterAll(() => s?.stop());

describeInBrowser("flash sale page", () => {
  it(`${BUYERS} buyers, ${UNITS} units: exactly ${UNITS} orders, SOLD_OUT shown to the rest`, async () => {
    const putSale = (startsInMs: number) =>
      s.stack.api.request("PUT", `/v1/admin/skus/${sku}`, {
        headers: s.stack.api.admin(),
        body: {
          productId: `p-${run}`,
          name: "Limited sneaker",
          merchantId: "m-drops",
          price: 12900,
          currency: "USD",
          status: "active",
          stock: UNITS,
          purchaseLimit: 1,
          saleStartsAt: new Date(Date.now() + startsInMs).toISOString(),
        },
      });
    expect((await putSale(10 * 60_000)).status).toBe(201);

    const buyers = await Promise.all(
      Array.from({ length: BUYERS }, async (_, i) => {
        const context = await s.browser.newContext({ baseURL: s.stack.baseUrl, viewport: { width: 390, height: 800 } });
        const userId = `buyer-${run}-${i}`;
        const token = await userToken(s.stack.secrets.JWT_SECRET, userId, 3600);
        await context.addInitScript(
          ([u, t]) => {
            localStorage.setItem("edgeCart.userId", u!);
            localStorage.setItem("edgeCart.token", t!);
          },
          [userId, token],
        );
        const page = await context.newPage();
        page.setDefaultTimeout(30_000);
        await page.goto(`/shop/#/flash/${sku}`);
        return { context, page };
      }),
    );
    // A spectator who never buys: its page can only learn the units left by the push.
    const spectator = await s.device({ width: 390, height: 800 });
    await spectator.page.goto(`/shop/#/flash/${sku}`);
    await expect.poll(() => spectator.page.locator("body").getAttribute("data-stock-live")).toBe("on");
    const first = buyers[0]!.page;
    await expect.poll(() => first.getByTestId("sale-countdown").textContent()).toMatch(/^Sale starts in \d+:\d\d$/);
    expect(await first.getByRole("button", { name: "Buy now" }).isDisabled()).toBe(true);
    expect(await first.getByTestId("units-left").textContent()).toBe(String(UNITS));
    await screenshot(first, "flash-countdown");
    // The merchant brings the sale forward; the new start is pushed to the pages.
    expect((await putSale(8_000)).status).toBe(200);

    // The button enables itself at saleStartsAt; everyone presses it then.
    await Promise.all(
      buyers.map(({ page }) => page.getByRole("button", { name: "Buy now" }).click({ timeout: 40_000 })),
    );
    const outcomes = await Promise.all(
      buyers.map(async ({ page }) => {
        const result = page.getByTestId("flash-result");
        await expect.poll(() => result.textContent(), { timeout: 30_000 }).not.toBe("");
        const code = await result
          .locator("[data-code]")
          .getAttribute("data-code")
          .catch(() => null);
        return code ?? "OK";
      }),
    );
    const tally: Record<string, number> = {};
    for (const o of outcomes) tally[o] = (tally[o] ?? 0) + 1;
    expect(tally).toEqual({ OK: UNITS, SOLD_OUT: BUYERS - UNITS });
    const counters = await s.stack.api.skuCounters(sku);
    expect(counters.reserved + counters.sold).toBe(UNITS);
    expect(counters.available).toBe(0);

    // Pushed (its fallback re-read is every 30 s): the spectator sees the units go.
    await expect.poll(() => spectator.page.getByTestId("units-left").textContent(), { timeout: 15_000 }).toBe("0");
    const loser = buyers[outcomes.indexOf("SOLD_OUT")]!.page;
    await expect.poll(() => loser.locator("#notice h2").textContent()).toBeTruthy();
    await expect.poll(() => loser.getByTestId("units-left").textContent(), { timeout: 15_000 }).toBe("0");
    await screenshot(loser, "flash-sold-out");
    await screenshot(buyers[outcomes.indexOf("OK")]!.page, "flash-won");
    await Promise.all(buyers.map(({ context }) => context.close()));
  });
});
