/**
 * What the SKU actors answer over RPC: reservations for checkout, flash buys,
 * admin writes. Types only; the stock rules live in `stock.ts`.
 */
import type { ProductSnapshot, SkuCatalog } from "./catalog";
import type { Outcome } from "./errors";
import type { Order, Redemption } from "./order";
import type { Promotion } from "./promotions";

/**
 * An admin write of a SKU: its catalog record and `stock`, the units available for sale now
 * (onHand becomes stock + reserved); or, with `stockMode: "delta"`, units to add to (or take
 * from) what is available, which is exact while reservations are in flight (a promotion's
 * budget changing its limit: docs/decisions.md 16).
 */
export type SkuInput = Omit<SkuCatalog, "skuId"> & { stock: number; stockMode?: "available" | "delta" };

/** The line snapshot a reservation hands to the order: what was reserved, at which price. */
export interface ReservedItem extends ProductSnapshot {
  quantity: number;
  unitPrice: number;
  currency: string;
}

export interface ReserveRequest {
  /** `{orderId}.{attempt}`: each checkout attempt holds its own reservation, so a late release of a failed attempt can never free a later one. */
  reservationId: string;
  orderId: string;
  ownerId: string;
  quantity: number;
  /** When the order's payment window closes (epoch ms). */
  expiresAt: number;
  /** The stripe count the caller routed with; a stripe that is not this buyer's home answers STALE_ROUTE. */
  stripes?: number;
}

/** A flash buy-now, sent by the edge to the buyer's home stripe. */
export interface FlashBuyRequest {
  /** Hash of buyer + Idempotency-Key; the stripe names the order `fl_{keyHash}.{stripe}.{skuId}`. */
  keyHash: string;
  ownerId: string;
  /** What the request asked for; the same key with another request is refused. */
  requestHash: string;
  quantity: number;
  /** The payment window (RESERVATION_TTL_SECONDS) in ms. */
  ttlMs: number;
  /** The stripe count the caller routed with. */
  stripes: number;
  /** The buyer's code, if any, and the active promotions (the automatic ones apply without a code). */
  code?: string | null;
  promotions?: Promotion[];
  /** Redemptions reserved for the limited ones among them, under this order's id. */
  redemptions?: Redemption[];
}

export type PlacedFlash = Outcome<{ order: Order; created: boolean }>;

/** `holder` is the actor that keeps the reservation: commit, release and restock go there. */
export type ReserveOutcome = Outcome<{ item: ReservedItem; expiresAt: number; replayed: boolean; holder: string }>;
