/**
 * Postgres is the system of record for history and analytics, fed by the
 * queue consumer (docs/events.md). Every row written from an event is
 * idempotent (processed_events) and versioned where state can be overwritten
 * (an older event never rolls a newer state back).
 */
import { sql } from "drizzle-orm";
import {
  bigint,
  bigserial,
  boolean,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from "drizzle-orm/pg-core";
import type { SkuSpec } from "../domain/catalog";

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: "string" });
/**
 * Money in minor units: bigint, read back as a JS number. Every amount the API accepts is below
 * 2^53 (contracts/limits.ts), so the number is exact; an integer column overflowed at 2^31.
 */
const money = (name: string) => bigint(name, { mode: "number" });
/** A SKU's stock counters: sold only grows over a SKU's life, so they get the same headroom. */
const count = (name: string) => bigint(name, { mode: "number" });

/** The product snapshot columns a SKU, a cart line and an order line share. */
const productColumns = () => ({
  productId: text("product_id").notNull(),
  merchantId: text("merchant_id").notNull(),
  name: text("name").notNull(),
  image: text("image"),
  spec: jsonb("spec").$type<SkuSpec>(),
});

export const skus = pgTable(
  "skus",
  {
    skuId: text("sku_id").primaryKey(),
    ...productColumns(),
    price: money("price").notNull(),
    currency: text("currency").notNull(),
    status: text("status").notNull(),
    purchaseLimit: integer("purchase_limit"),
    stripes: integer("stripes").notNull().default(1),
    saleStartsAt: ts("sale_starts_at"),
    onHand: count("on_hand").notNull().default(0),
    reserved: count("reserved").notNull().default(0),
    sold: count("sold").notNull().default(0),
    version: integer("version").notNull(),
    updatedAt: ts("updated_at").notNull(),
  },
  (t) => [
    index("skus_product_idx").on(t.productId),
    index("skus_merchant_idx").on(t.merchantId),
    index("skus_status_idx").on(t.status, t.productId),
  ],
);

export const carts = pgTable(
  "carts",
  {
    cartKey: text("cart_key").primaryKey(),
    ownerType: text("owner_type").notNull(),
    ownerId: text("owner_id").notNull(),
    currency: text("currency"),
    /** The promotion code applied to the cart (upper-cased), if any. */
    code: text("code"),
    version: integer("version").notNull(),
    updatedAt: ts("updated_at").notNull(),
    /** Guest carts only: 30 days after the last change. */
    expiresAt: ts("expires_at"),
    syncedAt: ts("synced_at").notNull().default(sql`now()`),
  },
  (t) => [
    index("carts_owner_idx").on(t.ownerId),
    index("carts_updated_idx").on(t.updatedAt),
    index("carts_expires_idx").on(t.expiresAt),
  ],
);

export const cartItems = pgTable(
  "cart_items",
  {
    cartKey: text("cart_key").notNull(),
    skuId: text("sku_id").notNull(),
    position: integer("position").notNull(),
    ...productColumns(),
    quantity: integer("quantity").notNull(),
    selected: boolean("selected").notNull(),
    unitPrice: money("unit_price").notNull(),
    currency: text("currency").notNull(),
    addedAt: ts("added_at").notNull(),
    /** Cart version at which this line last changed; removed lines stay as tombstones so a late event cannot revive them. */
    version: integer("version").notNull(),
    removed: boolean("removed").notNull().default(false),
  },
  (t) => [primaryKey({ columns: [t.cartKey, t.skuId] }), index("cart_items_sku_idx").on(t.skuId)],
);

export const cartEvents = pgTable(
  "cart_events",
  {
    eventId: text("event_id").primaryKey(),
    cartKey: text("cart_key").notNull(),
    type: text("type").notNull(),
    version: integer("version").notNull(),
    occurredAt: ts("occurred_at").notNull(),
    data: jsonb("data").notNull(),
  },
  (t) => [index("cart_events_cart_idx").on(t.cartKey, t.version), index("cart_events_occurred_idx").on(t.occurredAt)],
);

