import { describe, expect, it } from "vitest";
import { MAX_AMOUNT, MAX_CART_LINES, MAX_LINE_QUANTITY, MAX_UNIT_PRICE } from "../../src/contracts/limits";
import { lineAmount, sumAmounts } from "../../src/domain/money";

describe("money", () => {
  it("keeps the largest cart total an exact integer below 2^53", () => {
    const line = lineAmount(MAX_UNIT_PRICE, MAX_LINE_QUANTITY);
    const total = sumAmounts(Array.from({ length: MAX_CART_LINES }, () => line));
    expect(total).toBe(MAX_AMOUNT);
    expect(Number.isSafeInteger(total)).toBe(true);
    expect(BigInt(total)).toBe(BigInt(MAX_UNIT_PRICE) * BigInt(MAX_LINE_QUANTITY) * BigInt(MAX_CART_LINES));
  });

  it("refuses a sum past the bound rather than returning a rounded one", () => {
    expect(() => sumAmounts([MAX_AMOUNT, 1])).toThrow(RangeError);
    expect(() => lineAmount(99_999_999_999, 100_000)).toThrow(RangeError);
  });
});
