// Promotion codes in the storefront: a guest at phone width uses the seed's demo codes (the code
// field, the discount per line and in the totals, a code that stops applying said in words); a
// signed-in buyer applies a code limited to one use, sees the total drop, checks out, pays and
// sees the discount on the PAID order; a second buyer is told in words that it is used up.
// The drawer's cart reads name the version on screen, and a 304 keeps the cart it has.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { DEMO_PROMOTIONS, seedPromotions } from "../../dev/seed.ts";
import { eventually, newId } from "../support/e2e.ts";
import {
  type BrowserStack,
  describeInBrowser,
  openCart,
  orderStatus,
  screenshot,
  startBrowserStack,
  waitForListing,
} from "../support/browser.ts";

let s: BrowserStack;
const run = newId("c");
const tee = `tee-${run}`;
const lamp = `lamp-${run}`;
const promotionId = `once-${run}`;
const once = `ONCE_${run.slice(2)}`.toUpperCase();

beforeAll(async () => {
  s = await startBrowserStack();
  const item = (skuId: string, name: string, price: number) =>
    s.stack.api.putSku(skuId, { productId: `p-${skuId}`, name, merchantId: `m-${run}`, price, stock: 50 });
  const puts = await Promise.all([
    item(tee, "Code tee", 1999),
    item(lamp, "Code lamp", 4500),
    s.stack.api.request("PUT", `/v1/admin/promotions/${promotionId}`, {
      headers: s.stack.api.admin(),
      body: { code: once, kind: "percent", value: 20, limit: 1, active: true },
    }),
  ]);
  expect(puts.map((r) => r.status)).toEqual([201, 201, 201]);
  await waitForListing(s.stack, [tee, lamp]);
});
afterAll(() => s?.stop());

const total = (page: Page) => page.getByTestId("cart-total").textContent();
const codeStatus = (page: Page) => page.getByTestId("code-status").textContent();

async function applyCode(page: Page, code: string): Promise<void> {
  await page.getByRole("textbox", { name: "Promotion code" }).fill(code);
  await page.getByRole("button", { name: "Apply", exact: true }).click();
}

async function signIn(page: Page, user: string): Promise<void> {
  await page.getByLabel("Demo user").selectOption(user);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect.poll(() => page.getByTestId("signed-in").textContent()).toBe(`Signed in as ${user}`);
}

