import type { SQL } from "drizzle-orm";
import { and, eq, getTableColumns, lt, notInArray, sql } from "drizzle-orm";
import type { PgTable } from "drizzle-orm/pg-core";
import type { CartLine } from "../domain/cart";
import type { SkuAdminView } from "../domain/catalog";
import { productSnapshot } from "../domain/catalog";
import type { Order } from "../domain/order";
import type { CartAlertType, CartChangeData, Envelope, PaymentRecordedData } from "../events/envelope";
import { isCartAlert } from "../events/envelope";
import type { Database } from "./client";
import {
  cartEvents,
  cartItems,
  carts,
  inventoryAudit,
  orderItems,
  orders,
  payments,
  processedEvents,
  skus,
} from "./schema";

/** A transaction (or the database itself) that projections write through. */
export type Writer = Parameters<Parameters<Database["transaction"]>[0]>[0];

/** What the projections read from the environment. */
export interface ProjectionSettings {
  /** A guest cart row expires this long after its last change (GUEST_CART_TTL_DAYS, as the actors read it). */
  guestCartTtlMs: number;
}

/**
 * `SET col = excluded.col` for every column but the key, for versioned
 * upserts: the row is overwritten only by a newer version (setWhere).
 */
function excludedColumns<T extends PgTable>(table: T, except: string[]): Record<string, SQL> {
  const set: Record<string, SQL> = {};
  for (const [key, column] of Object.entries(getTableColumns(table))) {
    if (!except.includes(key)) set[key] = sql.raw(`excluded."${column.name}"`);
  }
  return set;
}

/**
 * Applies one event exactly once: the event id is claimed in
 * processed_events in the same transaction as the writes, so a duplicate
 * delivery (or a retry after a crash before the ack) writes nothing.
 * Returns false for a duplicate.
 */
export async function applyEvent(tx: Writer, event: Envelope, settings: ProjectionSettings): Promise<boolean> {
  return (await applyEvents(tx, [event], settings)) === 1;
}

const byKey = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The latest version of each entity among `items` (one upsert statement may
 * touch a row once), in key order: concurrent batches then lock rows in the
 * same order and cannot deadlock each other.
 */
function latestBy<T>(items: T[], key: (item: T) => string, version: (item: T) => number): T[] {
  const latest = new Map<string, T>();
  for (const item of items) {
    const seen = latest.get(key(item));
    if (!seen || version(item) > version(seen)) latest.set(key(item), item);
  }
  return [...latest].sort(([a], [b]) => byKey(a, b)).map(([, item]) => item);
}

/**
 * Applies a batch of events exactly once each, in a handful of statements
 * rather than a handful per event: the batch's event ids are claimed in
 * processed_events in one insert (duplicates write nothing), then each kind
 * of projection is written with one multi-row statement. Counters add up the
 * movements, and catalog, order and cart rows are versioned, so the result is
 * the same as applying the events one by one in any order. Cart changes are
 * applied one by one (each may tombstone the lines it does not list). Returns
 * how many events were new.
 */
export async function applyEvents(tx: Writer, events: Envelope[], settings: ProjectionSettings): Promise<number> {
  const unique = latestBy(
    events,
    (e) => e.id,
    () => 0,
  );
  if (unique.length === 0) return 0;
  const claimed = await tx
    .insert(processedEvents)
    .values(unique.map((e) => ({ eventId: e.id, type: e.type })))
    .onConflictDoNothing()
    .returning({ id: processedEvents.eventId });
  const fresh = new Set(claimed.map((row) => row.id));
  const families = new Map<string, Envelope[]>();
  for (const e of unique) {
    if (!fresh.has(e.id)) continue;
    const family = e.type.slice(0, e.type.indexOf("."));
    const list = families.get(family);
    if (list) list.push(e);
    else families.set(family, [e]);
  }
  for (const [family, batch] of families) {
    switch (family) {
      case "sku":
        await upsertSkus(
          tx,
          batch.map((e) => e.data as SkuAdminView),
        );
        break;
      case "inventory":
        await recordMovements(tx, batch as Envelope<"inventory.reserved">[]);
        break;
      case "cart":
        // Cart by cart in key order (no deadlock with a concurrent batch), each cart's changes in version order.
        batch.sort(
          (a, b) =>
            byKey((a.data as CartChangeData).cartKey, (b.data as CartChangeData).cartKey) || a.version - b.version,
        );
        for (const e of batch) {
          if (isCartAlert(e.type)) await recordCartAlert(tx, e as Envelope<CartAlertType>);
          else await applyCartChange(tx, e as Envelope<"cart.item_added">, settings);
        }
        break;
      case "order":
        await upsertOrders(
          tx,
          batch.map((e) => e.data as Order),
        );
        break;
      case "payment":
        await recordPayments(
          tx,
          batch.map((e) => e.data as PaymentRecordedData),
        );
        break;
      default:
        throw new Error(`no projection for ${batch[0]!.type}`);
    }
  }
  return fresh.size;
}

