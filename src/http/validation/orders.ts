/**
 * Checkout, order and payment schemas: the checkout and flash bodies, the
 * order as placed and as read (picked from the order entity, contracts/order.ts),
 * and the payment provider's webhook body.
 */
import { z } from "zod";
import { MAX_CART_LINES } from "../../contracts/limits";
import { MAX_ORDER_ID_LENGTH } from "../../domain/order-ids";
import { OrderSchema } from "../../contracts/order";
import { Amount, Currency, EXAMPLE, Quantity, SkuId, Text } from "./fields";
import { PromotionCode } from "./promotions";

export const CheckoutBody = z
  .strictObject({
    skuIds: z
      .array(SkuId)
      .min(1)
      .max(MAX_CART_LINES)
      .optional()
      .meta({ description: "lines to check out; default: the selected lines" }),
    expectedTotal: Amount.optional().meta({
      description: "the total the buyer saw; a different computed total is PRICE_CHANGED",
    }),
  })
  .meta({ examples: [{ skuIds: ["tee-red-m"], expectedTotal: 3998 }] });

export const FlashBody = z
  .strictObject({ quantity: Quantity, code: PromotionCode.optional().meta({ description: "a promotion code" }) })
  .meta({ examples: [{ quantity: 1 }, { quantity: 1, code: "BLACKFRIDAY" }] });

const PLACED_EXAMPLE = {
  orderId: EXAMPLE.checkoutOrderId,
  status: "PENDING",
  items: [
    {
      ...EXAMPLE.line,
      quantity: 2,
      unitPrice: 1999,
      lineTotal: 3998,
      discounts: [{ promotionId: "bf-2026", code: "BLACKFRIDAY", amount: 399 }],
    },
  ],
  subtotal: 3998,
  discounts: [{ promotionId: "bf-2026", code: "BLACKFRIDAY", kind: "percent", amount: 399 }],
  total: 3599,
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
      amount: 3599,
      currency: "USD",
      reason: null,
      receivedAt: "2026-05-01T12:03:10.000Z",
    },
  ],
};

/** What checkout and flash buy answer: the order entity's public part as placed. */
const PLACED_FIELDS = {
  orderId: true,
  status: true,
  items: true,
  subtotal: true,
  discounts: true,
  total: true,
  currency: true,
  expiresAt: true,
} as const;

export const PlacedOrderSchema = OrderSchema.pick(PLACED_FIELDS)
  .extend({
    clientSecret: z.string().nullable().optional().meta({
      description:
        "With Stripe on (STRIPE_SECRET_KEY): the PaymentIntent's client secret for Stripe.js; null when Stripe did not answer in time (ask POST /v1/orders/{orderId}/payment-intent). Absent without Stripe.",
    }),
  })
  .meta({
    id: "PlacedOrder",
    examples: [PLACED_EXAMPLE, { ...PLACED_EXAMPLE, clientSecret: "pi_3Pq_secret_9f2c" }],
  });

/** An order as its owner reads it: as placed, plus its times, refund flag and payments (no owner, source or version). */
export const OrderViewSchema = OrderSchema.pick({
  ...PLACED_FIELDS,
  createdAt: true,
  paidAt: true,
  refundRequired: true,
  payments: true,
}).meta({ id: "Order", examples: [ORDER_EXAMPLE] });

/** Any order id we hand out fits; a malformed one is simply not found (404), and never wakes an actor. */
export const OrderParams = z.object({ orderId: z.string().min(1).max(MAX_ORDER_ID_LENGTH) });
export const OrdersQuery = z.object({
  limit: z.coerce.number().int().min(1).max(50).default(20),
  cursor: Text(256).optional(),
});
export const OrderListSchema = z.object({ items: z.array(OrderViewSchema), next: z.string().nullable() }).meta({
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
          subtotal: 9900,
          discounts: [],
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
    amount: Amount,
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
