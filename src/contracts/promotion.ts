/**
 * The promotion entity: a discount code (or an automatic promotion, no code)
 * with its value, what it applies to, its conditions and its budget; and the
 * discounts it gives a cart or an order. One schema each, picked from by the
 * admin API, the cart view, the order and the events.
 */
import { z } from "zod";
import { Amount, Int, IsoTime } from "./scalars";

export const PromotionKindSchema = z.enum(["percent", "fixed", "buy_x_get_y"]);

export const PromotionSchema = z.object({
  promotionId: z.string().min(1),
  /** Upper-cased (codes are case-insensitive); null = automatic. */
  code: z.string().nullable(),
  kind: PromotionKindSchema,
  /** percent: 1..100 off; fixed: minor units off; buy_x_get_y: units to buy (X). */
  value: Int,
  /** buy_x_get_y only: units free for every X bought (Y). */
  get: Int.nullable(),
  /** The currency of a fixed amount and of minSubtotal; null = any. */
  currency: z.string().nullable(),
  /** Lines it discounts: these SKUs, or these merchants' lines; null = every line. */
  appliesTo: z
    .object({ skuIds: z.array(z.string()).nullable(), merchantIds: z.array(z.string()).nullable() })
    .nullable(),
  minSubtotal: Amount.nullable(),
  startsAt: IsoTime.nullable(),
  endsAt: IsoTime.nullable(),
  /** Total redemptions (paid orders plus reserved ones); null = unlimited. */
  limit: Int.nullable(),
  /** Redemptions per signed-in customer; null = unlimited. */
  limitPerCustomer: Int.nullable(),
  /** Stripes of its budget: a hot code's redemptions spread over several actors, like a hot SKU's stock. */
  stripes: Int,
  active: z.boolean(),
  version: Int,
  updatedAt: IsoTime,
});

/** One promotion's discount on a cart or order line. */
export const LineDiscountSchema = z.object({
  promotionId: z.string(),
  code: z.string().nullable(),
  amount: Amount,
});

/** One promotion's discount on a whole cart or order (the sum of its line discounts). */
export const DiscountSchema = LineDiscountSchema.extend({ kind: PromotionKindSchema });
