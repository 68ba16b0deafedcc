/**
 * Read models of Postgres that actors and routes may use: the cart as the
 * consumer last projected it (rebuilding a cart whose actor storage is lost).
 */
import { and, asc, eq } from "drizzle-orm";
import type { CartState } from "../domain/cart";
import { productSnapshot } from "../domain/catalog";
import type { Database } from "./client";
import { cartItems, carts } from "./schema";

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
