import { describe, expect, it } from "vitest";
import type { CartLine, CartState } from "../../src/domain/cart";
import { CartDraft, checkLineQuantity, lineFromSku, presentCart } from "../../src/domain/cart";
import { mergedQuantity, planMerge } from "../../src/domain/cart-merge";
import type { SkuQuote } from "../../src/domain/catalog";
import { skuQuote } from "../support/quotes";

const NOW = Date.parse("2026-06-01T12:00:00.000Z");
const sku = (skuId: string, over: Partial<SkuQuote> = {}): SkuQuote => skuQuote({ skuId, ...over });

let position = 0;
const line = (skuId: string, quantity: number, over: Partial<CartLine> = {}): CartLine => ({
  ...lineFromSku(sku(skuId), quantity, "2026-01-01T00:00:00.000Z"),
  position: position++,
  version: 1,
  ...over,
});

const cart = (lines: CartLine[]): CartState => ({
  cartKey: "user:u1",
  version: 3,
  currency: "USD",
  lines,
  updatedAt: "2026-01-01T00:00:00.000Z",
});

describe("presentCart", () => {
  it("marks price changes, availability and computes totals over selected available lines", () => {
    const lines = [line("a", 2), line("b", 1, { selected: false }), line("c", 5), line("d", 1)];
    const skus = new Map([
      ["a", sku("a", { price: 600 })],
      ["b", sku("b", { price: 400 })],
      ["c", sku("c", { available: 3 })],
      ["d", null],
    ]);
    const view = presentCart(cart(lines), skus);
    expect(view.items.map((i) => [i.skuId, i.currentPrice, i.priceChange, i.available, i.outOfStock])).toEqual([
      ["a", 600, "up", true, false],
      ["b", 400, "down", true, false],
      ["c", 500, null, false, true],
      ["d", 500, null, false, false],
    ]);
    expect(view.totals).toEqual({
      totalItems: 4,
      totalQuantity: 9,
      totalAmount: 1200 + 400 + 2500 + 500,
      selectedCount: 2,
      selectedAmount: 1200,
      subtotal: 1200,
      discounts: [],
      total: 1200,
    });
  });

  it("flags a line over the purchase limit", () => {
    const view = presentCart(cart([line("a", 3)]), new Map([["a", sku("a", { purchaseLimit: 2 })]]));
    expect(view.items[0]).toMatchObject({ limitExceeded: true, available: false });
    expect(view.totals.selectedAmount).toBe(0);
  });
});

describe("checkLineQuantity", () => {
  const base = { current: null, lineCount: 0, cartCurrency: null };
  it("accepts a line within stock and limit", () => {
    expect(checkLineQuantity({ ...base, sku: sku("a"), newQuantity: 10 })).toBeNull();
  });
  it("refuses each rule with its code", () => {
    expect(checkLineQuantity({ ...base, sku: null, newQuantity: 1 })?.code).toBe("SKU_UNAVAILABLE");
    expect(checkLineQuantity({ ...base, sku: sku("a", { status: "inactive" }), newQuantity: 1 })?.code).toBe(
      "SKU_UNAVAILABLE",
    );
    expect(checkLineQuantity({ ...base, sku: sku("a"), newQuantity: 11 })?.code).toBe("OUT_OF_STOCK");
    expect(
      checkLineQuantity({ ...base, sku: sku("a", { purchaseLimit: 3, ownerUnits: 2 }), newQuantity: 2 })?.code,
    ).toBe("LIMIT_EXCEEDED");
    expect(checkLineQuantity({ ...base, sku: sku("a"), newQuantity: 1, lineCount: 200 })?.code).toBe("CART_TOO_LARGE");
    expect(checkLineQuantity({ ...base, sku: sku("a"), newQuantity: 1000 })?.code).toBe("VALIDATION_FAILED");
    expect(
      checkLineQuantity({ ...base, sku: sku("a", { currency: "EUR" }), newQuantity: 1, cartCurrency: "USD" })?.code,
    ).toBe("CURRENCY_MISMATCH");
  });
  it("always allows lowering a line, even when the SKU is gone", () => {
    expect(checkLineQuantity({ ...base, sku: null, current: line("a", 5), newQuantity: 2 })).toBeNull();
  });
});

