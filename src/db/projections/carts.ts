/**
 * Cart projections: carts and cart_items kept equal to the actor's state
 * (versioned lines, tombstones for removed ones), every change and alert
 * logged in cart_events.
 */
import { and, eq, lt, notInArray, sql } from "drizzle-orm";
import type { CartLine } from "../../domain/cart";
import { productSnapshot } from "../../domain/catalog";
import type { CartAlertType, CartChangeData, Envelope } from "../../events/envelope";
import { cartEvents, cartItems, carts } from "../tables";
import type { ProjectionSettings, Writer } from "./writer";
import { excludedColumns } from "./writer";

function ownerOf(cartKey: string): { ownerType: string; ownerId: string } {
  const at = cartKey.indexOf(":");
  return { ownerType: cartKey.slice(0, at), ownerId: cartKey.slice(at + 1) };
}

/** A cart alert (src/alerts) is kept in the cart's analytics log; the cart itself did not change. */
export async function recordCartAlert(tx: Writer, e: Envelope<CartAlertType>): Promise<void> {
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
      code: d.code ?? null,
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
