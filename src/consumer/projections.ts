import type { SQL } from "drizzle-orm";
import { and, asc, eq, getTableColumns, lt, notInArray, sql } from "drizzle-orm";
import type { PgTable } from "drizzle-orm/pg-core";
import type { CartLine, CartState } from "../domain/cart";
import type { SkuAdminView } from "../domain/catalog";
import { productSnapshot } from "../domain/catalog";
import type { Order } from "../domain/order";
import type { CartAlertType, CartChangeData, Envelope, InventoryMovementData, PaymentRecordedData } from "../events/envelope";
import { isCartAlert } from "../events/envelope";
import type { Database } from "../db/client";
import { cartEvents, cartItems, carts, inventoryAudit, orderItems, orders, payments, processedEvents, skus } from "../db/schema";

/** A transaction (or the database itself) that projections write through. */
export type Writer = Parameters<Parameters<Database["transaction"]>[0]>[0];

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
export async function applyEvent(tx: Writer, event: Envelope): Promise<boolean> {
  const claimed = await tx.insert(processedEvents).values({ eventId: event.id, type: event.type }).onConflictDoNothing().returning({ id: processedEvents.eventId });
  if (claimed.length === 0) return false;
  if (isCartAlert(event.type)) return recordCartAlert(tx, event as Envelope<CartAlertType>);
  const family = event.type.slice(0, event.type.indexOf("."));
  switch (family) {
    case "sku":
      await upsertSku(tx, event.data as SkuAdminView);
      break;
    case "inventory":
      await recordMovement(tx, event as Envelope<"inventory.reserved">);
      break;
    case "cart":
      await applyCartChange(tx, event as Envelope<"cart.item_added">);
      break;
    case "order":
      await upsertOrder(tx, event.data as Order);
      break;
    case "payment":
      await recordPayment(tx, event.data as PaymentRecordedData);
      break;
    default:
      throw new Error(`no projection for ${event.type}`);
  }
  return true;
}

/** A cart alert (src/alerts) is kept in the cart's analytics log; the cart itself did not change. */
async function recordCartAlert(tx: Writer, e: Envelope<CartAlertType>): Promise<true> {
  await tx.insert(cartEvents).values({ eventId: e.id, cartKey: e.data.cartKey, type: e.type, version: e.version, occurredAt: e.occurredAt, data: e.data }).onConflictDoNothing();
  return true;
}

/**
 * The catalog fields of a SKU, newest version wins. Its counters are not
 * taken from here: they are the running sum of the inventory movements, so
 * they stay exact whatever order events arrive in (and across stock stripes).
 */
async function upsertSku(tx: Writer, v: SkuAdminView): Promise<void> {
  await tx
    .insert(skus)
    .values({
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
    })
    .onConflictDoUpdate({
      target: skus.skuId,
      set: excludedColumns(skus, ["skuId", "onHand", "reserved", "sold"]),
      setWhere: sql`${skus.version} < excluded.version`,
    });
}

async function recordMovement(tx: Writer, e: Envelope<"inventory.reserved">): Promise<void> {
  const m: InventoryMovementData = e.data;
  await tx
    .insert(inventoryAudit)
    .values({
      eventId: e.id,
      skuId: m.skuId,
      kind: m.kind,
      refId: m.refId,
      reason: m.reason,
      quantity: m.quantity,
      onHandDelta: m.onHandDelta,
      reservedDelta: m.reservedDelta,
      soldDelta: m.soldDelta,
      skuVersion: e.version,
      occurredAt: e.occurredAt,
    })
    .onConflictDoNothing();
  // Counters add up the movements (each applied once, see applyEvent). A movement that arrives
  // before the SKU's catalog row creates a placeholder row the catalog event fills in later.
  await tx
    .insert(skus)
    .values({
      skuId: m.skuId,
      productId: "",
      merchantId: "",
      name: "",
      price: 0,
      currency: "",
      status: "pending",
      onHand: m.onHandDelta,
      reserved: m.reservedDelta,
      sold: m.soldDelta,
      version: 0,
      updatedAt: e.occurredAt,
    })
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

const GUEST_CART_TTL_MS = 30 * 24 * 3600 * 1000;

/**
 * Keeps carts / cart_items equal to the actor's state. Each line carries the
 * cart version at which it last changed and is only overwritten by a newer
 * one; removed lines stay as tombstones, so events arriving out of order or
 * twice converge to the same rows.
 */
export async function applyCartChange(tx: Writer, e: Envelope<"cart.item_added">): Promise<void> {
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
      expiresAt: owner.ownerType === "guest" ? new Date(Date.parse(d.updatedAt) + GUEST_CART_TTL_MS).toISOString() : null,
      syncedAt: new Date().toISOString(),
    })
    .onConflictDoUpdate({ target: carts.cartKey, set: excludedColumns(carts, ["cartKey"]), setWhere: sql`${carts.version} < excluded.version` });

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
    await tx.update(cartItems).set({ removed: true, version: e.version }).where(and(...stale));
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
  return { cartKey, skuId, position: 0, productId: "", merchantId: "", name: "", quantity: 0, selected: false, unitPrice: 0, currency: "", addedAt: at, version, removed: true };
}

/** The cart as Postgres last saw it (docs/invariants.md 7: a cart whose actor storage is lost is rebuilt from here). */
export async function loadCart(db: Database, cartKey: string): Promise<CartState | null> {
  const [cart] = await db.select().from(carts).where(eq(carts.cartKey, cartKey));
  if (!cart) return null;
  const rows = await db
    .select()
    .from(cartItems)
    .where(and(eq(cartItems.cartKey, cartKey), eq(cartItems.removed, false)))
    .orderBy(asc(cartItems.position));
  return {
    cartKey,
    version: cart.version,
    currency: cart.currency,
    updatedAt: cart.updatedAt,
    lines: rows.map((r) => ({
      ...productSnapshot({ ...r, spec: r.spec ?? null }),
      quantity: r.quantity,
      selected: r.selected,
      unitPrice: r.unitPrice,
      currency: r.currency,
      addedAt: new Date(r.addedAt).toISOString(),
      position: r.position,
      version: r.version,
    })),
  };
}

async function upsertOrder(tx: Writer, o: Order): Promise<void> {
  await tx
    .insert(orders)
    .values({
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
      updatedAt: new Date().toISOString(),
    })
    .onConflictDoUpdate({ target: orders.orderId, set: excludedColumns(orders, ["orderId", "createdAt"]), setWhere: sql`${orders.version} < excluded.version` });
  if (o.items.length > 0) {
    await tx
      .insert(orderItems)
      .values(
        o.items.map((i) => ({ orderId: o.orderId, ...productSnapshot(i), quantity: i.quantity, unitPrice: i.unitPrice, lineTotal: i.lineTotal })),
      )
      .onConflictDoNothing();
  }
}

async function recordPayment(tx: Writer, d: PaymentRecordedData): Promise<void> {
  const p = d.payment;
  await tx
    .insert(payments)
    .values({
      eventId: p.eventId,
      transactionId: p.transactionId,
      orderId: d.orderId,
      type: p.type,
      status: p.status,
      amount: p.amount,
      currency: p.currency,
      reason: p.reason,
      receivedAt: p.receivedAt,
    })
    .onConflictDoNothing();
}
