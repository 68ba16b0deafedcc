import { describe, expect, it } from "vitest";
import { MAX_AMOUNT, MAX_CART_LINES, MAX_LINE_QUANTITY, MAX_UNIT_PRICE } from "../../src/contracts/limits";
import type { PricedLine } from "../../src/domain/promotions";
import { promotionFixture } from "../support/promotions";
import {
  applicationOrder,
  applyPromotions,
  checkBudget,
  checkPromotion,
  lineDiscounts,
  normalizeCode,
} from "../../src/domain/promotions";

const NOW = Date.parse("2026-11-27T10:00:00.000Z");

const promo = promotionFixture;

const line = (skuId: string, unitPrice: number, quantity = 1, merchantId = "m1"): PricedLine => ({
  skuId,
  merchantId,
  unitPrice,
  quantity,
});

describe("percentage discounts", () => {
  it("round each line down to the minor unit", () => {
    // 15% of 333 = 49.95 -> 49; of 2 x 199 = 59.7 -> 59
    expect(lineDiscounts(promo({ value: 15 }), [line("a", 333), line("b", 199, 2)])).toEqual([49, 59]);
  });

  it("round the line, not each unit: 15% of 3 x 333 is 149, not 3 x 49", () => {
    expect(lineDiscounts(promo({ value: 15 }), [line("a", 333, 3)])).toEqual([149]);
    // 100% takes the line exactly, no unit more
    expect(applyPromotions([line("a", 333, 3)], [promo({ value: 100 })])).toMatchObject({ subtotal: 999, total: 0 });
  });

  it("stay exact at the largest amounts (no float past 2^53)", () => {
    const lines = Array.from({ length: MAX_CART_LINES }, (_, i) => line(`s${i}`, MAX_UNIT_PRICE, MAX_LINE_QUANTITY));
    const priced = applyPromotions(lines, [promo({ value: 33 })]);
    expect(priced.subtotal).toBe(MAX_AMOUNT);
    const each = (BigInt(MAX_UNIT_PRICE) * BigInt(MAX_LINE_QUANTITY) * 33n) / 100n;
    expect(priced.discounts[0]!.amount).toBe(Number(each * BigInt(MAX_CART_LINES)));
    expect(priced.total).toBe(MAX_AMOUNT - priced.discounts[0]!.amount);
  });

  it("apply only to the listed SKUs or merchants", () => {
    const p = promo({ value: 50, appliesTo: { skuIds: ["a"], merchantIds: ["m2"] } });
    expect(lineDiscounts(p, [line("a", 100), line("b", 100), line("c", 100, 1, "m2")])).toEqual([50, 0, 50]);
  });
});

describe("fixed discounts", () => {
  it("never take more than the lines are worth: the total stops at zero", () => {
    const priced = applyPromotions([line("a", 300)], [promo({ kind: "fixed", value: 1000, currency: "USD" })]);
    expect(priced).toMatchObject({ subtotal: 300, total: 0, discounts: [{ amount: 300 }] });
  });

  it("larger than the line it applies to: that line goes to zero, the other lines keep their price", () => {
    const p = promo({ kind: "fixed", value: 1000, currency: "USD", appliesTo: { skuIds: ["a"] } });
    expect(lineDiscounts(p, [line("a", 300), line("b", 5000)])).toEqual([300, 0]);
    expect(applyPromotions([line("a", 300), line("b", 5000)], [p])).toMatchObject({ subtotal: 5300, total: 5000 });
  });

  it("split over the matching lines in proportion, the parts adding up exactly", () => {
    // 100 over 1:1:1 -> 33.33 each; the left-over unit goes to the earliest line on a tie
    expect(
      lineDiscounts(promo({ kind: "fixed", value: 100 }), [line("a", 500), line("b", 500), line("c", 500)]),
    ).toEqual([34, 33, 33]);
    // largest remainder first: 10 over 1:2 -> 3.33 / 6.67 -> 3 / 7
    expect(lineDiscounts(promo({ kind: "fixed", value: 10 }), [line("a", 100), line("b", 200)])).toEqual([3, 7]);
  });
});

describe("buy X get Y", () => {
  const b2g1 = promo({ kind: "buy_x_get_y", value: 2, get: 1 });

  it("makes the cheapest of every X + Y matching units free", () => {
    // 6 units -> 2 free: the two cheapest units (the 100s)
    expect(lineDiscounts(b2g1, [line("a", 500, 3), line("b", 100, 2), line("c", 300)])).toEqual([0, 200, 0]);
  });

  it("breaks a tie in price by the earlier line", () => {
    expect(lineDiscounts(b2g1, [line("a", 200), line("b", 200), line("c", 200)])).toEqual([200, 0, 0]);
  });

  it("needs X + Y matching units", () => {
    expect(checkPromotion(b2g1, [line("a", 100, 2)], "USD", NOW)).toMatchObject({
      code: "PROMOTION_NOT_APPLICABLE",
      condition: "buy_x",
    });
  });
});

