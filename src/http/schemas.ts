/**
 * The request schemas are the single source of request types (handlers get
 * `z.output` of them) and, with the response schemas, of the OpenAPI document.
 */
import { z } from "zod";
import { MAX_CART_LINES, MAX_LINE_QUANTITY } from "../domain/cart";
import { ORDER_ID } from "../domain/order-ids";
import { productSnapshotShape } from "../events/schemas";
import { UUID as GUEST_CART_ID, USER_ID } from "./identity";

// ---- building blocks -----------------------------------------------------------------

/** Example values of the OpenAPI document (each one is checked against its schema in test/dev/openapi-document.test.ts). */
const EXAMPLE = {
  guestCartId: "4f7c1c1e-8d3a-4a52-9b7e-2f0d6c1a9e11",
  checkoutOrderId: "ord_9b2f6c1d0e8a47f3b5c2d1e0f9a8b7c6",
  flashOrderId: "fl_3c7a9e1b5d2f48a6c0e9b1d7f3a5c2e8.2.grinder-flash",
  at: "2026-05-01T12:00:00.000Z",
  expiresAt: "2026-05-01T12:15:00.000Z",
  line: {
    skuId: "tee-red-m",
    productId: "tee-classic",
    merchantId: "m-threads",
    name: "Classic Tee - Red, M",
    image: "https://images.example.com/demo/tee-red-m.jpg",
    spec: { color: "red", size: "M" },
  },
};

export const SkuId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, "1-128 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit")
  .meta({ example: "sku-red-shirt-m" });
export const Currency = z
  .string()
  .regex(/^[A-Z]{3}$/, "an ISO 4217 code such as USD")
  .meta({ example: "USD" });
export const Money = z
  .number()
  .int()
  .min(0)
  .max(100_000_000_000)
  .meta({ description: "integer amount in minor units (cents)" });
export const Quantity = z.number().int().min(1).max(MAX_LINE_QUANTITY);
/**
 * Control characters (C0 with NUL, DEL, C1) and unpaired surrogates: never
 * meaningful in a name or id, invisible in a storefront, and Postgres refuses
 * NUL outright, so they are stopped here rather than poisoning the pipeline.
 */
const UNSAFE_TEXT = /[\p{Cc}\p{Cs}]/u;
const noUnsafeText = (s: string) => !UNSAFE_TEXT.test(s);
const UNSAFE_TEXT_MESSAGE = "control characters (NUL included) and unpaired surrogates are not allowed";

/** The one text schema of the API: every free-text field and text query parameter uses it. */
export const Text = (max: number) => z.string().trim().min(1).max(max).refine(noUnsafeText, UNSAFE_TEXT_MESSAGE);
const Spec = z
  .union([
    Text(200).meta({ description: "a free-text variant label", example: "Red / M" }),
    z
      .record(Text(64), Text(256))
      .refine((s) => Object.keys(s).length <= 50, "at most 50 attributes")
      .meta({ example: { color: "Red", size: "M" } }),
  ])
  .meta({ description: "the variant as the merchant writes it: a label or attribute -> value; shown as given" });
const HttpsUrl = z
  .url({ protocol: /^https$/ })
  .max(2048)
  .regex(/^https:\/\/[^\s\p{Cc}\p{Cs}]+$/u, "an https: URL")
  .meta({ example: "https://cdn.example.com/p/tee-red-m.jpg" });
export const GuestCartId = z
  .string()
  .regex(GUEST_CART_ID, "a UUID")
  .meta({ description: "a guest cart id (UUID)", example: EXAMPLE.guestCartId });
export const OrderId = z
  .string()
  .regex(ORDER_ID, "an order id as returned by checkout or flash buy")
  .meta({ example: EXAMPLE.checkoutOrderId });
const Iso = z.string().meta({ format: "date-time" });

// ---- catalog -----------------------------------------------------------------------------

export const SkuParams = z.object({ skuId: SkuId });

