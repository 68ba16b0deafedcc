/**
 * What the consumer accepts off a queue. Producers are our own actors, but a
 * queue is a boundary: a message that does not match is dead-lettered at once
 * instead of failing the same way on every retry.
 */
import { z } from "zod";
import type { Envelope, EventType } from "./envelope";

const int = z.number().int();
const isoTime = z.string().min(10);

/** The product snapshot fields (domain ProductSnapshot) every SKU, cart line and order line carries. */
export const productSnapshotShape = {
  skuId: z.string().min(1),
  productId: z.string(),
  merchantId: z.string(),
  name: z.string(),
  image: z.string().nullable(),
  spec: z.union([z.string(), z.record(z.string(), z.string())]).nullable(),
};

const skuAdminView = z.looseObject({
  ...productSnapshotShape,
  price: int,
  currency: z.string(),
  status: z.enum(["active", "inactive"]),
  purchaseLimit: int.nullable(),
  stripes: int,
  saleStartsAt: isoTime.nullable().optional(),
  onHand: int,
  reserved: int,
  sold: int,
  version: int,
  updatedAt: isoTime,
});

const movement = z.looseObject({
  skuId: z.string().min(1),
  refId: z.string(),
  reason: z.string(),
  kind: z.enum(["reserve", "release", "commit", "restock"]),
  quantity: int,
  onHandDelta: int,
  reservedDelta: int,
  soldDelta: int,
  counters: z.object({ onHand: int, reserved: int, sold: int }),
});

const cartLine = z.looseObject({
  ...productSnapshotShape,
  quantity: int,
  selected: z.boolean(),
  unitPrice: int,
  currency: z.string(),
  addedAt: isoTime,
  position: int,
  version: int,
});

const cartChange = z.looseObject({
  cartKey: z.string().regex(/^(user|guest):.+/),
  currency: z.string().nullable(),
  updatedAt: isoTime,
  upserted: z.array(cartLine),
  removed: z.array(z.string()),
  complete: z.boolean(),
});

const cartAlert = z.looseObject({
  cartKey: z.string().regex(/^(user|guest):.+/),
  skuId: z.string().min(1),
  skuVersion: int,
  quantity: int,
  unitPrice: int,
  currentPrice: int,
  available: int,
  status: z.string(),
});

const payment = z.looseObject({
  eventId: z.string().min(1),
  transactionId: z.string().min(1),
  type: z.string(),
  status: z.enum(["SUCCEEDED", "FAILED", "REFUNDED"]),
  amount: int,
  currency: z.string(),
  reason: z.string().nullable(),
  receivedAt: isoTime,
});

const order = z.looseObject({
  orderId: z.string().min(1),
  ownerId: z.string().min(1),
  source: z.enum(["checkout", "flash"]),
  status: z.enum(["PENDING", "PAID", "CANCELLED", "EXPIRED", "REFUNDED"]),
  items: z.array(
    z.looseObject({
      ...productSnapshotShape,
      quantity: int,
      unitPrice: int,
      lineTotal: int,
    }),
  ),
  total: int,
  currency: z.string(),
  createdAt: isoTime,
  expiresAt: isoTime,
  paidAt: isoTime.nullable(),
  closedAt: isoTime.nullable(),
  refundRequired: z.boolean(),
  version: int,
});

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
  "payment.recorded": z.looseObject({ orderId: z.string().min(1), ownerId: z.string(), payment }),
};

const envelopeSchema = z.object({
  id: z.string().min(1).max(200),
  type: z.enum(Object.keys(dataSchemas) as [EventType, ...EventType[]]),
  occurredAt: isoTime,
  aggregateId: z.string().min(1),
  version: int.nonnegative(),
  data: z.unknown(),
});

export type ParsedEnvelope = { ok: true; event: Envelope } | { ok: false; error: string };

export function parseEnvelope(body: unknown): ParsedEnvelope {
  const outer = envelopeSchema.safeParse(body);
  if (!outer.success) return { ok: false, error: `invalid envelope: ${z.prettifyError(outer.error)}` };
  const data = dataSchemas[outer.data.type].safeParse(outer.data.data);
  if (!data.success) return { ok: false, error: `invalid ${outer.data.type} data: ${z.prettifyError(data.error)}` };
  return { ok: true, event: outer.data as Envelope };
}
