/**
 * The order entity and its parts (order lines, payments): one schema each,
 * picked from by the events, the API responses and the domain types.
 */
import { z } from "zod";
import { ProductSnapshotSchema } from "./product";
import { DiscountSchema, LineDiscountSchema } from "./promotion";
import { Amount, Int, IsoTime, UnitPrice } from "./scalars";

export const OrderStatusSchema = z.enum(["PENDING", "PAID", "CANCELLED", "EXPIRED", "REFUNDED"]);
export const PaymentEventTypeSchema = z.enum(["payment.succeeded", "payment.failed", "payment.refunded"]);
/** PARTIALLY_REFUNDED: a refund of part of a payment (the order stays as it was); REFUNDED: one that completes it. */
export const PaymentStatusSchema = z.enum(["SUCCEEDED", "FAILED", "REFUNDED", "PARTIALLY_REFUNDED"]);

export const OrderItemSchema = ProductSnapshotSchema.extend({
  quantity: Int,
  /** Price snapshot taken when the stock was reserved. */
  unitPrice: UnitPrice,
  /** unitPrice x quantity, before discounts. */
  lineTotal: Amount,
  /** Each promotion's discount on this line (absent on orders placed before promotions). */
  discounts: z.array(LineDiscountSchema).optional(),
});

/** A promotion's redemption an order holds: kept by the budget ledger `holder` under the order's reservation id. */
export const RedemptionSchema = z.object({ promotionId: z.string(), holder: z.string(), reservationId: z.string() });

/** A payment provider's event as recorded on its order. */
export const PaymentSchema = z.object({
  eventId: z.string().min(1),
  transactionId: z.string().min(1),
  type: PaymentEventTypeSchema,
  status: PaymentStatusSchema,
  amount: Amount,
  currency: z.string(),
  reason: z.string().nullable(),
  /** Refunds only: the `transactionId` of the payment the money goes back from. */
  refundOf: z.string().optional(),
  receivedAt: IsoTime,
});

export const OrderSchema = z.object({
  orderId: z.string().min(1),
  /** `user:{id}` or `guest:{clientCartId}`: who may see and pay the order. */
  ownerId: z.string().min(1),
  source: z.enum(["checkout", "flash"]),
  status: OrderStatusSchema,
  items: z.array(OrderItemSchema),
  /** The lines before discounts (absent on orders placed before promotions: then equal to total). */
  subtotal: Amount.optional(),
  /** Each promotion's discount on the order. */
  discounts: z.array(DiscountSchema).optional(),
  /** What is to be paid: subtotal less the discounts. */
  total: Amount,
  currency: z.string(),
  createdAt: IsoTime,
  expiresAt: IsoTime,
  paidAt: IsoTime.nullable(),
  closedAt: IsoTime.nullable(),
  refundRequired: z.boolean(),
  payments: z.array(PaymentSchema),
  /** The promotions' redemptions this order holds (internal: where they are kept). */
  redemptions: z.array(RedemptionSchema).optional(),
  /** Bumped on every change; Postgres only moves forward. */
  version: Int,
});
