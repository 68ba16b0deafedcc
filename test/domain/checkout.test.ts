import { describe, expect, it } from "vitest";
import type { CheckoutContext } from "../../src/domain/checkout";
import { assessReserved, precheck, verdictOf } from "../../src/domain/checkout";
import { refuse } from "../../src/domain/errors";
import type { Promotion } from "../../src/domain/promotions";
import type { ReservedItem } from "../../src/domain/sku-contract";
import { productSnapshot } from "../../src/domain/catalog";
import { promotionFixture } from "../support/promotions";
import { skuQuote } from "../support/quotes";

const quote = skuQuote;

const line = (skuId: string, quantity: number, currency = "USD") => ({
  skuId,
  merchantId: "m1",
  quantity,
  unitPrice: 500,
  currency,
});
const OK = { ok: true, promotions: [] };

const priced = (over: Partial<ReservedItem> = {}): ReservedItem => ({
  ...productSnapshot(quote()),
  quantity: 2,
  unitPrice: 500,
  currency: "USD",
  ...over,
});

describe("checkout precheck from quotes", () => {
  it("passes lines that are active, within limits, in one currency, at the expected total", () => {
    expect(precheck([line("sku_a", 2)], [quote()], 1000, { guest: false })).toEqual(OK);
  });

  it("refuses every line that is not for sale or over the buyer's limit, with the first line's code", () => {
    const refusal = precheck(
      [line("sku_a", 1), line("sku_b", 3)],
      [null, quote({ skuId: "sku_b", purchaseLimit: 4, ownerUnits: 2 })],
      null,
      { guest: false },
    );
    expect(refusal).toMatchObject({ ok: false, code: "SKU_UNAVAILABLE" });
    expect(refusal?.errors).toEqual([
      { code: "SKU_UNAVAILABLE", skuId: "sku_a" },
      { code: "LIMIT_EXCEEDED", skuId: "sku_b", limit: 4, alreadyPurchased: 2, requested: 3 },
    ]);
  });

  it("refuses a guest a line with a purchase limit (limits are per user), before any stock is taken", () => {
    const limited = quote({ skuId: "sku_b", purchaseLimit: 1 });
    expect(precheck([line("sku_a", 1), line("sku_b", 1)], [quote(), limited], null, { guest: true })).toMatchObject({
      code: "SIGN_IN_REQUIRED",
      errors: [{ code: "SIGN_IN_REQUIRED", skuId: "sku_b", limit: 1 }],
    });
    expect(precheck([line("sku_a", 1), line("sku_b", 1)], [quote(), limited], null, { guest: false })).toEqual(OK);
  });

  it("leaves currency and total to the reservations when a quote could not be asked", () => {
    expect(precheck([line("sku_a", 1), line("sku_b", 1)], [quote(), undefined], 1, { guest: false })).toEqual(OK);
  });

  it("refuses mixed currencies and a total other than the buyer saw", () => {
    const lines = [line("sku_a", 1), line("sku_b", 1)];
    expect(
      precheck(
        [line("sku_a", 1), line("sku_b", 1, "EUR")],
        [quote(), quote({ skuId: "sku_b", currency: "EUR" })],
        null,
        { guest: false },
      ),
    ).toMatchObject({ code: "CURRENCY_MISMATCH" });
    expect(precheck(lines, [quote(), quote({ skuId: "sku_b" })], 999, { guest: false })).toMatchObject({
      code: "PRICE_CHANGED",
      errors: [{ code: "PRICE_CHANGED", expectedTotal: 999, total: 1000 }],
    });
  });

  it("refuses a SKU now priced in another currency than the cart showed, with or without an expected total", () => {
    const jpy = quote({ skuId: "sku_b", currency: "JPY" });
    for (const expectedTotal of [1000, null])
      expect(
        precheck([line("sku_a", 1), line("sku_b", 1)], [quote(), jpy], expectedTotal, { guest: false }),
      ).toMatchObject({
        code: "PRICE_CHANGED",
        errors: [{ code: "PRICE_CHANGED", skuId: "sku_b", currency: "JPY", shownCurrency: "USD" }],
      });
  });
});

