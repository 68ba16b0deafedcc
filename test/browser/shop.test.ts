// The storefront in a real browser: a guest shops from two merchants, checks out part of the
// cart after signing in (guest cart merged), pays with the test provider and sees PAID; a
// second device on the same cart sees each change live; a price drop reaches an open cart.
import { afterAll, beforeAll, expect, it } from "vitest";
import { eventually, newId } from "../support/e2e.ts";
import {
  describeInBrowser,
  openCart,
  orderStatus,
  screenshot,
  startBrowserStack,
  waitForListing,
  type BrowserStack,
} from "../support/browser.ts";

let s: BrowserStack;
const run = newId("b");
const merchantA = `m-a-${run}`;
const merchantB = `m-b-${run}`;
const tee = `tee-${run}`;
const mug = `mug-${run}`;
/** The mug's admin body at a price (its first PUT, then the price drop). */
const mugAt = (price: number) => ({
  productId: `p-mug-${run}`,
  name: "Enamel mug",
  merchantId: merchantB,
  price,
  stock: 50,
  spec: { color: "Blue" },
});

beforeAll(async () => {
  s = await startBrowserStack();
  const put1 = await s.stack.api.putSku(tee, {
    productId: `p-tee-${run}`,
    name: "Classic tee",
    merchantId: merchantA,
    price: 1999,
    stock: 50,
    purchaseLimit: 5,
    spec: { color: "Red", size: "M" },
  });
  const put2 = await s.stack.api.putSku(mug, mugAt(1250));
  expect([put1.status, put2.status]).toEqual([201, 201]);
  await waitForListing(s.stack, [tee, mug]);
});
afterAll(() => s?.stop());

describeInBrowser("storefront", () => {
  it("guest adds from two merchants, unselects one, signs in (merge), checks out the selected lines, pays, sees PAID", async () => {
    const { page } = await s.device();
    await expect.poll(() => page.locator(`[data-product="p-tee-${run}"]`).count()).toBe(1);
    await screenshot(page, "products");
    await page.getByRole("button", { name: "Add Classic tee to cart" }).click();
    await expect.poll(() => page.locator("#cart-count").textContent()).toBe("1");
    await page.getByRole("button", { name: "Add Enamel mug to cart" }).click();
    await expect.poll(() => page.locator("#cart-count").textContent()).toBe("2");

    // Product page: variants, price, stock state and limit.
    await page.goto(`/shop/#/p/p-tee-${run}`);
    await expect.poll(() => page.locator(`tr[data-sku="${tee}"]`).textContent()).toContain("5 per person");
    await screenshot(page, "product");

    await openCart(page);
    await page.getByRole("checkbox", { name: `Select all from ${merchantB}` }).uncheck();
    await expect.poll(() => page.getByTestId("cart-total").textContent()).toContain("$19.99");
    await screenshot(page, "cart");

    await page.getByLabel("Demo user").selectOption("alice");
    await page.getByLabel("Guest cart on sign-in").selectOption("sum");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect.poll(() => page.getByTestId("signed-in").textContent()).toBe("Signed in as alice");
    await expect.poll(() => page.locator("#cart-count").textContent()).toBe("2");

    await openCart(page);
    await expect.poll(() => page.getByTestId("cart-total").textContent()).toContain("$19.99");
    await page.getByRole("button", { name: "Check out selected" }).click();
    await expect.poll(() => orderStatus(page), { timeout: 45_000 }).toBe("PENDING");
    await expect.poll(() => page.getByTestId("expires-in").textContent()).toMatch(/^1[45]:\d\d$/);
    await screenshot(page, "order");
    // Only the selected line was checked out: the mug stays in the cart.
    await expect.poll(() => page.locator("#cart-count").textContent()).toBe("1");

    await page.getByRole("button", { name: "Pay with the test provider" }).click();
    await expect.poll(() => orderStatus(page), { timeout: 45_000 }).toBe("PAID");
    await page.goto("/shop/#/orders");
    await expect.poll(() => page.locator("td.status").first().textContent(), { timeout: 20_000 }).toBe("PAID");
    await screenshot(page, "orders");

    await page.getByRole("button", { name: "Sign out" }).click();
    await expect.poll(() => page.locator("#cart-count").textContent()).toBe("0");
  });

  it("a second device on the same cart sees each change live", async () => {
    const phone = await s.device({ width: 390, height: 844 });
    const laptop = await s.device();
    for (const d of [phone, laptop]) {
      await d.page.getByLabel("Demo user").selectOption("bob");
      await d.page.getByRole("button", { name: "Sign in" }).click();
      await expect.poll(() => d.page.getByTestId("signed-in").textContent()).toBe("Signed in as bob");
      await expect.poll(() => d.page.locator("body").getAttribute("data-live")).toBe("on");
    }
    await laptop.page.getByRole("button", { name: "Add Classic tee to cart" }).click();
    await expect.poll(() => phone.page.locator("#cart-count").textContent()).toBe("1");
    await openCart(phone.page);
    await phone.page.getByRole("button", { name: "One more Classic tee" }).click();
    await expect.poll(() => laptop.page.locator("#cart-count").textContent()).toBe("2");
    await openCart(laptop.page);
    await laptop.page.getByRole("button", { name: "Remove Classic tee" }).click();
    await expect.poll(() => phone.page.locator("#cart-count").textContent()).toBe("0");
    await laptop.page.getByRole("button", { name: "Add Enamel mug to cart" }).click();
    await expect.poll(() => phone.page.locator(`#cart li[data-sku="${mug}"]`).count()).toBe(1);
    await screenshot(phone.page, "phone-cart");
  });

  it("a price drop reaches an open cart page", async () => {
    const { page } = await s.device();
    await page.getByLabel("Demo user").selectOption("carol");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect.poll(() => page.getByTestId("signed-in").textContent()).toBe("Signed in as carol");
    await expect.poll(() => page.locator("body").getAttribute("data-live")).toBe("on");
    await page.getByRole("button", { name: "Add Enamel mug to cart" }).click();
    await expect.poll(() => page.locator(`#cart li[data-sku="${mug}"]`).count()).toBe(1);
    await openCart(page);
    const res = await s.stack.api.putSku(mug, mugAt(990));
    expect(res.status).toBe(200);
    // Nobody touches the page: the alert fan-out pushes the new cart to it.
    await expect
      .poll(() => page.locator(`#cart li[data-sku="${mug}"] [data-flag=price-down]`).count(), { timeout: 30_000 })
      .toBe(1);
    await expect.poll(() => page.locator("#notice").textContent()).toContain("Price drop: Enamel mug is now $9.90");
    await screenshot(page, "price-drop");
    // ...and the alert event reached the queue (the consumer logs it with the cart's events).
    await eventually(async () => {
      const { rows } = await s.stack.db.query(
        "SELECT type, data FROM cart_events WHERE cart_key = 'user:carol' AND type = 'cart.price_dropped'",
      );
      expect(rows).toEqual([
        expect.objectContaining({ data: expect.objectContaining({ skuId: mug, unitPrice: 1250, currentPrice: 990 }) }),
      ]);
    });
  });
});