export const orders = pgTable(
  "orders",
  {
    orderId: text("order_id").primaryKey(),
    ownerId: text("owner_id").notNull(),
    source: text("source").notNull(),
    status: text("status").notNull(),
    /** The lines before discounts; total = subtotal - discount. */
    subtotal: money("subtotal"),
    discount: money("discount").notNull().default(0),
    /** Each promotion's discount: [{ promotionId, code, kind, amount }]. */
    discounts: jsonb("discounts"),
    total: money("total").notNull(),
    currency: text("currency").notNull(),
    refundRequired: boolean("refund_required").notNull().default(false),
    createdAt: ts("created_at").notNull(),
    expiresAt: ts("expires_at").notNull(),
    paidAt: ts("paid_at"),
    closedAt: ts("closed_at"),
    version: integer("version").notNull(),
    updatedAt: ts("updated_at").notNull().default(sql`now()`),
  },
  (t) => [
    index("orders_owner_idx").on(t.ownerId, t.createdAt),
    index("orders_pending_expiry_idx").on(t.expiresAt).where(sql`status = 'PENDING'`),
  ],
);

export const orderItems = pgTable(
  "order_items",
  {
    orderId: text("order_id").notNull(),
    skuId: text("sku_id").notNull(),
    ...productColumns(),
    quantity: integer("quantity").notNull(),
    unitPrice: money("unit_price").notNull(),
    lineTotal: money("line_total").notNull(),
    /** The promotions' discounts on this line, summed. */
    discount: money("discount").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.orderId, t.skuId] }), index("order_items_sku_idx").on(t.skuId)],
);

export const payments = pgTable(
  "payments",
  {
    eventId: text("event_id").primaryKey(),
    transactionId: text("transaction_id").notNull(),
    orderId: text("order_id").notNull(),
    type: text("type").notNull(),
    status: text("status").notNull(),
    amount: money("amount").notNull(),
    currency: text("currency").notNull(),
    reason: text("reason"),
    receivedAt: ts("received_at").notNull(),
  },
  (t) => [uniqueIndex("payments_transaction_id_key").on(t.transactionId), index("payments_order_idx").on(t.orderId)],
);

export const inventoryAudit = pgTable(
  "inventory_audit",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    eventId: text("event_id").notNull(),
    skuId: text("sku_id").notNull(),
    kind: text("kind").notNull(),
    refId: text("ref_id").notNull(),
    reason: text("reason").notNull(),
    quantity: integer("quantity").notNull(),
    onHandDelta: integer("on_hand_delta").notNull(),
    reservedDelta: integer("reserved_delta").notNull(),
    soldDelta: integer("sold_delta").notNull(),
    skuVersion: integer("sku_version").notNull(),
    occurredAt: ts("occurred_at").notNull(),
  },
  (t) => [
    uniqueIndex("inventory_audit_event_id_key").on(t.eventId),
    index("inventory_audit_sku_idx").on(t.skuId),
    index("inventory_audit_ref_idx").on(t.refId),
  ],
);

/**
 * Drift found by the inventory reconciliation: a SKU actor's counters minus
 * what its audit rows add up to. A drift seen twice with the same
 * fingerprint (counters and version unchanged, so no event was in flight) is
 * repaired from the actor with one `reconcile` audit row.
 */
export const inventoryDrift = pgTable("inventory_drift", {
  skuId: text("sku_id").primaryKey(),
  fingerprint: text("fingerprint").notNull(),
  onHandDrift: integer("on_hand_drift").notNull(),
  reservedDrift: integer("reserved_drift").notNull(),
  soldDrift: integer("sold_drift").notNull(),
  firstSeenAt: ts("first_seen_at").notNull(),
  lastSeenAt: ts("last_seen_at").notNull(),
  repairedAt: ts("repaired_at"),
});

/** Idempotency of the consumer: an event id is applied once, in the same transaction as its writes. */
export const processedEvents = pgTable("processed_events", {
  eventId: text("event_id").primaryKey(),
  type: text("type").notNull(),
  processedAt: ts("processed_at").notNull().default(sql`now()`),
});