export const SkuUpsertBody = z
  .strictObject({
    productId: Text(128),
    name: Text(200),
    image: HttpsUrl.nullable().optional(),
    spec: Spec.nullable().optional(),
    merchantId: Text(128),
    price: Money,
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

const SkuCommon = {
  ...productSnapshotShape,
  price: z.number().int(),
  currency: z.string(),
  status: z.enum(["active", "inactive"]),
  purchaseLimit: z.number().int().nullable(),
  saleStartsAt: z
    .string()
    .nullable()
    .meta({ description: "a flash sale's opening (ISO time), for a countdown; null = on sale" }),
  version: z.number().int(),
};

const SKU_EXAMPLE = {
  ...EXAMPLE.line,
  price: 1999,
  currency: "USD",
  status: "active",
  purchaseLimit: 5,
  saleStartsAt: null,
  version: 3,
} as const;

export const SkuPublicViewSchema = z
  .object({ ...SkuCommon, available: z.number().int() })
  .meta({ id: "Sku", examples: [{ ...SKU_EXAMPLE, available: 117 }] });

export const SkuAdminViewSchema = z
  .object({
    ...SkuCommon,
    stripes: z.number().int(),
    onHand: z.number().int(),
    reserved: z.number().int(),
    sold: z.number().int(),
    available: z.number().int(),
    updatedAt: Iso,
  })
  .meta({
    id: "SkuAdmin",
    examples: [
      { ...SKU_EXAMPLE, stripes: 1, onHand: 118, reserved: 1, sold: 2, available: 117, updatedAt: EXAMPLE.at },
    ],
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
            skus: [
              {
                ...EXAMPLE.line,
                price: 1999,
                currency: "USD",
                status: "active",
                purchaseLimit: 5,
                saleStartsAt: null,
                available: 117,
              },
            ],
          },
        ],
        next: "tee-classic",
      },
    ],
  });

// ---- cart -----------------------------------------------------------------------------------

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

const CartLineSchema = z.object({
  ...productSnapshotShape,
  quantity: z.number().int(),
  selected: z.boolean(),
  unitPrice: z.number().int().meta({ description: "price when the line was added" }),
  currentPrice: z.number().int(),
  priceChange: z.enum(["up", "down"]).nullable(),
  available: z
    .boolean()
    .meta({ description: "the line can be checked out as it is (active, in stock, within the limit)" }),
  outOfStock: z.boolean(),
  limitExceeded: z.boolean(),
  lineTotal: z.number().int().meta({ description: "currentPrice x quantity" }),
  addedAt: Iso,
});

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
      addedAt: EXAMPLE.at,
    },
  ],
  totals: { totalItems: 1, totalQuantity: 2, totalAmount: 3998, selectedCount: 2, selectedAmount: 3998 },
  updatedAt: EXAMPLE.at,
};

