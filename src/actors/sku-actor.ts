import { RedisMirror } from "../cache/mirror";
import { skuViewValue } from "../cache/sku-views";
import type { SkuAdminView, SkuCatalog, SkuPublicView, SkuQuote, SkuSpec } from "../domain/catalog";
import { adminView, publicView } from "../domain/catalog";
import type { Outcome, Refusal } from "../domain/errors";
import { refuse } from "../domain/errors";
import type { Movement, StockCounters } from "../domain/stock";
import { applyMovement, availableOf, checkReserve, EMPTY_STOCK, movement, setAvailable } from "../domain/stock";
import { envelope, INVENTORY_EVENT_OF } from "../events/envelope";
import { Actor } from "./actor";

/** How long past its expiry a held reservation waits before the SKU asks its order what to do with it. */
export const ORPHAN_GRACE_MS = 60_000;

export type SkuInput = Omit<SkuCatalog, "skuId"> & { stock: number };

/** The line snapshot a reservation hands to the order: what was reserved, at which price. */
export interface ReservedItem {
  skuId: string;
  productId: string;
  merchantId: string;
  name: string;
  image: string | null;
  spec: SkuSpec | null;
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
}

export type ReserveOutcome = Outcome<{ item: ReservedItem; expiresAt: number; replayed: boolean }>;

/** What an order says about one of its reservations when the SKU sweeps an overdue one. */
export type ReservationVerdict = { state: "paid" } | { state: "pending"; expiresAt: number } | { state: "closed" };

type ReservationStatus = "held" | "committed" | "released" | "refunded";

interface ReservationRow extends Record<string, SqlStorageValue> {
  reservation_id: string;
  order_id: string;
  owner_id: string;
  quantity: number;
  status: string;
  item: string;
  expires_at: number;
}

interface SkuState {
  catalog: SkuCatalog;
  stock: StockCounters;
  version: number;
  updatedAt: string;
}

/**
 * One SKU: its catalog record and its live stock counters. Every reserve,
 * commit, release and restock is a synchronous check-and-write (no await
 * between reading the counters and writing them), so concurrent buyers are
 * serialized by the actor itself and the counters can never oversell.
 * Reservations are idempotent by order id.
 */