/** Messages that could not be processed after all retries (or could never be), for inspection and replay. */
export const deadLetters = pgTable(
  "dead_letters",
  {
    messageId: text("message_id").primaryKey(),
    queue: text("queue").notNull(),
    body: jsonb("body"),
    error: text("error"),
    receivedAt: ts("received_at").notNull().default(sql`now()`),
    /** open, replayed or discarded (src/ops/dead-letters.ts); a resolved letter is kept for the audit trail. */
    status: text("status").notNull().default("open"),
    resolvedAt: ts("resolved_at"),
  },
  (t) => [index("dead_letters_received_idx").on(t.receivedAt), index("dead_letters_status_idx").on(t.status)],
);

/**
 * The local sink of the metrics (src/ops/metrics.ts): on Cloudflare the data points go to Workers
 * Analytics Engine; locally each isolate adds them up per 5 s bucket and writes one row per bucket
 * and series. Several isolates may write the same bucket and series: readers sum the rows.
 */
export const opsMetrics = pgTable(
  "ops_metrics",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    at: ts("at").notNull(),
    metric: text("metric").notNull(),
    dim1: text("dim1").notNull().default(""),
    dim2: text("dim2").notNull().default(""),
    count: bigint("count", { mode: "number" }).notNull(),
    total: doublePrecision("total").notNull().default(0),
    max: doublePrecision("max").notNull().default(0),
    /** Durations by bucket (src/ops/histogram.ts), for p50/p99 across isolates. */
    histogram: integer("histogram").array(),
  },
  (t) => [index("ops_metrics_at_idx").on(t.at, t.metric)],
);

/** One row per alert condition (src/ops/alerts.ts): an alert is sent once when it fires and once when it clears. */
export const opsAlerts = pgTable("ops_alerts", {
  condition: text("condition").primaryKey(),
  firing: boolean("firing").notNull(),
  since: ts("since").notNull(),
  detail: jsonb("detail"),
});

/** The pipeline's heartbeats (src/ops/queue-lag.ts): sent by the cron through each event queue, landed when processed_events has them. */
export const opsHeartbeats = pgTable("ops_heartbeats", {
  eventId: text("event_id").primaryKey(),
  queue: text("queue").notNull(),
  sentAt: ts("sent_at").notNull(),
});

/** The last reconciliation's result (src/cron/reconcile.ts), for the stock view; one row. */
export const reconciliations = pgTable("reconciliations", {
  name: text("name").primaryKey(),
  ranAt: ts("ran_at").notNull(),
  ok: boolean("ok").notNull(),
  report: jsonb("report").notNull(),
});

/** Promotions as the catalog defines them (newest version wins); the budget's counters live in its ledger. */
export const promotions = pgTable(
  "promotions",
  {
    promotionId: text("promotion_id").primaryKey(),
    code: text("code"),
    kind: text("kind").notNull(),
    value: money("value").notNull(),
    get: integer("get"),
    currency: text("currency"),
    appliesTo: jsonb("applies_to"),
    minSubtotal: money("min_subtotal"),
    startsAt: ts("starts_at"),
    endsAt: ts("ends_at"),
    limit: integer("limit"),
    limitPerCustomer: integer("limit_per_customer"),
    stripes: integer("stripes").notNull().default(1),
    active: boolean("active").notNull(),
    version: integer("version").notNull(),
    updatedAt: ts("updated_at").notNull(),
  },
  (t) => [index("promotions_code_idx").on(t.code)],
);

/**
 * One row per promotion an order used: `redeemed` once the order is paid, `released` when it
 * was cancelled, expired, failed or refunded (the order's version orders the two).
 */
export const promotionRedemptions = pgTable(
  "promotion_redemptions",
  {
    promotionId: text("promotion_id").notNull(),
    orderId: text("order_id").notNull(),
    code: text("code"),
    customerId: text("customer_id").notNull(),
    amount: money("amount").notNull(),
    currency: text("currency").notNull(),
    status: text("status").notNull(),
    orderVersion: integer("order_version").notNull(),
    updatedAt: ts("updated_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.promotionId, t.orderId] }),
    index("promotion_redemptions_customer_idx").on(t.customerId),
  ],
);
