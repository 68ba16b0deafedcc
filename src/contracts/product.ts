/**
 * The product snapshot: what a SKU, a cart line and an order line keep of the
 * product they show (one schema; the domain type is inferred from it).
 */
import { z } from "zod";

/**
 * The variant, shown with a line exactly as the merchant gave it: a free-text
 * label (`"Red / M"`) or attributes (`{ color: "Red", size: "M" }`).
 */
export const SkuSpecSchema = z.union([z.string(), z.record(z.string(), z.string())]);

export const ProductSnapshotSchema = z.object({
  skuId: z.string().min(1),
  productId: z.string(),
  merchantId: z.string(),
  name: z.string(),
  image: z.string().nullable(),
  spec: SkuSpecSchema.nullable(),
});