describe("checkout assessment of the reserved lines", () => {
  const cart = [line("sku_a", 2), line("sku_b", 1)];
  it("makes order items and the total from the reserved prices", () => {
    const assessed = assessReserved(
      [priced(), priced({ skuId: "sku_b", quantity: 1, unitPrice: 250 })],
      [],
      1250,
      cart,
    );
    expect(assessed).toMatchObject({ ok: true, currency: "USD", promotions: [] });
    if (assessed.ok) expect(assessed.items.map((i) => i.lineTotal)).toEqual([1000, 250]);
  });

  it("refuses when any line was refused, and releases as a failed checkout", () => {
    const assessed = assessReserved([priced()], [{ code: "OUT_OF_STOCK", skuId: "sku_b" }], null, cart);
    expect(assessed).toMatchObject({ ok: false, releaseReason: "checkout_failed", refusal: { code: "OUT_OF_STOCK" } });
  });

  it("refuses mixed currencies as a failed checkout", () => {
    expect(
      assessReserved([priced(), priced({ skuId: "sku_b", currency: "EUR" })], [], null, [
        line("sku_a", 2),
        line("sku_b", 1, "EUR"),
      ]),
    ).toMatchObject({
      ok: false,
      releaseReason: "checkout_failed",
      refusal: { code: "CURRENCY_MISMATCH" },
    });
  });

  it("refuses a line reserved in another currency than the cart showed, releasing as price_changed", () => {
    expect(assessReserved([priced({ currency: "JPY" })], [], 1000, [line("sku_a", 2)])).toMatchObject({
      ok: false,
      releaseReason: "price_changed",
      refusal: { code: "PRICE_CHANGED", errors: [{ skuId: "sku_a", currency: "JPY", shownCurrency: "USD" }] },
    });
  });

  it("refuses a price that changed after the quote, releasing as price_changed", () => {
    expect(assessReserved([priced({ unitPrice: 600 })], [], 1000, cart)).toMatchObject({
      ok: false,
      releaseReason: "price_changed",
      refusal: { code: "PRICE_CHANGED", detail: "the total is now 1200 USD, not 1000" },
    });
  });
});

describe("reservation verdict of an order", () => {
  it("keeps a pending order's reservation until it expires, commits a paid one, releases the rest", () => {
    expect(verdictOf({ status: "PENDING", expiresAt: "2026-06-01T12:00:00Z" })).toEqual({
      state: "pending",
      expiresAt: Date.parse("2026-06-01T12:00:00Z"),
    });
    expect(verdictOf({ status: "PAID", expiresAt: "2026-06-01T12:00:00Z" })).toEqual({ state: "paid" });
    expect(verdictOf({ status: "REFUNDED", expiresAt: "2026-06-01T12:00:00Z" })).toEqual({ state: "paid" });
    expect(verdictOf({ status: "EXPIRED", expiresAt: "2026-06-01T12:00:00Z" })).toEqual({ state: "closed" });
    expect(verdictOf({ status: "CANCELLED", expiresAt: "2026-06-01T12:00:00Z" })).toEqual({ state: "closed" });
  });
});

describe("checkout with promotions", () => {
  const cart = [line("sku_a", 2)];
  const promo = (over: Partial<Promotion> = {}) => promotionFixture({ code: "SAVE10", ...over });

  const context = (over: Partial<CheckoutContext> = {}): CheckoutContext => ({
    guest: false,
    code: "SAVE10",
    promotions: [promo()],
    now: Date.parse("2026-11-27T10:00:00Z"),
    ...over,
  });

  it("expects the discounted total and names the promotions to price with", () => {
    expect(precheck([line("sku_a", 2)], [quote()], 900, context())).toMatchObject({
      ok: true,
      promotions: [{ promotionId: "p1" }],
    });
  });

  it("a code that vanished since the cart view: PRICE_CHANGED with the reason when the total was sent, else the code's refusal", () => {
    const gone = context({ promotions: [] });
    expect(precheck([line("sku_a", 2)], [quote()], 900, gone)).toMatchObject({
      code: "PRICE_CHANGED",
      errors: [
        { code: "PRICE_CHANGED", expectedTotal: 900, total: 1000 },
        { code: "PROMOTION_EXPIRED", promotionCode: "SAVE10" },
      ],
    });
    expect(precheck([line("sku_a", 2)], [quote()], null, gone)).toMatchObject({ code: "PROMOTION_EXPIRED" });
  });

  it("a refused redemption refuses the code's checkout, and only drops an automatic promotion", () => {
    const exhausted = new Map([["p1", refuse("PROMOTION_EXHAUSTED", "used up")]]);
    expect(assessReserved([priced()], [], null, cart, { ...context(), refusedRedemptions: exhausted })).toMatchObject({
      ok: false,
      refusal: { code: "PROMOTION_EXHAUSTED" },
    });
    const automatic = context({ code: null, promotions: [promo({ code: null, limit: 1 })] });
    expect(assessReserved([priced()], [], 1000, cart, { ...automatic, refusedRedemptions: exhausted })).toMatchObject({
      ok: true,
      promotions: [],
    });
  });
});