export class SkuActor extends Actor {
  private sku: SkuState | null;
  private readonly mirror: RedisMirror;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS sku (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      catalog TEXT NOT NULL,
      on_hand INTEGER NOT NULL,
      reserved INTEGER NOT NULL,
      sold INTEGER NOT NULL,
      version INTEGER NOT NULL,
      updated_at TEXT NOT NULL
    )`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS reservations (
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
    this.sql.exec("CREATE INDEX IF NOT EXISTS reservations_by_owner ON reservations (owner_id, status)");
    this.sql.exec("CREATE INDEX IF NOT EXISTS reservations_by_expiry ON reservations (status, expires_at)");
    this.sku = this.load();
    this.mirror = new RedisMirror(env, () => (this.sku ? skuViewValue(this.view(this.sku)) : null));
    // After a restart we do not know what Redis holds: publish once.
    this.mirror.kick();
  }

  // ---- catalog -------------------------------------------------------------

  /** Creates or updates the SKU; an unchanged PUT changes nothing (idempotent). */
  async upsert(skuId: string, input: SkuInput): Promise<{ sku: SkuAdminView; created: boolean }> {
    const result = this.transact(() => {
      const prev = this.sku;
      const catalog: SkuCatalog = {
        skuId,
        productId: input.productId,
        merchantId: input.merchantId,
        name: input.name,
        image: input.image,
        spec: input.spec,
        price: input.price,
        currency: input.currency,
        status: input.status,
        purchaseLimit: input.purchaseLimit,
        stripes: input.stripes,
      };
      const stock = prev?.stock ?? EMPTY_STOCK;
      const restock = setAvailable(stock, input.stock);
      if (prev && restock.quantity === 0 && JSON.stringify(prev.catalog) === JSON.stringify(catalog)) return { state: prev, changed: false, created: false };
      const next: SkuState = { catalog, stock: applyMovement(stock, restock), version: (prev?.version ?? 0) + 1, updatedAt: new Date().toISOString() };
      this.save(next);
      if (restock.quantity !== 0) this.recordMovement(next, restock, `admin:v${next.version}`, "admin");
      this.outbox.addEvent(envelope("sku.updated", skuId, next.version, this.admin(next)));
      return { state: next, changed: true, created: prev === null };
    });
    if (result.changed) {
      this.afterCommit();
      // Carts show prices from Redis: make an admin change visible before answering.
      await this.mirror.flush().catch((err: unknown) => console.warn("sku view not published", err));
    }
    return { sku: this.admin(result.state), created: result.created };
  }

  adminView(): SkuAdminView | null {
    return this.sku ? this.admin(this.sku) : null;
  }

  publicView(): SkuPublicView | null {
    return this.sku ? this.view(this.sku) : null;
  }

  /** The public view plus the units this buyer already holds or bought, for cart checks. */
  quote(ownerId: string): SkuQuote | null {
    return this.sku ? { ...this.view(this.sku), ownerUnits: this.ownerUnits(ownerId) } : null;
  }

  // ---- stock -----------------------------------------------------------------

  /**
   * Holds `quantity` units for an order. Refuses an unknown or inactive SKU,
   * more than available, and more than the buyer's purchase limit (counting
   * what the buyer already holds or bought). Replaying the same reservation
   * id returns the same reservation.
   */
  reserve(req: ReserveRequest): ReserveOutcome {
    const existing = this.reservation(req.reservationId);
    if (existing) return this.replay(existing, req);
    const sku = this.sku;
    if (!sku) return refuse("SKU_UNAVAILABLE", "the SKU does not exist", [{ code: "SKU_UNAVAILABLE", skuId: this.ctx.id.name }]);
    const ownerUnits = this.ownerUnits(req.ownerId);
    const refusal = checkReserve({
      active: sku.catalog.status === "active",
      counters: sku.stock,
      purchaseLimit: sku.catalog.purchaseLimit,
      ownerUnits,
      quantity: req.quantity,
    });
    if (refusal) return this.refusal(sku, refusal, req.quantity, ownerUnits);
    const item = this.itemOf(sku.catalog, req.quantity);
    this.transact(() => {
      this.sql.exec(
        "INSERT INTO reservations (reservation_id, order_id, owner_id, quantity, status, item, expires_at, created_at) VALUES (?, ?, ?, ?, 'held', ?, ?, ?)",
        req.reservationId,
        req.orderId,
        req.ownerId,
        req.quantity,
        JSON.stringify(item),
        req.expiresAt,
        Date.now(),
      );
      this.move(movement("reserve", req.quantity), req.orderId, "order");
    });
    this.afterCommit();
    return { ok: true, item, expiresAt: req.expiresAt, replayed: false };
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

  // ---- alarm -----------------------------------------------------------------

  protected nextDutyAt(): number | null {
    const row = this.sql.exec<{ at: number | null }>("SELECT min(expires_at) AS at FROM reservations WHERE status = 'held'").one();
    const sweep = row.at === null ? null : row.at + ORPHAN_GRACE_MS;
    const publish = this.mirror.isBehind() ? Date.now() + 30_000 : null;
    const due = [sweep, publish].filter((t): t is number => t !== null);
    return due.length ? Math.min(...due) : null;
  }

  /**
   * Releases reservations nobody confirmed: a held reservation overdue by the
   * grace period is settled by asking its order (paid -> commit, still pending
   * -> wait for the order's own expiry, anything else -> release). This frees
   * stock even if a checkout died between reserving and creating its order.
   */
  protected async runDuties(now: number): Promise<void> {
    if (this.mirror.isBehind()) await this.mirror.flush().catch(() => undefined);
    const overdue = this.sql
      .exec<ReservationRow>("SELECT * FROM reservations WHERE status = 'held' AND expires_at <= ? ORDER BY expires_at LIMIT 50", now - ORPHAN_GRACE_MS)
      .toArray();
    const skuId = this.sku?.catalog.skuId ?? this.ctx.id.name ?? "";
    await Promise.all(
      overdue.map(async (row) => {
        const verdict = await this.env.ORDERS.getByName(row.order_id).reservationVerdict(row.reservation_id, skuId);
        // The answer took an await: settle only what is still held.
        const current = this.reservation(row.reservation_id);
        if (current?.status !== "held") return;
        if (verdict.state === "paid") this.commit(row.reservation_id);
        else if (verdict.state === "closed") this.release(row.reservation_id, "orphaned");
        else this.sql.exec("UPDATE reservations SET expires_at = ? WHERE reservation_id = ?", verdict.expiresAt, row.reservation_id);
      }),
    );
  }

  // ---- internals -------------------------------------------------------------

  protected override onRollback(): void {
    this.sku = this.load();
  }

  private replay(row: ReservationRow, req: ReserveRequest): ReserveOutcome {
    const item = JSON.parse(row.item) as ReservedItem;
    if (row.owner_id !== req.ownerId || row.quantity !== req.quantity) {
      return refuse("IDEMPOTENCY_KEY_REUSED", "this order id already holds a different reservation");
    }
    if (row.status === "held" || row.status === "committed") return { ok: true, item, expiresAt: row.expires_at, replayed: true };
    return refuse("ORDER_NOT_PENDING", `reservation ${req.reservationId} is already ${row.status}`);
  }

  private refusal(sku: SkuState, code: "SKU_UNAVAILABLE" | "OUT_OF_STOCK" | "LIMIT_EXCEEDED", quantity: number, ownerUnits: number): Refusal {
    const skuId = sku.catalog.skuId;
    const available = Math.max(0, availableOf(sku.stock));
    switch (code) {
      case "SKU_UNAVAILABLE":
        return refuse(code, `SKU ${skuId} is not for sale`, [{ code, skuId }]);
      case "LIMIT_EXCEEDED":
        return refuse(code, `at most ${sku.catalog.purchaseLimit} of SKU ${skuId} per customer`, [
          { code, skuId, limit: sku.catalog.purchaseLimit, alreadyPurchased: ownerUnits, requested: quantity },
        ]);
      case "OUT_OF_STOCK":
        return refuse(code, `only ${available} of SKU ${skuId} available`, [{ code, skuId, available, requested: quantity }]);
    }
  }

  private close(row: ReservationRow, status: ReservationStatus, m: Movement, reason: string): void {
    this.transact(() => {
      this.sql.exec("UPDATE reservations SET status = ?, closed_at = ? WHERE reservation_id = ?", status, Date.now(), row.reservation_id);
      this.move(m, row.order_id, reason);
    });
    this.afterCommit();
  }

  /** Applies a stock movement to the counters and records it (call inside a transaction). */
  private move(m: Movement, refId: string, reason: string): void {
    const sku = this.sku;
    if (!sku) throw new Error("stock movement on a SKU that does not exist");
    const next: SkuState = { ...sku, stock: applyMovement(sku.stock, m), version: sku.version + 1, updatedAt: new Date().toISOString() };
    this.save(next);
    this.recordMovement(next, m, refId, reason);
  }

  private recordMovement(state: SkuState, m: Movement, refId: string, reason: string): void {
    const skuId = state.catalog.skuId;
    this.outbox.addEvent(envelope(INVENTORY_EVENT_OF[m.kind], skuId, state.version, { ...m, skuId, refId, reason, counters: state.stock }));
  }

  private ownerUnits(ownerId: string): number {
    return this.sql
      .exec<{ n: number }>("SELECT coalesce(sum(quantity), 0) AS n FROM reservations WHERE owner_id = ? AND status IN ('held', 'committed')", ownerId)
      .one().n;
  }

  private reservation(reservationId: string): ReservationRow | null {
    return this.sql.exec<ReservationRow>("SELECT * FROM reservations WHERE reservation_id = ?", reservationId).toArray()[0] ?? null;
  }

  private itemOf(c: SkuCatalog, quantity: number): ReservedItem {
    return {
      skuId: c.skuId,
      productId: c.productId,
      merchantId: c.merchantId,
      name: c.name,
      image: c.image,
      spec: c.spec,
      quantity,
      unitPrice: c.price,
      currency: c.currency,
    };
  }

  private view(s: SkuState): SkuPublicView {
    return publicView(s.catalog, s.stock, s.version);
  }

  private admin(s: SkuState): SkuAdminView {
    return adminView(s.catalog, s.stock, s.version, s.updatedAt);
  }

  /** Writes the in-memory state through to storage (inside a transaction). */
  private save(s: SkuState): void {
    this.sql.exec(
      `INSERT INTO sku (id, catalog, on_hand, reserved, sold, version, updated_at) VALUES (1, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET catalog = excluded.catalog, on_hand = excluded.on_hand, reserved = excluded.reserved,
         sold = excluded.sold, version = excluded.version, updated_at = excluded.updated_at`,
      JSON.stringify(s.catalog),
      s.stock.onHand,
      s.stock.reserved,
      s.stock.sold,
      s.version,
      s.updatedAt,
    );
    this.sku = s;
  }

  private load(): SkuState | null {
    const row = this.sql
      .exec<{ catalog: string; on_hand: number; reserved: number; sold: number; version: number; updated_at: string }>("SELECT * FROM sku WHERE id = 1")
      .toArray()[0];
    if (!row) return null;
    return {
      catalog: JSON.parse(row.catalog) as SkuCatalog,
      stock: { onHand: row.on_hand, reserved: row.reserved, sold: row.sold },
      version: row.version,
      updatedAt: row.updated_at,
    };
  }
}
