/**
 * Catalog schemas: the admin's SKU upsert, the SKU views (picked from the SKU
 * entity, contracts/sku.ts) and the product listing.
 */
import { z } from "zod";
import { MAX_LINE_QUANTITY } from "../../contracts/limits";
import { SkuPublicSchema, SkuSchema } from "../../contracts/sku";
import { Currency, EXAMPLE, HttpsUrl, Price, Spec, Text } from "./fields";

export const SkuUpsertBody = z
  .strictObject({
    productId: Text(128),
    name: Text(200),
    image: HttpsUrl.nullable().optional(),
    spec: Spec.nullable().optional(),
    merchantId: Text(128),
    price: Price,
    currency: Currency.default("USD"),
    status: z.enum(["active", "inactive"]),
    stock: z
      .number()
      .int()
      .min(0)
      .max(10_000_000)
      .meta({ description: "units available for sale now (onHand becomes stock + reserved)" }),
    purchaseLimit: z
      .number()
      .int()
      .min(1)
      .max(MAX_LINE_QUANTITY)
      .nullable()
      .optional()
      .meta({ description: "units per customer across cart, checkout and flash buys" }),
    stripes: z.number().int().min(1).max(64).default(1).meta({ description: "stock stripes for a hot SKU" }),
    saleStartsAt: z.iso.datetime({ offset: true }).nullable().optional().meta({
      description: "a flash sale's opening; before it, flash buys and adds answer SALE_NOT_STARTED",
      example: "2026-12-01T09:00:00Z",
    }),
  })
  .meta({
    examples: [
      {
        productId: "tee-classic",
        name: "Classic Tee - Red, M",
        image: "https://images.example.com/demo/tee-red-m.jpg",
        spec: "Red / M",
        merchantId: "m-threads",
        price: 1999,
        currency: "USD",
        status: "active",
        stock: 120,
        purchaseLimit: 5,
        stripes: 1,
      },
    ],
  });

const SKU_EXAMPLE = {
  ...EXAMPLE.line,
  price: 1999,
  currency: "USD",
  status: "active",
  purchaseLimit: 5,
  saleStartsAt: null,
  version: 3,
} as const;
/** A SKU as the product listing shows it (no version). */
const { version: _version, ...LISTED_SKU_EXAMPLE } = SKU_EXAMPLE;

export const SkuPublicViewSchema = SkuPublicSchema.meta({ id: "Sku", examples: [{ ...SKU_EXAMPLE, available: 117 }] });

export const SkuAdminViewSchema = SkuSchema.meta({
  id: "SkuAdmin",
  examples: [{ ...SKU_EXAMPLE, stripes: 1, onHand: 118, reserved: 1, sold: 2, available: 117, updatedAt: EXAMPLE.at }],
});

export const ProductsQuery = z.object({
  merchantId: Text(128).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: Text(256).optional(),
});

export const ProductListSchema = z
  .object({
    items: z.array(
      z.object({
        productId: z.string(),
        merchantId: z.string(),
        name: z.string(),
        image: z.string().nullable(),
        priceRange: z.object({ min: z.number().int(), max: z.number().int(), currency: z.string() }),
        skus: z.array(SkuPublicViewSchema.omit({ version: true })),
      }),
    ),
    next: z.string().nullable(),
  })
  .meta({
    examples: [
      {
        items: [
          {
            productId: "tee-classic",
            merchantId: "m-threads",
            name: "Classic Tee - Red, M",
            image: "https://images.example.com/demo/tee-red-m.jpg",
            priceRange: { min: 1999, max: 1999, currency: "USD" },
            skus: [{ ...LISTED_SKU_EXAMPLE, available: 117 }],
          },
        ],
        next: "tee-classic",
      },
    ],
  });