/**
 * The catalog fields of a SKU, newest version wins. Its counters are not
 * taken from here: they are the running sum of the inventory movements, so
 * they stay exact whatever order events arrive in (and across stock stripes).
 */
async function upsertSkus(tx: Writer, views: SkuAdminView[]): Promise<void> {
  await tx
    .insert(skus)
    .values(
      latestBy(
        views,
        (v) => v.skuId,
        (v) => v.version,
      ).map((v) => ({
        skuId: v.skuId,
        productId: v.productId,
        merchantId: v.merchantId,
        name: v.name,
        image: v.image,
        spec: v.spec,
        price: v.price,
        currency: v.currency,
        status: v.status,
        purchaseLimit: v.purchaseLimit,
        stripes: v.stripes,
        saleStartsAt: v.saleStartsAt ?? null,
        version: v.version,
        updatedAt: v.updatedAt,
      })),
    )
    .onConflictDoUpdate({
      target: skus.skuId,
      set: excludedColumns(skus, ["skuId", "onHand", "reserved", "sold"]),
      setWhere: sql`${skus.version} < excluded.version`,
    });
}

async function recordMovements(tx: Writer, events: Envelope<"inventory.reserved">[]): Promise<void> {
  await tx
    .insert(inventoryAudit)
    .values(
      events.map((e) => ({
        eventId: e.id,
        skuId: e.data.skuId,
        kind: e.data.kind,
        refId: e.data.refId,
        reason: e.data.reason,
        quantity: e.data.quantity,
        onHandDelta: e.data.onHandDelta,
        reservedDelta: e.data.reservedDelta,
        soldDelta: e.data.soldDelta,
        skuVersion: e.version,
        occurredAt: e.occurredAt,
      })),
    )
    .onConflictDoNothing();
  // Counters add up the movements (each applied once, see applyEvents). A movement that arrives
  // before the SKU's catalog row creates a placeholder row the catalog event fills in later.
  const sums = new Map<string, { onHand: number; reserved: number; sold: number; updatedAt: string }>();
  for (const { data: m, occurredAt } of events) {
    const sum = sums.get(m.skuId) ?? { onHand: 0, reserved: 0, sold: 0, updatedAt: occurredAt };
    sum.onHand += m.onHandDelta;
    sum.reserved += m.reservedDelta;
    sum.sold += m.soldDelta;
    sums.set(m.skuId, sum);
  }
  await tx
    .insert(skus)
    .values(
      [...sums]
        .sort(([a], [b]) => byKey(a, b))
        .map(([skuId, sum]) => ({
          skuId,
          productId: "",
          merchantId: "",
          name: "",
          price: 0,
          currency: "",
          status: "pending",
          ...sum,
          version: 0,
        })),
    )
    .onConflictDoUpdate({
      target: skus.skuId,
      set: {
        onHand: sql`${skus.onHand} + excluded.on_hand`,
        reserved: sql`${skus.reserved} + excluded.reserved`,
        sold: sql`${skus.sold} + excluded.sold`,
      },
    });
}

function ownerOf(cartKey: string): { ownerType: string; ownerId: string } {
  const at = cartKey.indexOf(":");
  return { ownerType: cartKey.slice(0, at), ownerId: cartKey.slice(at + 1) };
}

/** A cart alert (src/alerts) is kept in the cart's analytics log; the cart itself did not change. */
async function recordCartAlert(tx: Writer, e: Envelope<CartAlertType>): Promise<void> {
  await tx
    .insert(cartEvents)
    .values({
      eventId: e.id,
      cartKey: e.data.cartKey,
      type: e.type,
      version: e.version,
      occurredAt: e.occurredAt,
      data: e.data,
    })
    .onConflictDoNothing();
}

/**
 * Keeps carts / cart_items equal to the actor's state. Each line carries the
 * cart version at which it last changed and is only overwritten by a newer
 * one; removed lines stay as tombstones, so events arriving out of order or
 * twice converge to the same rows.
 */
