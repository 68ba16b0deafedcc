// The one SkuQuote fixture of the domain tests: an active, in-stock SKU on sale at 5.00 USD,
// nothing held by the buyer; name the SKU and override what a test is about.
import type { SkuQuote } from "../../src/domain/catalog";

export function skuQuote(over: Partial<SkuQuote> = {}): SkuQuote {
  const skuId = over.skuId ?? "sku_a";
  return {
    skuId,
    productId: `p-${skuId}`,
    merchantId: "m1",
    name: skuId,
    image: null,
    spec: null,
    price: 500,
    currency: "USD",
    status: "active",
    available: 10,
    purchaseLimit: null,
    saleStartsAt: null,
    version: 1,
    ownerUnits: 0,
    ...over,
  };
}
