// The order page pays through Stripe's Payment Element when the service has a publishable key.
// No internet here: Stripe's API and Stripe.js are the local stand-in (dev/stripe-stand-in.ts),
// which also announces the confirmed intent to the Worker's Stripe webhook, signed like Stripe.
// The test-provider path is test/browser/shop.test.ts.
import { afterAll, beforeAll, expect, it } from "vitest";
import { startStripeStandIn, type StripeStandIn } from "../../dev/stripe-stand-in.ts";
import { newId } from "../support/e2e.ts";
import {
  type BrowserStack,
  describeInBrowser,
  openCart,
  screenshot,
  startBrowserStack,
  waitForListing,
} from "../support/browser.ts";

const WEBHOOK_SECRET = "whsec_browser_test";
let standIn: StripeStandIn;
let s: BrowserStack;
const run = newId("s");
const lamp = `lamp-${run}`;

describeInBrowser("storefront with Stripe", () => {
  beforeAll(async () => {
    standIn = await startStripeStandIn();
    s = await startBrowserStack({
      STRIPE_SECRET_KEY: "sk_test_browser",
      STRIPE_PUBLISHABLE_KEY: "pk_test_browser",
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      STRIPE_API_URL: standIn.url,
      STRIPE_JS_URL: `${standIn.url}/v3/`,
    });
    standIn.setWebhook({ url: `${s.stack.baseUrl}/v1/payments/stripe/webhook`, secret: WEBHOOK_SECRET });
    const put = await s.stack.api.putSku(lamp, {
      productId: `p-lamp-${run}`,
      name: "Desk lamp",
      merchantId: `m-${run}`,
      price: 4500,
      stock: 10,
      spec: { finish: "Brass" },
    });
    expect(put.status).toBe(201);
    await waitForListing(s.stack, [lamp]);
  });
  afterAll(async () => {
    await s?.stop();
    await standIn?.close();
  });

  it("paying on the order page through the Payment Element makes the order PAID", async () => {
    const { page } = await s.device();
    await page.getByLabel("Demo user").selectOption("bob");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect.poll(() => page.getByTestId("signed-in").textContent()).toBe("Signed in as bob");
    await page.getByRole("button", { name: "Add Desk lamp to cart" }).click();
    await expect.poll(() => page.locator("#cart-count").textContent()).toBe("1");
    await openCart(page);
    await page.getByRole("button", { name: "Check out selected" }).click();
    await expect.poll(() => page.getByTestId("order-status").textContent(), { timeout: 45_000 }).toBe("PENDING");
    const element = page.getByTestId("payment-element");
    await expect.poll(() => element.locator("[data-element=payment]").count(), { timeout: 20_000 }).toBe(1);
    expect(await page.getByRole("button", { name: "Pay with the test provider" }).count()).toBe(0);
    await screenshot(page, "order-stripe");
    await page.getByRole("button", { name: "Pay", exact: true }).click();
    await expect.poll(() => page.getByTestId("order-status").textContent(), { timeout: 30_000 }).toBe("PAID");
  });
});
