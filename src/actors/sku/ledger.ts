/**
 * The reservation ledger of one SKU actor: each reservation a row, held
 * until it is committed (paid), released (cancel, expiry, failed checkout) or
 * refunded. Every change is a synchronous check-and-write (no await between
 * reading the counters and writing them), so concurrent buyers are serialized
 * by the actor and the counters never oversell. Idempotent by reservation id.
 */
import type { CarriedUnits } from "../../domain/carry";
import type { SkuCatalog } from "../../domain/catalog";
import { productSnapshot, saleNotStarted } from "../../domain/catalog";
import type { Outcome, Refusal } from "../../domain/errors";
import { refuse } from "../../domain/errors";
import type { StockEffect } from "../../domain/order";
import type { ReservedItem, ReserveOutcome, ReserveRequest } from "../../domain/sku-contract";
import { reserveRefusal, restriping, skuMissing, staleRoute } from "../../domain/sku-refusals";
import type { Movement } from "../../domain/stock";
import { checkReserve, isGuestOwner, movement } from "../../domain/stock";
import { homeStripe } from "../../domain/stripes";
import type { SkuStore, SkuHost } from "./store";
import type { SkuCarry } from "./carry";

type ReservationStatus = "held" | "committed" | "released" | "refunded";

export interface ReservationRow extends Record<string, SqlStorageValue> {
  reservation_id: string;
  order_id: string;
  owner_id: string;
  quantity: number;
  status: string;
  item: string;
  expires_at: number;
}

export class SkuLedger {
  constructor(
    private readonly host: SkuHost,
    private readonly store: SkuStore,
    /** Units buyers whose home is here hold at other stripes (after a change of the stripe count). */
    private readonly carry: SkuCarry,
  ) {
    host.schema.ensure(`CREATE TABLE IF NOT EXISTS reservations (
      reservation_id TEXT PRIMARY KEY,
      order_id TEXT NOT NULL,
      owner_id TEXT NOT NULL,
      quantity INTEGER NOT NULL,
      status TEXT NOT NULL,           -- held | committed | released | refunded
      item TEXT NOT NULL,             -- ReservedItem JSON: the price snapshot
      expires_at INTEGER NOT NULL,
      created_at INTEGER NOT NULL,
      closed_at INTEGER
    )`);
    host.schema.ensure("CREATE INDEX IF NOT EXISTS reservations_by_owner ON reservations (owner_id, status)");
    host.schema.ensure("CREATE INDEX IF NOT EXISTS reservations_by_expiry ON reservations (status, expires_at)");
  }

  /** Check-and-write of one reservation, inside a group commit. */
  tryReserve(req: ReserveRequest): ReserveOutcome {
    const existing = this.reservation(req.reservationId);
    if (existing) return this.replay(existing, req);
    const held = this.hold(req);
    if (!held.ok) return held;
    return { ok: true, item: held.item, expiresAt: req.expiresAt, replayed: false, holder: this.host.name };
  }

  /**
   * Checks the SKU, stock and the buyer's limit, then holds the units (inside a transaction, no
   * await). Only the buyer's home grants, judged by the stripe count at this moment: a change
   * learned while the request waited has already been reported to the buyer's new home.
   */
  hold(req: Omit<ReserveRequest, "stripes">): Outcome<{ item: ReservedItem }> {
    const sku = this.store.current;
    if (!sku) return skuMissing(this.store.address.skuId);
    const home = homeStripe(req.ownerId, this.store.stripes);
    if (home !== this.store.address.index) return staleRoute(this.store.stripes, home);
    const ownerUnits = this.ownerUnits(req.ownerId);
    const refusal = checkReserve({
      active: sku.catalog.status === "active",
      notStarted: saleNotStarted(sku.catalog, this.host.now()),
      counters: sku.stock,
      purchaseLimit: sku.catalog.purchaseLimit,
      ownerUnits,
      quantity: req.quantity,
      guest: isGuestOwner(req.ownerId),
    });
    if (refusal) return reserveRefusal(sku.catalog, sku.stock, refusal, req.quantity, ownerUnits);
    // Under a limit, a grant needs the units this buyer holds elsewhere: every report of a change.
    if (sku.catalog.purchaseLimit !== null && !this.carry.counted) return restriping(sku.catalog.skuId);
    const item = itemOf(sku.catalog, req.quantity);
    this.host.sql.exec(
      "INSERT INTO reservations (reservation_id, order_id, owner_id, quantity, status, item, expires_at, created_at) VALUES (?, ?, ?, ?, 'held', ?, ?, ?)",
      req.reservationId,
      req.orderId,
      req.ownerId,
      req.quantity,
      JSON.stringify(item),
      req.expiresAt,
      this.host.now(),
    );
    this.store.move(movement("reserve", req.quantity), req.orderId, "order");
    return { ok: true, item };
  }

