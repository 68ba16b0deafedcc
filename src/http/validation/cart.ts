/**
 * Cart schemas: the edit bodies, and the cart view whose lines are the cart
 * line entity's view (contracts/cart.ts); merge result, count, live tickets.
 */
import { z } from "zod";
import { MAX_CART_LINES, MAX_LINE_QUANTITY } from "../../contracts/limits";
import { CartLineViewSchema } from "../../contracts/cart";
import { DiscountSchema } from "../../contracts/promotion";
import { Amount } from "../../contracts/scalars";
import { EXAMPLE, GuestCartId, Iso, Quantity, SkuId, Text } from "./fields";

export const AddItemBody = z
  .strictObject({ skuId: SkuId, quantity: Quantity })
  .meta({ examples: [{ skuId: "tee-red-m", quantity: 2 }] });

export const UpdateItemBody = z
  .strictObject({
    quantity: z.number().int().min(0).max(MAX_LINE_QUANTITY).optional(),
    selected: z.boolean().optional(),
  })
  .refine((b) => b.quantity !== undefined || b.selected !== undefined, "give quantity and/or selected")
  .meta({ examples: [{ quantity: 3 }] });

export const BatchDeleteBody = z
  .strictObject({ skuIds: z.array(SkuId).min(1).max(MAX_CART_LINES) })
  .meta({ examples: [{ skuIds: ["tee-red-m", "mug-stoneware"] }] });

export const SelectBody = z
  .strictObject({
    selected: z.boolean(),
    skuIds: z.array(SkuId).min(1).max(MAX_CART_LINES).optional(),
    merchantId: Text(128).optional(),
    all: z.literal(true).optional(),
  })
  .refine(
    (b) => [b.skuIds, b.merchantId, b.all].filter((x) => x !== undefined).length === 1,
    "give exactly one of skuIds, merchantId, all",
  )
  .meta({ examples: [{ selected: true, merchantId: "m-threads" }] });

export const MergeBody = z
  .strictObject({ clientCartId: GuestCartId, strategy: z.enum(["sum", "max", "overwrite", "keep"]) })
  .meta({ examples: [{ clientCartId: EXAMPLE.guestCartId, strategy: "sum" }] });

const CART_EXAMPLE = {
  cartId: "user:alice",
  version: 4,
  currency: "USD",
  items: [
    {
      ...EXAMPLE.line,
      quantity: 2,
      selected: true,
      unitPrice: 2199,
      currentPrice: 1999,
      priceChange: "down",
      available: true,
      outOfStock: false,
      limitExceeded: false,
      lineTotal: 3998,
      discounts: [{ promotionId: "bf-2026", code: "BLACKFRIDAY", amount: 399 }],
      addedAt: EXAMPLE.at,
    },
  ],
  totals: {
    totalItems: 1,
    totalQuantity: 2,
    totalAmount: 3998,
    selectedCount: 2,
    selectedAmount: 3998,
    subtotal: 3998,
    discounts: [{ promotionId: "bf-2026", code: "BLACKFRIDAY", kind: "percent", amount: 399 }],
    total: 3599,
  },
  promotion: { code: "BLACKFRIDAY", promotionId: "bf-2026", applied: true, reason: null },
  updatedAt: EXAMPLE.at,
};

export const CartViewSchema = z
  .object({
    cartId: z.string().meta({ description: "user:{id} or guest:{clientCartId}" }),
    version: z.number().int(),
    currency: z.string().nullable(),
    items: z.array(CartLineViewSchema),
    totals: z.object({
      totalItems: z.number().int().meta({ description: "lines" }),
      totalQuantity: z.number().int(),
      totalAmount: z.number().int(),
      selectedCount: z.number().int().meta({ description: "units in selected, available lines" }),
      selectedAmount: z.number().int().meta({ description: "amount of selected, available lines" }),
      subtotal: Amount.meta({ description: "what checkout prices: the selected, available lines (= selectedAmount)" }),
      discounts: z.array(DiscountSchema).meta({ description: "each promotion's discount on those lines" }),
      total: Amount.meta({ description: "subtotal less the discounts, never below zero" }),
    }),
    promotion: z
      .object({
        code: z.string(),
        promotionId: z.string().nullable(),
        applied: z.boolean(),
        reason: z
          .object({
            code: z.string(),
            condition: z.string().optional(),
            detail: z.string(),
            minSubtotal: Amount.optional().meta({ description: "min_subtotal: the minimum, in `currency`" }),
            currency: z.string().optional().meta({ description: "min_subtotal, currency: the promotion's currency" }),
            startsAt: Iso.optional().meta({ description: "starts_at: when the promotion starts" }),
          })
          .nullable()
          .meta({ description: "why the code gives no discount now (it stays on the cart)" }),
      })
      .nullable()
      .meta({ description: "the code applied to the cart, if any" }),
    updatedAt: Iso.nullable(),
  })
  .meta({ id: "Cart", examples: [CART_EXAMPLE] });

export const MergeResultSchema = CartViewSchema.extend({
  merge: z
    .object({
      strategy: z.string(),
      from: z.string(),
      merged: z.number().int(),
      clamped: z.array(
        z.object({ skuId: z.string(), requested: z.number().int(), applied: z.number().int(), code: z.string() }),
      ),
      promotion: z
        .object({ code: z.string(), carried: z.boolean(), reason: z.string().nullable() })
        .optional()
        .meta({ description: "the guest cart's code: carried over, or why not" }),
    })
    .nullable(),
}).meta({
  examples: [
    {
      ...CART_EXAMPLE,
      merge: {
        strategy: "sum",
        from: `guest:${EXAMPLE.guestCartId}`,
        merged: 1,
        clamped: [{ skuId: "grinder-flash", requested: 3, applied: 2, code: "LIMIT_EXCEEDED" }],
      },
    },
  ],
});

export const CartCountSchema = z
  .object({ totalQuantity: z.number().int(), totalItems: z.number().int() })
  .meta({ examples: [{ totalQuantity: 2, totalItems: 1 }] });
export const TicketSchema = z
  .object({ ticket: z.string(), expiresAt: Iso })
  .meta({ examples: [{ ticket: "eyJjYXJ0S2V5IjoidXNlcjphbGljZSJ9.Zm9v", expiresAt: "2026-05-01T12:01:00.000Z" }] });
export const LiveQuery = z.object({
  ticket: z
    .string()
    .max(2048)
    .regex(/^[\w.-]+$/, "a ticket from POST /v1/cart/live/ticket")
    .optional(),
});