export const CartViewSchema = z
  .object({
    cartId: z.string().meta({ description: "user:{id} or guest:{clientCartId}" }),
    version: z.number().int(),
    currency: z.string().nullable(),
    items: z.array(CartLineSchema),
    totals: z.object({
      totalItems: z.number().int().meta({ description: "lines" }),
      totalQuantity: z.number().int(),
      totalAmount: z.number().int(),
      selectedCount: z.number().int().meta({ description: "units in selected, available lines" }),
      selectedAmount: z.number().int().meta({ description: "amount of selected, available lines" }),
    }),
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

// ---- checkout and orders ---------------------------------------------------------------------

export const CheckoutBody = z
  .strictObject({
    skuIds: z
      .array(SkuId)
      .min(1)
      .max(MAX_CART_LINES)
      .optional()
      .meta({ description: "lines to check out; default: the selected lines" }),
    expectedTotal: Money.optional().meta({
      description: "the total the buyer saw; a different computed total is PRICE_CHANGED",
    }),
  })
  .meta({ examples: [{ skuIds: ["tee-red-m"], expectedTotal: 3998 }] });

export const FlashBody = z.strictObject({ quantity: Quantity }).meta({ examples: [{ quantity: 1 }] });

const OrderItemSchema = z.object({
  ...productSnapshotShape,
  quantity: z.number().int(),
  unitPrice: z.number().int(),
  lineTotal: z.number().int(),
});

export const PaymentSchema = z.object({
  eventId: z.string(),
  transactionId: z.string(),
  type: z.string(),
  status: z.enum(["SUCCEEDED", "FAILED", "REFUNDED"]),
  amount: z.number().int(),
  currency: z.string(),
  reason: z.string().nullable(),
  receivedAt: Iso,
});

const PLACED_EXAMPLE = {
  orderId: EXAMPLE.checkoutOrderId,
  status: "PENDING",
  items: [{ ...EXAMPLE.line, quantity: 2, unitPrice: 1999, lineTotal: 3998 }],
  total: 3998,
  currency: "USD",
  expiresAt: EXAMPLE.expiresAt,
};
const ORDER_EXAMPLE = {
  ...PLACED_EXAMPLE,
  status: "PAID",
  createdAt: EXAMPLE.at,
  paidAt: "2026-05-01T12:03:10.000Z",
  refundRequired: false,
  payments: [
    {
      eventId: "evt_1f2e3d4c",
      transactionId: "tx_9a8b7c6d",
      type: "payment.succeeded",
      status: "SUCCEEDED",
      amount: 3998,
      currency: "USD",
      reason: null,
      receivedAt: "2026-05-01T12:03:10.000Z",
    },
  ],
};

export const PlacedOrderSchema = z
  .object({
    orderId: z.string(),
    status: z.enum(["PENDING", "PAID", "CANCELLED", "EXPIRED", "REFUNDED"]),
    items: z.array(OrderItemSchema),
    total: z.number().int(),
    currency: z.string(),
    expiresAt: Iso,
  })
  .meta({ id: "PlacedOrder", examples: [PLACED_EXAMPLE] });

export const OrderSchema = PlacedOrderSchema.extend({
  createdAt: Iso,
  paidAt: Iso.nullable(),
  refundRequired: z.boolean(),
  payments: z.array(PaymentSchema),
}).meta({ id: "Order", examples: [ORDER_EXAMPLE] });

export const OrderParams = z.object({ orderId: z.string().max(64) });
export const OrdersQuery = z.object({
  limit: z.coerce.number().int().min(1).max(50).default(20),
  cursor: Text(256).optional(),
});
export const OrderListSchema = z.object({ items: z.array(OrderSchema), next: z.string().nullable() }).meta({
  examples: [
    {
      items: [
        {
          ...ORDER_EXAMPLE,
          orderId: EXAMPLE.flashOrderId,
          status: "PENDING",
          items: [
            {
              skuId: "grinder-flash",
              productId: "grinder-pro",
              merchantId: "m-roastery",
              name: "Burr Grinder Pro (flash sale)",
              image: null,
              spec: { edition: "launch" },
              quantity: 1,
              unitPrice: 9900,
              lineTotal: 9900,
            },
          ],
          total: 9900,
          paidAt: null,
          payments: [],
        },
        ORDER_EXAMPLE,
      ],
      next: null,
    },
  ],
});

export const PaymentWebhookBody = z
  .strictObject({
    eventId: Text(200),
    type: z.enum(["payment.succeeded", "payment.failed", "payment.refunded"]),
    orderId: Text(200),
    transactionId: Text(200),
    amount: Money,
    currency: Currency,
  })
  .meta({
    examples: [
      {
        eventId: "evt_1f2e3d4c",
        type: "payment.succeeded",
        orderId: EXAMPLE.checkoutOrderId,
        transactionId: "tx_9a8b7c6d",
        amount: 3998,
        currency: "USD",
      },
    ],
  });

// ---- operations ----------------------------------------------------------------------------------

export const CartKeyParams = z.object({
  cartKey: z
    .string()
    .refine(
      (key) =>
        key.startsWith("user:")
          ? USER_ID.test(key.slice(5))
          : key.startsWith("guest:") && GUEST_CART_ID.test(key.slice(6)),
      "user:{id} or guest:{uuid}, as the public API accepts them",
    )
    .meta({ example: "guest:4f7c1c1e-8d3a-4a52-9b7e-2f0d6c1a9e11" }),
});

export const HealthSchema = z
  .object({
    status: z.enum(["ok", "degraded"]),
    checks: z.object({
      postgres: z.string(),
      redis: z.string(),
      inventory: z.string().meta({ description: "ok, or how many SKUs the reconciliation found drifting" }),
    }),
  })
  .meta({
    examples: [{ status: "degraded", checks: { postgres: "ok", redis: "disabled (snapshots off)", inventory: "ok" } }],
  });
