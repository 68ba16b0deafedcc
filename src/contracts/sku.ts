/**
 * The SKU entity: its catalog record with stock counters (the admin view,
 * also the `sku.updated` event), and the public view storefronts and carts see.
 */
import { z } from "zod";
import { ProductSnapshotSchema } from "./product";
import { Int, IsoTime, UnitPrice } from "./scalars";

export const SkuStatusSchema = z.enum(["active", "inactive"]);

export const SkuSchema = ProductSnapshotSchema.extend({
  price: UnitPrice,
  currency: z.string(),
  status: SkuStatusSchema,
  /** Units one buyer may hold or buy (cart line, checkout and flash buys together); null = no limit. */
  purchaseLimit: Int.nullable(),
  stripes: Int,
  /** A flash sale's opening: before it, flash buys and adds are refused with SALE_NOT_STARTED. */
  saleStartsAt: IsoTime.nullable().meta({
    description: "a flash sale's opening (ISO time), for a countdown; null = on sale",
  }),
  onHand: Int,
  reserved: Int,
  sold: Int,
  available: Int,
  /** Bumped on every change of the SKU; snapshots in Redis and rows in Postgres only move forward. */
  version: Int,
  updatedAt: IsoTime,
});

/** What a storefront (and a cart line's price markers) sees of a SKU. */
export const SkuPublicSchema = SkuSchema.pick({
  skuId: true,
  productId: true,
  merchantId: true,
  name: true,
  image: true,
  spec: true,
  price: true,
  currency: true,
  status: true,
  available: true,
  purchaseLimit: true,
  saleStartsAt: true,
  version: true,
});

/** The catalog record of a SKU, as an admin writes it (no counters). */
export const SkuCatalogSchema = SkuSchema.omit({
  onHand: true,
  reserved: true,
  sold: true,
  available: true,
  version: true,
  updatedAt: true,
});
