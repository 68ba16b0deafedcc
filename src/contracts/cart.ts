/**
 * The cart line entity: the stored line (actor, events, Redis snapshot,
 * Postgres) and the line as a cart view shows it, with its price markers.
 */
import { z } from "zod";
import { ProductSnapshotSchema } from "./product";
import { LineDiscountSchema } from "./promotion";
import { Amount, Int, IsoTime, UnitPrice } from "./scalars";

/** A stored cart line: the SKU as it was when added, plus the buyer's choices. */
export const CartLineSchema = ProductSnapshotSchema.extend({
  quantity: Int,
  selected: z.boolean(),
  unitPrice: UnitPrice.meta({ description: "price when the line was added" }),
  currency: z.string(),
  addedAt: IsoTime,
  /** Insertion order: lines are listed by it. */
  position: Int,
  /** Cart version at which this line last changed (drives versioned upserts in Postgres). */
  version: Int,
});

export const PriceChangeSchema = z.enum(["up", "down"]).nullable();

/** A line as the cart view shows it: the stored line's snapshot and choices, priced now. */
export const CartLineViewSchema = CartLineSchema.omit({ currency: true, position: true, version: true }).extend({
  currentPrice: UnitPrice,
  priceChange: PriceChangeSchema,
  available: z
    .boolean()
    .meta({ description: "the line can be checked out as it is (active, in stock, within the limit)" }),
  outOfStock: z.boolean(),
  limitExceeded: z.boolean(),
  lineTotal: Amount.meta({ description: "currentPrice x quantity" }),
  discounts: z.array(LineDiscountSchema).meta({ description: "each promotion's discount on this line" }),
});