describe("merge planning", () => {
  it("applies each strategy to conflicting lines", () => {
    expect([
      mergedQuantity("sum", 2, 3),
      mergedQuantity("max", 2, 3),
      mergedQuantity("overwrite", 4, 3),
      mergedQuantity("keep", 2, 3),
    ]).toEqual([5, 3, 3, 2]);
  });

  it("clamps by limit and stock, never lowers the user's line, and adds guest-only lines", () => {
    const user = [line("a", 2), line("b", 1)];
    const guest = [line("a", 5), line("b", 4), line("c", 3), line("gone", 1)];
    const quotes = new Map<string, SkuQuote | null>([
      ["a", sku("a", { available: 4 })],
      ["b", sku("b", { purchaseLimit: 3, ownerUnits: 1 })],
      ["c", sku("c")],
      ["gone", null],
    ]);
    const plan = planMerge("sum", user, guest, quotes, "USD", NOW);
    expect(plan).toEqual([
      { skuId: "a", quantity: 4, clamp: { requested: 7, applied: 4, code: "OUT_OF_STOCK" } },
      { skuId: "b", quantity: 2, clamp: { requested: 5, applied: 2, code: "LIMIT_EXCEEDED" } },
      { skuId: "c", quantity: 3 },
      { skuId: "gone", quantity: 0, clamp: { requested: 1, applied: 0, code: "SKU_UNAVAILABLE" } },
    ]);
  });

  it("does not take a line whose flash sale has not opened, as an add would refuse it", () => {
    const later = new Date(NOW + 60_000).toISOString();
    const quotes = new Map([["f", sku("f", { saleStartsAt: later })]]);
    expect(planMerge("sum", [], [line("f", 1)], quotes, null, NOW)).toEqual([
      { skuId: "f", quantity: 0, clamp: { requested: 1, applied: 0, code: "SALE_NOT_STARTED" } },
    ]);
    expect(planMerge("sum", [], [line("f", 1)], quotes, null, NOW + 60_000)).toEqual([{ skuId: "f", quantity: 1 }]);
  });

  it("keeps the 200-line cap", () => {
    const user = Array.from({ length: 199 }, (_, i) => line(`u${i}`, 1));
    const plan = planMerge(
      "sum",
      user,
      [line("x", 1), line("y", 1)],
      new Map([
        ["x", sku("x")],
        ["y", sku("y")],
      ]),
      "USD",
      NOW,
    );
    expect(plan.map((d) => [d.skuId, d.quantity, d.clamp?.code])).toEqual([
      ["x", 1, undefined],
      ["y", 0, "CART_TOO_LARGE"],
    ]);
  });
});

describe("CartDraft", () => {
  it("tracks written and removed lines and stamps the new version", () => {
    const draft = new CartDraft([line("a", 1, { position: 0 }), line("b", 1, { position: 1 })]);
    draft.put({ ...draft.get("a")!, quantity: 3 });
    draft.remove("b");
    draft.put(lineFromSku(sku("c"), 1, "2026-01-02T00:00:00.000Z"));
    const { lines, upserted, removed } = draft.commit(7);
    expect(lines.map((l) => [l.skuId, l.quantity, l.position])).toEqual([
      ["a", 3, 0],
      ["c", 1, 2],
    ]);
    expect(upserted.map((l) => [l.skuId, l.version])).toEqual([
      ["a", 7],
      ["c", 7],
    ]);
    expect(removed).toEqual(["b"]);
  });

  it("does not count writing an identical line as a change", () => {
    const a = line("a", 1);
    const draft = new CartDraft([a]);
    draft.put({ ...a });
    draft.remove("missing");
    expect(draft.changed).toBe(false);
  });
});