  /** A buyer routed to a stripe that is not their home (the caller's stripe count was stale). */
  misrouted(ownerId: string, callerStripes: number, reservationId: string): Refusal | null {
    const stripes = this.store.stripes;
    const home = homeStripe(ownerId, stripes);
    if (callerStripes === stripes && home === this.store.address.index) return null;
    if (this.reservation(reservationId)) return null; // a replay is answered wherever it is held
    return staleRoute(stripes, home);
  }

  /** Reserved units become sold (payment). Idempotent. */
  commit(reservationId: string): Outcome<{ replayed: boolean }> {
    const row = this.reservation(reservationId);
    if (row?.status === "committed" || row?.status === "refunded") return { ok: true, replayed: true };
    if (row?.status !== "held") return refuse("ORDER_NOT_PENDING", `reservation ${reservationId} is not held`);
    this.close(row, "committed", movement("commit", row.quantity), "payment");
    return { ok: true, replayed: false };
  }

  /** Reserved units go back to available (cancel, expiry, failed checkout). Idempotent. */
  release(reservationId: string, reason: string): { released: boolean } {
    const row = this.reservation(reservationId);
    if (row?.status !== "held") return { released: false };
    this.close(row, "released", movement("release", row.quantity), reason);
    return { released: true };
  }

  /** Sold units of a refunded order go back on hand. Idempotent. */
  restock(reservationId: string): { restocked: boolean } {
    const row = this.reservation(reservationId);
    if (row?.status !== "committed") return { restocked: false };
    this.close(row, "refunded", movement("restock", row.quantity), "refund");
    return { restocked: true };
  }

  /** A flash order's stock effect on its reservation (inside the order's transaction). */
  settle(reservationId: string, effect: StockEffect, reason: string): boolean {
    const row = this.reservation(reservationId);
    if (row?.status !== (effect === "restock" ? "committed" : "held")) return false;
    const status: Record<StockEffect, ReservationStatus> = {
      commit: "committed",
      release: "released",
      restock: "refunded",
    };
    this.closeRow(row, status[effect], movement(effect, row.quantity), reason);
    return true;
  }

  /** Units this buyer holds or bought of this SKU: here, and at other stripes when this is their home. */
  ownerUnits(ownerId: string): number {
    const here = this.host.sql
      .exec<{ n: number }>(
        "SELECT coalesce(sum(quantity), 0) AS n FROM reservations WHERE owner_id = ? AND status IN ('held', 'committed')",
        ownerId,
      )
      .one().n;
    return here + this.carry.units(ownerId);
  }

  /** `ownerUnits` once the units held at other stripes are all reported (waits a moment after a change; for quotes). */
  async reportedOwnerUnits(ownerId: string): Promise<number> {
    await this.carry.awaitReports();
    return this.ownerUnits(ownerId);
  }

  /** Every open (held or committed) reservation here, for the reports of a change of the stripe count. */
  openUnits(): CarriedUnits[] {
    return this.host.sql
      .exec<CarriedUnits & Record<string, SqlStorageValue>>(
        "SELECT reservation_id AS reservationId, owner_id AS ownerId, quantity AS units FROM reservations WHERE status IN ('held', 'committed')",
      )
      .toArray();
  }

  reservation(reservationId: string): ReservationRow | null {
    return (
      this.host.sql
        .exec<ReservationRow>("SELECT * FROM reservations WHERE reservation_id = ?", reservationId)
        .toArray()[0] ?? null
    );
  }

  private replay(row: ReservationRow, req: ReserveRequest): ReserveOutcome {
    const item = JSON.parse(row.item) as ReservedItem;
    if (row.owner_id !== req.ownerId || row.quantity !== req.quantity) {
      return refuse("IDEMPOTENCY_KEY_REUSED", "this order id already holds a different reservation");
    }
    if (row.status === "held" || row.status === "committed")
      return { ok: true, item, expiresAt: row.expires_at, replayed: true, holder: this.host.name };
    return refuse("ORDER_NOT_PENDING", `reservation ${req.reservationId} is already ${row.status}`);
  }

  private close(row: ReservationRow, status: ReservationStatus, m: Movement, reason: string): void {
    this.host.transact(() => this.closeRow(row, status, m, reason));
    this.host.afterCommit();
  }

  /** Closes a held or committed reservation with its movement (inside a transaction). */
  private closeRow(row: ReservationRow, status: ReservationStatus, m: Movement, reason: string): void {
    this.host.sql.exec(
      "UPDATE reservations SET status = ?, closed_at = ? WHERE reservation_id = ?",
      status,
      this.host.now(),
      row.reservation_id,
    );
    this.store.move(m, row.order_id, reason);
    if (status === "released" || status === "refunded") this.carry.closed(row.reservation_id, row.owner_id);
  }
}

function itemOf(c: SkuCatalog, quantity: number): ReservedItem {
  return { ...productSnapshot(c), quantity, unitPrice: c.price, currency: c.currency };
}