export async function applyCartChange(
  tx: Writer,
  e: Envelope<"cart.item_added">,
  settings: ProjectionSettings,
): Promise<void> {
  const d: CartChangeData = e.data;
  await tx
    .insert(cartEvents)
    .values({ eventId: e.id, cartKey: d.cartKey, type: e.type, version: e.version, occurredAt: e.occurredAt, data: d })
    .onConflictDoNothing();
  const owner = ownerOf(d.cartKey);
  await tx
    .insert(carts)
    .values({
      cartKey: d.cartKey,
      ...owner,
      currency: d.currency,
      version: e.version,
      updatedAt: d.updatedAt,
      expiresAt:
        owner.ownerType === "guest" ? new Date(Date.parse(d.updatedAt) + settings.guestCartTtlMs).toISOString() : null,
      syncedAt: new Date().toISOString(),
    })
    .onConflictDoUpdate({
      target: carts.cartKey,
      set: excludedColumns(carts, ["cartKey"]),
      setWhere: sql`${carts.version} < excluded.version`,
    });

  if (d.upserted.length > 0) {
    await tx
      .insert(cartItems)
      .values(d.upserted.map((line) => itemRow(d.cartKey, line)))
      .onConflictDoUpdate({
        target: [cartItems.cartKey, cartItems.skuId],
        set: excludedColumns(cartItems, ["cartKey", "skuId"]),
        setWhere: sql`${cartItems.version} < excluded.version`,
      });
  }
  if (d.removed.length > 0) {
    await tx
      .insert(cartItems)
      .values(d.removed.map((skuId) => tombstone(d.cartKey, skuId, e.version, e.occurredAt)))
      .onConflictDoUpdate({
        target: [cartItems.cartKey, cartItems.skuId],
        set: { removed: sql`true`, version: sql`excluded.version` },
        setWhere: sql`${cartItems.version} < excluded.version`,
      });
  }
  if (d.complete) {
    const kept = d.upserted.map((l) => l.skuId);
    const stale = [eq(cartItems.cartKey, d.cartKey), lt(cartItems.version, e.version), eq(cartItems.removed, false)];
    if (kept.length > 0) stale.push(notInArray(cartItems.skuId, kept));
    await tx
      .update(cartItems)
      .set({ removed: true, version: e.version })
      .where(and(...stale));
  }
}

function itemRow(cartKey: string, line: CartLine) {
  return {
    cartKey,
    ...productSnapshot(line),
    position: line.position,
    quantity: line.quantity,
    selected: line.selected,
    unitPrice: line.unitPrice,
    currency: line.currency,
    addedAt: line.addedAt,
    version: line.version,
    removed: false,
  };
}

function tombstone(cartKey: string, skuId: string, version: number, at: string) {
  return {
    cartKey,
    skuId,
    position: 0,
    productId: "",
    merchantId: "",
    name: "",
    quantity: 0,
    selected: false,
    unitPrice: 0,
    currency: "",
    addedAt: at,
    version,
    removed: true,
  };
}

async function upsertOrders(tx: Writer, all: Order[]): Promise<void> {
  const latest = latestBy(
    all,
    (o) => o.orderId,
    (o) => o.version,
  );
  const updatedAt = new Date().toISOString();
  await tx
    .insert(orders)
    .values(
      latest.map((o) => ({
        orderId: o.orderId,
        ownerId: o.ownerId,
        source: o.source,
        status: o.status,
        total: o.total,
        currency: o.currency,
        refundRequired: o.refundRequired,
        createdAt: o.createdAt,
        expiresAt: o.expiresAt,
        paidAt: o.paidAt,
        closedAt: o.closedAt,
        version: o.version,
        updatedAt,
      })),
    )
    .onConflictDoUpdate({
      target: orders.orderId,
      set: excludedColumns(orders, ["orderId", "createdAt"]),
      setWhere: sql`${orders.version} < excluded.version`,
    });
  const items = latest.flatMap((o) =>
    o.items.map((i) => ({
      orderId: o.orderId,
      ...productSnapshot(i),
      quantity: i.quantity,
      unitPrice: i.unitPrice,
      lineTotal: i.lineTotal,
    })),
  );
  if (items.length > 0) await tx.insert(orderItems).values(items).onConflictDoNothing();
}

async function recordPayments(tx: Writer, all: PaymentRecordedData[]): Promise<void> {
  await tx
    .insert(payments)
    .values(
      all.map(({ orderId, payment: p }) => ({
        eventId: p.eventId,
        transactionId: p.transactionId,
        orderId,
        type: p.type,
        status: p.status,
        amount: p.amount,
        currency: p.currency,
        reason: p.reason,
        receivedAt: p.receivedAt,
      })),
    )
    .onConflictDoNothing();
}
