import { describe, expect, it } from "vitest";
import { assessReserved, precheck, verdictOf } from "../../src/domain/checkout";
import type { ReservedItem } from "../../src/domain/sku-contract";
import { productSnapshot } from "../../src/domain/catalog";
import { skuQuote } from "../support/quotes";

const quote = skuQuote;

const line = (skuId: string, quantity: number, currency = "USD") => ({ skuId, quantity, currency });

const priced = (over: Partial<ReservedItem> = {}): ReservedItem => ({
  ...productSnapshot(quote()),
  quantity: 2,
  unitPrice: 500,
  currency: "USD",
  ...over,
});

describe("checkout precheck from quotes", () => {
  it("passes lines that are active, within limits, in one currency, at the expected total", () => {
    expect(precheck([line("sku_a", 2)], [quote()], 1000, false)).toBeNull();
  });

  it("refuses every line that is not for sale or over the buyer's limit, with the first line's code", () => {
    const refusal = precheck(
      [line("sku_a", 1), line("sku_b", 3)],
      [null, quote({ skuId: "sku_b", purchaseLimit: 4, ownerUnits: 2 })],
      null,
      false,
    );
    expect(refusal).toMatchObject({ ok: false, code: "SKU_UNAVAILABLE" });
    expect(refusal?.errors).toEqual([
      { code: "SKU_UNAVAILABLE", skuId: "sku_a" },
      { code: "LIMIT_EXCEEDED", skuId: "sku_b", limit: 4, alreadyPurchased: 2, requested: 3 },
    ]);
  });

  it("refuses a guest a line with a purchase limit (limits are per user), before any stock is taken", () => {
    const limited = quote({ skuId: "sku_b", purchaseLimit: 1 });
    expect(precheck([line("sku_a", 1), line("sku_b", 1)], [quote(), limited], null, true)).toMatchObject({
      code: "SIGN_IN_REQUIRED",
      errors: [{ code: "SIGN_IN_REQUIRED", skuId: "sku_b", limit: 1 }],
    });
    expect(precheck([line("sku_a", 1), line("sku_b", 1)], [quote(), limited], null, false)).toBeNull();
  });

  it("leaves currency and total to the reservations when a quote could not be asked", () => {
    expect(precheck([line("sku_a", 1), line("sku_b", 1)], [quote(), undefined], 1, false)).toBeNull();
  });

  it("refuses mixed currencies and a total other than the buyer saw", () => {
    const lines = [line("sku_a", 1), line("sku_b", 1)];
    expect(
      precheck(
        [line("sku_a", 1), line("sku_b", 1, "EUR")],
        [quote(), quote({ skuId: "sku_b", currency: "EUR" })],
        null,
        false,
      ),
    ).toMatchObject({ code: "CURRENCY_MISMATCH" });
    expect(precheck(lines, [quote(), quote({ skuId: "sku_b" })], 999, false)).toMatchObject({
      code: "PRICE_CHANGED",
      errors: [{ code: "PRICE_CHANGED", expectedTotal: 999, total: 1000 }],
    });
  });

  it("refuses a SKU now priced in another currency than the cart showed, with or without an expected total", () => {
    const jpy = quote({ skuId: "sku_b", currency: "JPY" });
    for (const expectedTotal of [1000, null])
      expect(precheck([line("sku_a", 1), line("sku_b", 1)], [quote(), jpy], expectedTotal, false)).toMatchObject({
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
    expect(assessed).toMatchObject({ ok: true, currency: "USD", total: 1250 });
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
