/**
 * The catalog's shapes and rules: SKU records, the views storefronts and carts
 * see, and the product snapshot lines and orders keep.
 */
import type { z } from "zod";
import type { ProductSnapshotSchema, SkuSpecSchema } from "../contracts/product";
import type { SkuCatalogSchema, SkuPublicSchema, SkuSchema, SkuStatusSchema } from "../contracts/sku";
import type { StockCounters } from "./stock";
import { availableOf } from "./stock";

export type SkuStatus = z.infer<typeof SkuStatusSchema>;

/** The variant as the merchant gave it: a free-text label or attributes (contracts/product.ts). */
export type SkuSpec = z.infer<typeof SkuSpecSchema>;

/** What a cart line or an order line keeps of the SKU it was taken from. */
export type ProductSnapshot = z.infer<typeof ProductSnapshotSchema>;

export function productSnapshot(p: ProductSnapshot): ProductSnapshot {
  return {
    skuId: p.skuId,
    productId: p.productId,
    merchantId: p.merchantId,
    name: p.name,
    image: p.image,
    spec: p.spec,
  };
}

/** The catalog record of a SKU, as an admin writes it (purchase limit, stripes, sale opening: contracts/sku.ts). */
export type SkuCatalog = z.infer<typeof SkuCatalogSchema>;

/** What a storefront (and a cart line's price markers) sees of a SKU. */
export type SkuPublicView = z.infer<typeof SkuPublicSchema>;

/** The catalog record with its stock counters: the admin's view and the `sku.updated` event. */
export type SkuAdminView = z.infer<typeof SkuSchema>;

/** A public view plus what this buyer already holds or bought of it. */
export interface SkuQuote extends SkuPublicView {
  ownerUnits: number;
}

export function publicView(c: SkuCatalog, stock: StockCounters, version: number): SkuPublicView {
  return {
    ...productSnapshot(c),
    price: c.price,
    currency: c.currency,
    status: c.status,
    available: Math.max(0, availableOf(stock)),
    purchaseLimit: c.purchaseLimit,
    saleStartsAt: c.saleStartsAt ?? null,
    version,
  };
}

/** The sale has not opened yet at `now` (a catalog stored before `saleStartsAt` existed is on sale). */
export function saleNotStarted(view: Pick<SkuCatalog, "saleStartsAt">, now: number): boolean {
  return view.saleStartsAt != null && Date.parse(view.saleStartsAt) > now;
}

export function adminView(c: SkuCatalog, stock: StockCounters, version: number, updatedAt: string): SkuAdminView {
  return { ...c, ...stock, available: availableOf(stock), version, updatedAt };
}
