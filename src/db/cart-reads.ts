/**
 * Read models of Postgres that actors and routes may use: the cart as the
 * consumer last projected it (rebuilding a cart whose actor storage is lost),
 * and whether a cart event has been projected yet (the admin sync waits on it).
 */
import { and, asc, eq, inArray } from "drizzle-orm";
import type { CartState } from "../domain/cart";
import { productSnapshot } from "../domain/catalog";
import type { Database } from "./client";
import { cartEvents, cartItems, carts } from "./tables";

/** The carts as Postgres last saw them, by key (docs/invariants.md 7: a cart whose actor storage is lost is rebuilt from here). */
export async function loadCarts(db: Database, cartKeys: string[]): Promise<Map<string, CartState>> {
  const found = new Map<string, CartState>();
  if (cartKeys.length === 0) return found;
  const heads = await db.select().from(carts).where(inArray(carts.cartKey, cartKeys));
  if (heads.length === 0) return found;
  for (const cart of heads) {
    found.set(cart.cartKey, {
      cartKey: cart.cartKey,
      version: cart.version,
      currency: cart.currency,
      code: cart.code,
      updatedAt: cart.updatedAt,
      lines: [],
    });
  }
  const rows = await db
    .select()
    .from(cartItems)
    .where(and(inArray(cartItems.cartKey, [...found.keys()]), eq(cartItems.removed, false)))
    .orderBy(asc(cartItems.cartKey), asc(cartItems.position));
  for (const r of rows) {
    found.get(r.cartKey)?.lines.push({
      ...productSnapshot({ ...r, spec: r.spec ?? null }),
      quantity: r.quantity,
      selected: r.selected,
      unitPrice: r.unitPrice,
      currency: r.currency,
      addedAt: new Date(r.addedAt).toISOString(),
      position: r.position,
      version: r.version,
    });
  }
  return found;
}

/** True once the consumer has projected this cart event (its row in cart_events is written in the same transaction). */
export async function cartEventProjected(db: Database, eventId: string): Promise<boolean> {
  const rows = await db
    .select({ eventId: cartEvents.eventId })
    .from(cartEvents)
    .where(eq(cartEvents.eventId, eventId))
    .limit(1);
  return rows.length > 0;
}
