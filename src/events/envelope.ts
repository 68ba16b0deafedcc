/**
 * Every queue message is one envelope (docs/events.md). `id` is unique and is
 * the idempotency key in Postgres; `version` is the aggregate's version after
 * the change, so the consumer never lets an older state overwrite a newer one.
 */
import type { CartLine } from "../domain/cart";
import type { SkuAdminView } from "../domain/catalog";
import type { Order, Payment } from "../domain/order";
import type { Promotion } from "../domain/promotions";
import type { Movement, StockCounters } from "../domain/stock";
import { currentRequestId } from "../log/context";

export interface Envelope<T extends EventType = EventType> {
  id: string;
  type: T;
  occurredAt: string;
  aggregateId: string;
  version: number;
  data: EventData[T];
  /** The request whose change wrote the event (absent for timed work and older events): the consumer logs it. */
  requestId?: string;
}

export interface InventoryMovementData extends Movement {
  skuId: string;
  /** The order id for reserve/release/commit and refunds, `admin:v{version}` for admin stock changes. */
  refId: string;
  reason: string;
  counters: StockCounters;
}

export type CartEventType =
  | "cart.item_added"
  | "cart.item_updated"
  | "cart.item_removed"
  | "cart.selection_changed"
  | "cart.cleared"
  | "cart.merged"
  | "cart.checked_out"
  | "cart.expired"
  | "cart.snapshot"
  | "cart.promotion_applied"
  | "cart.promotion_removed";

export interface CartChangeData {
  cartKey: string;
  currency: string | null;
  updatedAt: string;
  /** Lines written by this change, in their new state. */
  upserted: CartLine[];
  /** SKUs whose lines this change removed. */
  removed: string[];
  /** True when `upserted` is the whole cart (snapshot): lines not in it are gone. */
  complete: boolean;
  /** The cart's promotion code after the change (absent in events written before codes existed). */
  code?: string | null;
  /** Free-form detail for analytics, e.g. the merge strategy or the order id. */
  detail?: Record<string, unknown>;
}

/** A promotion redeemed by a paid order, or released by one that was cancelled, expired or failed (docs/events.md). */
export interface PromotionRedemptionData {
  promotionId: string;
  code: string | null;
  orderId: string;
  /** The order's owner (`user:{id}`). */
  customerId: string;
  /** The discount the order got from the promotion, in minor units of `currency`. */
  amount: number;
  currency: string;
  /** The order's version at this change: a later change of the redemption wins in Postgres. */
  orderVersion: number;
}

export interface PaymentRecordedData {
  orderId: string;
  ownerId: string;
  payment: Payment;
}

/** Price and stock alerts to the carts holding a SKU (src/alerts); one per cart, SKU version and kind. */
export type CartAlertType = "cart.price_dropped" | "cart.price_raised" | "cart.stock_short" | "cart.sku_unavailable";

export interface CartAlertData {
  cartKey: string;
  skuId: string;
  skuVersion: number;
  quantity: number;
  /** The line's snapshot price and the SKU's price now. */
  unitPrice: number;
  currentPrice: number;
  available: number;
  status: string;
}

export const CART_ALERT_TYPES: readonly CartAlertType[] = [
  "cart.price_dropped",
  "cart.price_raised",
  "cart.stock_short",
  "cart.sku_unavailable",
];

export function isCartAlert(type: string): type is CartAlertType {
  return (CART_ALERT_TYPES as readonly string[]).includes(type);
}

/** An operations alert (src/ops/alerts.ts): sent once when a condition starts and once when it clears. */
export interface OpsAlertData {
  condition: "drift" | "dead_letters" | "queue_lag";
  state: "firing" | "cleared";
  /** The measured value (SKUs drifting, open dead letters, lag in ms) and the threshold it passed. */
  value: number;
  threshold: number;
  detail: string;
}

/** A pipeline heartbeat (src/ops/queue-lag.ts): the cron sends one per event queue; its landing shows the queue moves. */
export interface OpsHeartbeatData {
  queue: string;
}

export interface EventData {
  "sku.updated": SkuAdminView;
  "inventory.reserved": InventoryMovementData;
  "inventory.released": InventoryMovementData;
  "inventory.committed": InventoryMovementData;
  "inventory.restocked": InventoryMovementData;
  "cart.item_added": CartChangeData;
  "cart.item_updated": CartChangeData;
  "cart.item_removed": CartChangeData;
  "cart.selection_changed": CartChangeData;
  "cart.cleared": CartChangeData;
  "cart.merged": CartChangeData;
  "cart.checked_out": CartChangeData;
  "cart.expired": CartChangeData;
  "cart.snapshot": CartChangeData;
  "cart.promotion_applied": CartChangeData;
  "cart.promotion_removed": CartChangeData;
  "cart.price_dropped": CartAlertData;
  "cart.price_raised": CartAlertData;
  "cart.stock_short": CartAlertData;
  "cart.sku_unavailable": CartAlertData;
  "order.created": Order;
  "order.paid": Order;
  "order.cancelled": Order;
  "order.expired": Order;
  "order.refunded": Order;
  "order.refund_required": Order;
  "order.refund_settled": Order;
  "payment.recorded": PaymentRecordedData;
  "promotion.updated": Promotion;
  "promotion.redeemed": PromotionRedemptionData;
  "promotion.released": PromotionRedemptionData;
  "ops.alert": OpsAlertData;
  "ops.heartbeat": OpsHeartbeatData;
}

export type EventType = keyof EventData;

export type InventoryEventType =
  | "inventory.reserved"
  | "inventory.released"
  | "inventory.committed"
  | "inventory.restocked";

export const INVENTORY_EVENT_OF: Record<Movement["kind"], InventoryEventType> = {
  reserve: "inventory.reserved",
  release: "inventory.released",
  commit: "inventory.committed",
  restock: "inventory.restocked",
};

/** Which queue carries which events. */
export type QueueName = "cart-events" | "order-events";

export function queueOf(type: EventType): QueueName {
  return type.startsWith("cart.") ? "cart-events" : "order-events";
}

export function envelope<T extends EventType>(
  type: T,
  aggregateId: string,
  version: number,
  data: EventData[T],
  now = Date.now(),
): Envelope<T> {
  const event: Envelope<T> = {
    id: crypto.randomUUID(),
    type,
    occurredAt: new Date(now).toISOString(),
    aggregateId,
    version,
    data,
  };
  const requestId = currentRequestId();
  if (requestId !== undefined) event.requestId = requestId;
  return event;
}