describe("conditions", () => {
  it("a minimum subtotal stops applying once removing a line crosses it", () => {
    const p = promo({ minSubtotal: 5000, currency: "USD" });
    const cart = [line("a", 3000), line("b", 2500)];
    expect(checkPromotion(p, cart, "USD", NOW)).toBeNull();
    // The minimum and its currency come with the refusal, so a client can say "at least $50.00".
    expect(checkPromotion(p, cart.slice(0, 1), "USD", NOW)).toMatchObject({
      code: "PROMOTION_NOT_APPLICABLE",
      condition: "min_subtotal",
      minSubtotal: 5000,
      currency: "USD",
    });
  });

  it("a promotion in another currency than the cart does not apply", () => {
    expect(
      checkPromotion(promo({ kind: "fixed", value: 500, currency: "EUR" }), [line("a", 1000)], "USD", NOW),
    ).toMatchObject({
      code: "PROMOTION_NOT_APPLICABLE",
      condition: "currency",
      currency: "EUR",
    });
  });

  it("a percentage promotion applies in any currency unless it names one", () => {
    expect(checkPromotion(promo({ value: 10 }), [line("a", 1000)], "JPY", NOW)).toBeNull();
    expect(checkPromotion(promo({ value: 10, currency: "EUR" }), [line("a", 1000)], "USD", NOW)).toMatchObject({
      code: "PROMOTION_NOT_APPLICABLE",
      condition: "currency",
    });
  });

  it("dates and deactivation: not started is not applicable, ended or inactive is expired", () => {
    const lines = [line("a", 1000)];
    expect(checkPromotion(promo({ startsAt: "2026-11-28T00:00:00Z" }), lines, "USD", NOW)).toMatchObject({
      condition: "starts_at",
      startsAt: "2026-11-28T00:00:00Z",
    });
    expect(checkPromotion(promo({ endsAt: "2026-11-27T09:00:00Z" }), lines, "USD", NOW)?.code).toBe(
      "PROMOTION_EXPIRED",
    );
    expect(checkPromotion(promo({ active: false }), lines, "USD", NOW)?.code).toBe("PROMOTION_EXPIRED");
  });

  it("no line the promotion applies to", () => {
    expect(
      checkPromotion(promo({ appliesTo: { skuIds: ["z"], merchantIds: null } }), [line("a", 1)], "USD", NOW),
    ).toMatchObject({
      condition: "matching_lines",
    });
  });

  const limited = () => promo({ limit: 500, limitPerCustomer: 1 });

  it("a guest must sign in to use a limited code, and may use an unlimited one", () => {
    expect(checkBudget(limited(), { guest: true, remaining: 10, customerRedemptions: 0 })).toMatchObject({
      condition: "sign_in",
    });
    expect(checkBudget(promo(), { guest: true, remaining: null, customerRedemptions: 0 })).toBeNull();
  });

  it("a code whose budget is used up is exhausted", () => {
    expect(checkBudget(limited(), { guest: false, remaining: 0, customerRedemptions: 0 })?.code).toBe(
      "PROMOTION_EXHAUSTED",
    );
  });

  it("a customer who has used a code up to its per-customer limit may not use it again", () => {
    expect(checkBudget(limited(), { guest: false, remaining: 10, customerRedemptions: 1 })?.code).toBe(
      "PROMOTION_LIMIT_PER_CUSTOMER",
    );
  });
});

describe("stacking", () => {
  it("applies the automatic promotions by id, then the code, each on the undiscounted lines, capped per line", () => {
    const auto = promo({ promotionId: "auto-b", code: null, kind: "percent", value: 60 });
    const auto2 = promo({ promotionId: "auto-a", code: null, kind: "percent", value: 30 });
    const code = promo({ promotionId: "code", code: "TENOFF", kind: "fixed", value: 1000 });
    const order = applicationOrder([auto, auto2], code);
    expect(order.map((p) => p.promotionId)).toEqual(["auto-a", "auto-b", "code"]);
    const priced = applyPromotions([line("a", 1000)], order);
    // 30% = 300, 60% = 600, then only 100 is left for the code
    expect(priced.discounts.map((d) => [d.promotionId, d.amount])).toEqual([
      ["auto-a", 300],
      ["auto-b", 600],
      ["code", 100],
    ]);
    expect(priced.total).toBe(0);
    expect(priced.lines[0]!.reduce((n, d) => n + d.amount, 0)).toBe(1000);
  });

  it("codes are case-insensitive", () => {
    expect(normalizeCode(" blackFriday ")).toBe("BLACKFRIDAY");
  });
});
