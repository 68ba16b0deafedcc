import { describe, expect, it } from "vitest";
import {
  applyMovement,
  availableOf,
  checkReserve,
  EMPTY_STOCK,
  movement,
  remainingAllowance,
  setAvailable,
} from "../../src/domain/stock";

describe("stock arithmetic", () => {
  const stock = applyMovement(EMPTY_STOCK, setAvailable(EMPTY_STOCK, 10));

  it("admin stock sets available units and keeps reservations", () => {
    expect(stock).toEqual({ onHand: 10, reserved: 0, sold: 0 });
    const held = applyMovement(stock, movement("reserve", 4));
    const reset = applyMovement(held, setAvailable(held, 2));
    expect(reset).toEqual({ onHand: 6, reserved: 4, sold: 0 });
    expect(availableOf(reset)).toBe(2);
  });

  it("reserve, commit, release and restock move the counters as docs/API.md says", () => {
    let c = applyMovement(stock, movement("reserve", 3));
    expect(c).toEqual({ onHand: 10, reserved: 3, sold: 0 });
    c = applyMovement(c, movement("commit", 2));
    expect(c).toEqual({ onHand: 8, reserved: 1, sold: 2 });
    c = applyMovement(c, movement("release", 1));
    expect(c).toEqual({ onHand: 8, reserved: 0, sold: 2 });
    c = applyMovement(c, movement("restock", 2));
    expect(c).toEqual({ onHand: 10, reserved: 0, sold: 2 });
  });

  it("refuses a movement that would oversell", () => {
    expect(() => applyMovement(stock, movement("reserve", 11))).toThrow(/break the counters/);
    expect(() => applyMovement(stock, movement("release", 1))).toThrow();
    expect(() => applyMovement(stock, movement("commit", 1))).toThrow();
  });

  it("checks a reservation against status, a guest on a limited SKU, limit and stock, in that order", () => {
    const base = { active: true, counters: stock, purchaseLimit: 2, ownerUnits: 0, quantity: 1, guest: false };
    expect(checkReserve(base)).toBeNull();
    expect(checkReserve({ ...base, active: false })).toBe("SKU_UNAVAILABLE");
    expect(checkReserve({ ...base, guest: true })).toBe("SIGN_IN_REQUIRED");
    expect(checkReserve({ ...base, guest: true, purchaseLimit: null })).toBeNull();
    expect(checkReserve({ ...base, ownerUnits: 2 })).toBe("LIMIT_EXCEEDED");
    expect(checkReserve({ ...base, ownerUnits: 1, quantity: 2 })).toBe("LIMIT_EXCEEDED");
    expect(checkReserve({ ...base, purchaseLimit: null, quantity: 11 })).toBe("OUT_OF_STOCK");
    expect(checkReserve({ ...base, purchaseLimit: null, quantity: 10 })).toBeNull();
  });

  it("computes what a buyer may still take", () => {
    expect(remainingAllowance(null, 5)).toBe(Number.POSITIVE_INFINITY);
    expect(remainingAllowance(3, 1)).toBe(2);
    expect(remainingAllowance(3, 5)).toBe(0);
  });
});