describeInBrowser("storefront promotion codes", () => {
  it("a guest at phone width uses the seed's codes: the total drops, a code below its minimum says why, a wrong code is named", async () => {
    // The seed's codes, twice: created, then found as they are (npm run seed may run again).
    const token = s.stack.secrets.ADMIN_TOKEN;
    expect(await seedPromotions(s.stack.baseUrl, token)).toEqual(
      DEMO_PROMOTIONS.map((p) => ({ code: p.code, status: 201 })),
    );
    expect(await seedPromotions(s.stack.baseUrl, token)).toEqual(
      DEMO_PROMOTIONS.map((p) => ({ code: p.code, status: 200 })),
    );

    const { page } = await s.device({ width: 390, height: 844 });
    await page.getByRole("button", { name: "Add Code tee to cart" }).click();
    await expect.poll(() => page.locator("#cart-count").textContent()).toBe("1");
    await openCart(page);
    for (const n of ["2", "3"]) {
      await page.getByRole("button", { name: "One more Code tee" }).click();
      await expect.poll(() => page.locator("#cart-count").textContent()).toBe(n);
    }
    await expect.poll(() => total(page)).toContain("$59.97");

    // Typed in lower case (codes are case-insensitive): $5 off from $50, shown on the line and in the totals.
    await applyCode(page, "save5");
    await expect.poll(() => total(page)).toContain("$54.97");
    expect(await codeStatus(page)).toBe("Code SAVE5 applied: −$5.00.");
    expect(await page.locator(`#cart li[data-sku="${tee}"] [data-discount=SAVE5]`).textContent()).toBe("SAVE5: −$5.00");
    expect(await page.getByTestId("cart-discount").textContent()).toContain("Discount SAVE5−$5.00");

    // One tee less: $39.98 is below the minimum; the code stays on the cart and says why it gives nothing.
    await page.getByRole("button", { name: "One less Code tee" }).click();
    await expect.poll(() => total(page)).toContain("$39.98");
    await expect
      .poll(() => codeStatus(page))
      .toBe("Code SAVE5 gives no discount now. This code needs a cart of at least $50.00.");
    expect(await page.getByTestId("cart-discount").count()).toBe(0);

    await applyCode(page, "NOPE-NOPE");
    await expect
      .poll(() => codeStatus(page))
      .toBe("No such promotion code. There is no code NOPE-NOPE: check its spelling.");
    expect(await page.getByRole("textbox", { name: "Promotion code" }).getAttribute("aria-invalid")).toBe("true");

    // Another code replaces the one on the cart: 10% of $39.98, rounded down to the cent.
    await applyCode(page, "welcome10");
    await expect.poll(() => total(page)).toContain("$35.99");
    expect(await codeStatus(page)).toBe("Code WELCOME10 applied: −$3.99.");
    await screenshot(page, "phone-cart-code");
    await page.getByRole("button", { name: "Remove code WELCOME10" }).click();
    await expect.poll(() => total(page)).toContain("$39.98");
    expect(await codeStatus(page)).toBe("");
  });

  it("a code limited to one use discounts the first buyer's paid order and is refused to the second as used up", async () => {
    const { page } = await s.device();
    // Every cart read the page makes, with the version it named and how it was answered.
    const reads: { named: string | null; status: number }[] = [];
    page.on("response", (res) => {
      const req = res.request();
      if (req.method() === "GET" && new URL(req.url()).pathname === "/v1/cart")
        reads.push({ named: req.headers()["if-none-match"] ?? null, status: res.status() });
    });
    await page.getByRole("button", { name: "Add Code lamp to cart" }).click();
    await expect.poll(() => page.locator("#cart-count").textContent()).toBe("1");
    await signIn(page, "alice");
    // After the merge the drawer reads the cart again naming the version it shows: nothing changed, 304.
    await expect.poll(() => reads.some((r) => r.named !== null && r.status === 304)).toBe(true);
    await expect.poll(() => page.locator("#cart-count").textContent()).toBe("1");

    await openCart(page);
    await expect.poll(() => total(page)).toContain("$45.00");
    await applyCode(page, once.toLowerCase());
    await expect.poll(() => total(page)).toContain("$36.00");
    expect(await page.getByTestId("cart-subtotal").textContent()).toContain("$45.00");
    expect(await page.getByTestId("cart-discount").textContent()).toBe(`Discount ${once}−$9.00`);
    await screenshot(page, "cart-code");

    // A second buyer applies it too while its one use is still free.
    const second = await s.device();
    await signIn(second.page, "bob");
    await second.page.getByRole("button", { name: "Add Code lamp to cart" }).click();
    await expect.poll(() => second.page.locator("#cart-count").textContent()).toBe("1");
    await openCart(second.page);
    await applyCode(second.page, once);
    await expect.poll(() => total(second.page)).toContain("$36.00");

    // Checkout sends the total after the discount as expectedTotal: the order is placed, not PRICE_CHANGED.
    await page.getByRole("button", { name: "Check out selected" }).click();
    await expect.poll(() => orderStatus(page), { timeout: 45_000 }).toBe("PENDING");
    expect(await page.getByTestId("order-subtotal").textContent()).toContain("$45.00");
    expect(await page.getByTestId("order-discount").textContent()).toBe(`Discount ${once}−$9.00`);
    expect(await page.getByTestId("order-total").textContent()).toBe("Total$36.00");
    await page.getByRole("button", { name: "Pay with the test provider" }).click();
    await expect.poll(() => orderStatus(page), { timeout: 45_000 }).toBe("PAID");
    expect(await page.getByTestId("order-total").textContent()).toBe("Total$36.00");
    await screenshot(page, "order-discount");
    await eventually(async () => {
      const res = await s.stack.api.get(`/v1/admin/promotions/${promotionId}`, s.stack.api.admin());
      expect(res.body).toMatchObject({ used: 1, reserved: 0, remaining: 0 });
    });

    // The second buyer's checkout is refused, said beside the code; applying it again is refused the same way.
    const usedUp = "The promotion has been used up. This code has been used up: it has no uses left.";
    await second.page.getByRole("button", { name: "Check out selected" }).click();
    await expect.poll(() => codeStatus(second.page)).toBe(usedUp);
    expect(await second.page.locator("#notice").getAttribute("data-code")).toBe("PROMOTION_EXHAUSTED");
    await second.page.getByRole("button", { name: `Remove code ${once}` }).click();
    await expect.poll(() => total(second.page)).toContain("$45.00");
    expect(await codeStatus(second.page)).toBe("");
    await applyCode(second.page, once);
    await expect.poll(() => codeStatus(second.page)).toBe(usedUp);
    expect(await total(second.page)).toContain("$45.00");
    expect(await second.page.locator("#cart-count").textContent()).toBe("1");
  });
});
