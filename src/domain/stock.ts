/**
 * Stock arithmetic of one SKU (docs/API.md, Catalog: "Stock arithmetic").
 *
 *   available = onHand - reserved
 *   reserve:  reserved += q                      (needs available >= q)
 *   commit:   reserved -= q, onHand -= q, sold += q
 *   release:  reserved -= q
 *   restock:  onHand += q (refund, or an admin change of `stock`; may be negative
 *             for an admin decrease, never below what is reserved)
 *
 * Every change is a Movement: the same deltas are applied to the actor's
 * counters and written to `inventory_audit`, so the audit rows always sum to
 * the counters (docs/invariants.md 4).
 */
export interface StockCounters {
  onHand: number;
  reserved: number;
  sold: number;
}

export type MovementKind = "reserve" | "release" | "commit" | "restock";

export interface Movement {
  kind: MovementKind;
  quantity: number;
  onHandDelta: number;
  reservedDelta: number;
  soldDelta: number;
}

export const EMPTY_STOCK: StockCounters = { onHand: 0, reserved: 0, sold: 0 };

export function availableOf(c: StockCounters): number {
  return c.onHand - c.reserved;
}

export function movement(kind: MovementKind, quantity: number): Movement {
  switch (kind) {
    case "reserve":
      return { kind, quantity, onHandDelta: 0, reservedDelta: quantity, soldDelta: 0 };
    case "release":
      return { kind, quantity, onHandDelta: 0, reservedDelta: -quantity, soldDelta: 0 };
    case "commit":
      return { kind, quantity, onHandDelta: -quantity, reservedDelta: -quantity, soldDelta: quantity };
    case "restock":
      return { kind, quantity, onHandDelta: quantity, reservedDelta: 0, soldDelta: 0 };
  }
}

/** Applies a movement; throws if it would break the counters' invariants. */
export function applyMovement(c: StockCounters, m: Movement): StockCounters {
  const next = {
    onHand: c.onHand + m.onHandDelta,
    reserved: c.reserved + m.reservedDelta,
    sold: c.sold + m.soldDelta,
  };
  if (next.reserved < 0 || next.onHand < 0 || next.sold < 0 || availableOf(next) < 0) {
    throw new Error(`stock movement ${m.kind}(${m.quantity}) would break the counters`);
  }
  return next;
}

/**
 * An admin `stock` sets the units available for sale now; reservations in
 * flight are kept, so onHand becomes stock + reserved.
 */
export function setAvailable(c: StockCounters, stock: number): Movement {
  const delta = stock + c.reserved - c.onHand;
  return { kind: "restock", quantity: delta, onHandDelta: delta, reservedDelta: 0, soldDelta: 0 };
}

/** Adds `delta` units to what is available (negative: takes them), or null when fewer are available. */
export function changeAvailable(c: StockCounters, delta: number): Movement | null {
  if (availableOf(c) + delta < 0) return null;
  return { kind: "restock", quantity: delta, onHandDelta: delta, reservedDelta: 0, soldDelta: 0 };
}

export type ReserveRefusalCode =
  | "SKU_UNAVAILABLE"
  | "SALE_NOT_STARTED"
  | "SIGN_IN_REQUIRED"
  | "OUT_OF_STOCK"
  | "LIMIT_EXCEEDED";

export interface ReserveCheck {
  active: boolean;
  /** A flash sale that has not opened yet. */
  notStarted?: boolean;
  counters: StockCounters;
  /** null = no per-user limit. */
  purchaseLimit: number | null;
  /** Units this buyer already holds or bought (reserved + committed). */
  ownerUnits: number;
  quantity: number;
  /** The buyer is a guest cart, which a purchase limit cannot follow (a fresh cart id is a fresh buyer). */
  guest: boolean;
}

/** The check half of reserve: null when the reservation may proceed. */
export function checkReserve(r: ReserveCheck): ReserveRefusalCode | null {
  if (!r.active) return "SKU_UNAVAILABLE";
  if (r.notStarted) return "SALE_NOT_STARTED";
  if (r.purchaseLimit !== null && r.guest) return "SIGN_IN_REQUIRED";
  if (r.purchaseLimit !== null && r.ownerUnits + r.quantity > r.purchaseLimit) return "LIMIT_EXCEEDED";
  if (availableOf(r.counters) < r.quantity) return "OUT_OF_STOCK";
  return null;
}

/**
 * Purchase limits are per user: a guest names its own cart id, so three fresh
 * carts would be three buyers. A guest may hold a limited SKU in its cart; to
 * reserve it (checkout) the buyer signs in, and the merge brings the line over.
 */
export function isGuestOwner(ownerId: string): boolean {
  return ownerId.startsWith("guest:");
}

/** Units the buyer may still take under the limit (Infinity without a limit). */
export function remainingAllowance(purchaseLimit: number | null, ownerUnits: number): number {
  return purchaseLimit === null ? Number.POSITIVE_INFINITY : Math.max(0, purchaseLimit - ownerUnits);
}

/**
 * Units moved between stripes of one SKU: onHand changes, nothing else. A
 * transfer is not an inventory movement of the SKU (its stripes' counters sum
 * to the same totals), so it is not audited.
 */
export function shiftOnHand(c: StockCounters, delta: number): StockCounters {
  const next = { ...c, onHand: c.onHand + delta };
  if (availableOf(next) < 0) throw new Error(`cannot move ${-delta} units: only ${availableOf(c)} available`);
  return next;
}
