/**
 * The catalog's shapes and rules: SKU records, the views storefronts and carts
 * see, and the product snapshot lines and orders keep.
 */
import type { StockCounters } from "./stock";
import { availableOf } from "./stock";

export type SkuStatus = "active" | "inactive";

/**
 * The variant, shown with a line exactly as the merchant gave it: a free-text
 * label (`"Red / M"`) or attributes (`{ color: "Red", size: "M" }`).
 */
export type SkuSpec = string | Record<string, string>;

/** What a cart line or an order line keeps of the SKU it was taken from. */
export interface ProductSnapshot {
  skuId: string;
  productId: string;
  merchantId: string;
  name: string;
  image: string | null;
  spec: SkuSpec | null;
}

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

/** The catalog record of a SKU, as an admin writes it. */
export interface SkuCatalog extends ProductSnapshot {
  price: number;
  currency: string;
  status: SkuStatus;
  /** Units one buyer may hold or buy (cart line, checkout and flash buys together); null = no limit. */
  purchaseLimit: number | null;
  stripes: number;
  /** A flash sale's opening (ISO time): before it, flash buys and adds are refused with SALE_NOT_STARTED. */
  saleStartsAt: string | null;
}

/** What a storefront (and a cart line's price markers) sees of a SKU. */
export interface SkuPublicView extends ProductSnapshot {
  price: number;
  currency: string;
  status: SkuStatus;
  available: number;
  purchaseLimit: number | null;
  /** Shown for a countdown; null = on sale. */
  saleStartsAt: string | null;
  /** Bumped on every change of the SKU; snapshots in Redis only move forward. */
  version: number;
}

export interface SkuAdminView extends SkuCatalog, StockCounters {
  available: number;
  version: number;
  updatedAt: string;
}

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
