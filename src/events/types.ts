/**
 * What the consumer accepts off a queue. Producers are our own actors, but a
 * queue is a boundary: a message that does not match is dead-lettered at once
 * instead of failing the same way on every retry.
 */
import { z } from "zod";
import { CartLineSchema } from "../contracts/cart";
import { OrderSchema, PaymentSchema } from "../contracts/order";
import { Amount, Int, IsoTime, UnitPrice } from "../contracts/scalars";
import { PromotionSchema } from "../contracts/promotion";
import { SkuSchema } from "../contracts/sku";
import type { Envelope, EventType } from "./envelope";

/** `sku.updated` carries the admin view; events written before `available` and `saleStartsAt` existed lack them. */
const skuAdminView = SkuSchema.omit({ available: true }).extend({ saleStartsAt: IsoTime.nullable().optional() });

const movement = z.looseObject({
  skuId: z.string().min(1),
  refId: z.string(),
  reason: z.string(),
  kind: z.enum(["reserve", "release", "commit", "restock"]),
  quantity: Int,
  onHandDelta: Int,
  reservedDelta: Int,
  soldDelta: Int,
  counters: z.object({ onHand: Int, reserved: Int, sold: Int }),
});

const cartChange = z.looseObject({
  cartKey: z.string().regex(/^(user|guest):.+/),
  currency: z.string().nullable(),
  updatedAt: IsoTime,
  upserted: z.array(CartLineSchema),
  removed: z.array(z.string()),
  complete: z.boolean(),
  code: z.string().nullable().optional(),
});

const cartAlert = z.looseObject({
  cartKey: z.string().regex(/^(user|guest):.+/),
  skuId: z.string().min(1),
  skuVersion: Int,
  quantity: Int,
  unitPrice: UnitPrice,
  currentPrice: UnitPrice,
  available: Int,
  status: z.string(),
});

const redemption = z.looseObject({
  promotionId: z.string().min(1),
  code: z.string().nullable(),
  orderId: z.string().min(1),
  customerId: z.string().min(1),
  amount: Amount,
  currency: z.string(),
  orderVersion: Int,
});

/** Order events carry the order without its payments (those travel as `payment.recorded`). */
const order = OrderSchema.omit({ payments: true });

const dataSchemas: Record<EventType, z.ZodType> = {
  "sku.updated": skuAdminView,
  "inventory.reserved": movement,
  "inventory.released": movement,
  "inventory.committed": movement,
  "inventory.restocked": movement,
  "cart.item_added": cartChange,
  "cart.item_updated": cartChange,
  "cart.item_removed": cartChange,
  "cart.selection_changed": cartChange,
  "cart.cleared": cartChange,
  "cart.merged": cartChange,
  "cart.checked_out": cartChange,
  "cart.expired": cartChange,
  "cart.snapshot": cartChange,
  "cart.promotion_applied": cartChange,
  "cart.promotion_removed": cartChange,
  "cart.price_dropped": cartAlert,
  "cart.price_raised": cartAlert,
  "cart.stock_short": cartAlert,
  "cart.sku_unavailable": cartAlert,
  "order.created": order,
  "order.paid": order,
  "order.cancelled": order,
  "order.expired": order,
  "order.refunded": order,
  "order.refund_required": order,
  "order.refund_settled": order,
  "payment.recorded": z.looseObject({ orderId: z.string().min(1), ownerId: z.string(), payment: PaymentSchema }),
  "promotion.updated": PromotionSchema,
  "promotion.redeemed": redemption,
  "promotion.released": redemption,
  "ops.alert": z.looseObject({
    condition: z.enum(["drift", "dead_letters", "queue_lag"]),
    state: z.enum(["firing", "cleared"]),
    value: z.number(),
    threshold: z.number(),
    detail: z.string(),
  }),
  "ops.heartbeat": z.looseObject({ queue: z.string().min(1) }),
};

const envelopeSchema = z.object({
  id: z.string().min(1).max(200),
  type: z.enum(Object.keys(dataSchemas) as [EventType, ...EventType[]]),
  occurredAt: IsoTime,
  aggregateId: z.string().min(1),
  version: Int.nonnegative(),
  data: z.unknown(),
  requestId: z.string().max(255).optional(),
});

export type ParsedEnvelope = { ok: true; event: Envelope } | { ok: false; error: string };

export function parseEnvelope(body: unknown): ParsedEnvelope {
  const outer = envelopeSchema.safeParse(body);
  if (!outer.success) return { ok: false, error: `invalid envelope: ${z.prettifyError(outer.error)}` };
  const data = dataSchemas[outer.data.type].safeParse(outer.data.data);
  if (!data.success) return { ok: false, error: `invalid ${outer.data.type} data: ${z.prettifyError(data.error)}` };
  return { ok: true, event: outer.data as Envelope };
}
