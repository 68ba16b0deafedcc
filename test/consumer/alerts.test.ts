import { describe, expect, it } from "vitest";
import { alertTypes } from "../../src/alerts/fanout";
import { planAlerts } from "../../src/alerts/plan";

const state = (price: number, status: string, available: number, version = 1) => ({
  price,
  status,
  available,
  version,
  currency: "USD",
  saleStartsAt: null,
});

describe("price and stock alerts: planning", () => {
  it("queues one job per SKU whose price changed, that went inactive or whose stock fell, and none for a new SKU or a restock", () => {
    const before = new Map([
      ["a", state(1000, "active", 10)],
      ["b", state(1000, "active", 10)],
      ["c", state(1000, "active", 10)],
      ["d", state(1000, "active", 10)],
    ]);
    const after = new Map([
      ["a", state(900, "active", 10, 2)],
      ["b", state(1000, "inactive", 10, 2)],
      ["c", state(1000, "active", 3, 1)],
      ["d", state(1000, "active", 12, 1)],
      ["new", state(1000, "active", 5, 1)],
    ]);
    const jobs = planAlerts(before, after);
    expect(jobs.map((j) => [j.skuId, j.priceChanged, j.wentInactive, j.stockFell])).toEqual([
      ["a", true, false, false],
      ["b", false, true, false],
      ["c", false, false, true],
    ]);
    expect(jobs.find((j) => j.skuId === "c")).toMatchObject({ available: 3, prevAvailable: 10, after: null });
  });

  it("tells each holder what concerns its line: drop or rise against its snapshot, newly short, or unavailable", () => {
    const job = {
      skuId: "a",
      version: 2,
      price: 900,
      status: "active",
      available: 3,
      prevAvailable: 10,
      priceChanged: true,
      wentInactive: false,
      stockFell: true,
      after: null,
    };
    expect(alertTypes(job, { cartKey: "user:1", quantity: 1, unitPrice: 1000 })).toEqual(["cart.price_dropped"]);
    expect(alertTypes(job, { cartKey: "user:2", quantity: 5, unitPrice: 800 })).toEqual([
      "cart.price_raised",
      "cart.stock_short",
    ]);
    expect(alertTypes(job, { cartKey: "user:3", quantity: 12, unitPrice: 900 })).toEqual([]); // already short before
    expect(alertTypes({ ...job, wentInactive: true }, { cartKey: "user:4", quantity: 1, unitPrice: 1000 })).toEqual([
      "cart.sku_unavailable",
    ]);
  });
});
