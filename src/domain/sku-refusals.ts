/**
 * The refusals a SKU answers a reservation or a flash buy with, built from the
 * stock check's code (`checkReserve`) and what the buyer asked.
 */
import type { SkuCatalog } from "./catalog";
import type { Refusal } from "./errors";
import { refuse } from "./errors";
import type { ReserveRefusalCode, StockCounters } from "./stock";
import { availableOf } from "./stock";

export function reserveRefusal(
  catalog: SkuCatalog,
  stock: StockCounters,
  code: ReserveRefusalCode,
  quantity: number,
  ownerUnits: number,
): Refusal {
  const skuId = catalog.skuId;
  const available = Math.max(0, availableOf(stock));
  switch (code) {
    case "SKU_UNAVAILABLE":
      return refuse(code, `SKU ${skuId} is not for sale`, [{ code, skuId }]);
    case "SALE_NOT_STARTED":
      return refuse(code, `the sale of SKU ${skuId} opens at ${catalog.saleStartsAt}`, [
        { code, skuId, saleStartsAt: catalog.saleStartsAt },
      ]);
    case "SIGN_IN_REQUIRED":
      return refuse(code, `SKU ${skuId} has a purchase limit per customer: sign in to buy it`, [
        { code, skuId, limit: catalog.purchaseLimit },
      ]);
    case "LIMIT_EXCEEDED":
      return refuse(code, `at most ${catalog.purchaseLimit} of SKU ${skuId} per customer`, [
        { code, skuId, limit: catalog.purchaseLimit, alreadyPurchased: ownerUnits, requested: quantity },
      ]);
    case "OUT_OF_STOCK":
      return refuse(code, `only ${available} of SKU ${skuId} available`, [
        { code, skuId, available, requested: quantity },
      ]);
  }
}

/** The SKU has no catalog record. */
export function skuMissing(skuId: string): Refusal {
  return refuse("SKU_UNAVAILABLE", "the SKU does not exist", [{ code: "SKU_UNAVAILABLE", skuId }]);
}

/** A buyer routed to a stripe that is not their home (the caller's stripe count was stale). */
export function staleRoute(stripes: number, home: number): Refusal {
  return refuse("STALE_ROUTE", `this SKU has ${stripes} stripes; the buyer's home is stripe ${home}`, [
    { code: "STALE_ROUTE", stripes },
  ]);
}

/** The SKU's stripes are settling a change of their count: a retryable refusal (503), nothing was written. */
export function restriping(skuId: string): Refusal {
  return refuse("DEPENDENCY_UNAVAILABLE", `SKU ${skuId} is being re-striped; retry shortly`);
}
