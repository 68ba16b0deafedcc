import { RedisMirror } from "../cache/mirror";
import { skuViewValue } from "../cache/sku-views";
import type { ProductSnapshot, SkuAdminView, SkuCatalog, SkuPublicView, SkuQuote } from "../domain/catalog";
import { adminView, productSnapshot, publicView, saleNotStarted } from "../domain/catalog";
import type { Outcome, Refusal } from "../domain/errors";
import { refuse } from "../domain/errors";
import type { Movement, ReserveRefusalCode, StockCounters } from "../domain/stock";
import {
  applyMovement,
  availableOf,
  checkReserve,
  EMPTY_STOCK,
  movement,
  setAvailable,
  shiftOnHand,
} from "../domain/stock";
import type { StripeAddress } from "../domain/stripes";
import { homeStripe, parseStripeName, shares, stripeName, unitsToGive } from "../domain/stripes";
import type { Decision, Order, PaymentEvent, StockEffect } from "../domain/order";
import {
  decideCancel,
  decideExpiry,
  decideForeignPayment,
  decidePayment,
  isDuplicatePayment,
  orderLine,
  pendingOrder,
} from "../domain/order";
import { flashOrderId } from "../domain/order-ids";
import { envelope, INVENTORY_EVENT_OF } from "../events/envelope";
import { Actor } from "./actor";
import { FlashOrders } from "./flash-orders";
import { GroupCommit } from "./group-commit";
import type { Command } from "./outbox";
import { SingleFlight } from "./single-flight";

/** How long past its expiry a held reservation waits before the SKU asks its order what to do with it. */
export const ORPHAN_GRACE_MS = 60_000;
/** Reservations of flash orders are settled by the order kept beside them, never by the orphan sweep. */
const NOT_FLASH = "NOT EXISTS (SELECT 1 FROM flash_orders f WHERE f.order_id = reservations.order_id)";
/** A stock actor relays its events once no reservation came for this long (see Actor.relayQuietMs). */
const RELAY_QUIET_MS = 250;
/** Flash orders expired per alarm run. */
const FLASH_EXPIRY_BATCH = 200;
/** A stripe tells its SKU its counters at most this often (for the SKU's public view). */
const REPORT_INTERVAL_MS = 250;
/** The SKU's view in Redis (price, status, availability for carts) is refreshed at most this often. */
const SKU_VIEW_PUBLISH_INTERVAL_MS = 250;

export type SkuInput = Omit<SkuCatalog, "skuId"> & { stock: number };

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
}

export type PlacedFlash = Outcome<{ order: Order; created: boolean }>;

/** `holder` is the actor that keeps the reservation: commit, release and restock go there. */
export type ReserveOutcome = Outcome<{ item: ReservedItem; expiresAt: number; replayed: boolean; holder: string }>;

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
  /** The SKU's catalog record (a stripe keeps a copy). */
  catalog: SkuCatalog;
  /** This actor's own counters (for a striped SKU: this stripe's). */
  stock: StockCounters;
  version: number;
  updatedAt: string;
}

interface StripeReport extends Record<string, SqlStorageValue> {
  idx: number;
  on_hand: number;
  reserved: number;
  sold: number;
  version: number;
}

/**
 * One SKU, or one stripe of a hot SKU: its catalog record and its live stock
 * counters. Every reserve, commit, release and restock is a synchronous
 * check-and-write (no await between reading the counters and writing them),
 * so concurrent buyers are serialized by the actor itself and the counters
 * can never oversell. Reservations are idempotent by reservation id.
 *
 * A striped SKU (catalog.stripes > 1) spreads its stock over stripe actors
 * (see domain/stripes.ts): stripe 0, this SKU's own actor, keeps the catalog,
 * answers for the SKU as a whole and hands units out; each buyer reserves at
 * their home stripe; a stripe that runs dry pulls units from its siblings
 * (outside its check-and-write) before refusing.
 */
export class SkuActor extends Actor {
  private sku: SkuState | null;
  private addressMemo: StripeAddress | null = null;
  private readonly mirror: RedisMirror;
  private readonly refiller: SingleFlight;
  private readonly reporter: SingleFlight;
  /** Units buyers are waiting for while this stripe refills. */
  private demand = 0;
  /** Reservations that arrive together are checked and written in one transaction. */
  private readonly batch: GroupCommit;
  /** Flash orders placed at this stripe. */
  private readonly flash: FlashOrders;

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
    // Stripes: units handed between stripes, exactly once each way.
    this.sql.exec(
      "CREATE TABLE IF NOT EXISTS transfers (transfer_id TEXT PRIMARY KEY, direction TEXT NOT NULL, peer TEXT NOT NULL, units INTEGER NOT NULL, at INTEGER NOT NULL)",
    );
    // Stripe 0 only: the other stripes' last reported counters, and how many stripes ever existed.
    this.sql.exec(
      "CREATE TABLE IF NOT EXISTS stripe_reports (idx INTEGER PRIMARY KEY, on_hand INTEGER NOT NULL, reserved INTEGER NOT NULL, sold INTEGER NOT NULL, version INTEGER NOT NULL)",
    );
    this.sql.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)");
    this.sku = this.load();
    // A flash burst's events leave after it, in large batches (the Actor base explains).
    this.relayQuietMs = RELAY_QUIET_MS;
    this.flash = new FlashOrders({
      sql: this.sql,
      outbox: this.outbox,
      settle: (id, effect, reason) => this.settle(id, effect, reason),
    });
    this.batch = new GroupCommit(
      (change) => this.transact(change),
      () => this.afterCommit(),
    );
    this.mirror = new RedisMirror(
      env,
      () => (this.sku && this.isMain ? skuViewValue(this.view(this.sku)) : null),
      SKU_VIEW_PUBLISH_INTERVAL_MS,
      () => this.reschedule(),
    );
    this.refiller = new SingleFlight(() => this.refill());
    this.reporter = new SingleFlight(() => this.report(), REPORT_INTERVAL_MS);
    // After a restart we do not know what Redis holds: publish once.
    this.mirror.kick();
  }

  private get isMain(): boolean {
    return this.address.index === 0;
  }

  /** How many stripes the SKU is split into (1 = not striped). */
  private get stripes(): number {
    return this.sku?.catalog.stripes ?? 1;
  }

  /** Which SKU and stripe this actor is, from its name (kept in its own storage by the Actor base). */
  private get address(): StripeAddress {
    return (this.addressMemo ??= parseStripeName(this.name));
  }

  private stripe(index: number) {
    return this.env.SKUS.getByName(stripeName(this.address.skuId, index));
  }

  // ---- catalog -------------------------------------------------------------

  /**
   * Creates or updates the SKU; an unchanged PUT of an unstriped SKU changes
   * nothing (idempotent). For a striped SKU the stock is first collected from
   * every stripe, set here, then shared out again.
   */
  async upsert(skuId: string, input: SkuInput): Promise<{ sku: SkuAdminView; created: boolean }> {
    if (!this.isMain) throw new Error("a stripe is configured through its SKU");
    const span = Math.max(this.stripesEver(), input.stripes);
    if (span > 1) await this.collect(span);
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
        saleStartsAt: input.saleStartsAt,
      };
      const stock = prev?.stock ?? EMPTY_STOCK;
      const restock = setAvailable(stock, input.stock);
      const same = prev && restock.quantity === 0 && JSON.stringify(prev.catalog) === JSON.stringify(catalog);
      if (same && span === 1) return { state: prev, changed: false, created: false };
      const next: SkuState = {
        catalog,
        stock: applyMovement(stock, restock),
        version: (prev?.version ?? 0) + 1,
        updatedAt: new Date().toISOString(),
      };
      this.save(next);
      if (restock.quantity !== 0) this.recordMovement(next, restock, `admin:v${next.version}`, "admin");
      this.outbox.addEvent(envelope("sku.updated", skuId, next.version, this.admin(next)));
      if (span > 1) this.shareOut(span);
      return { state: next, changed: true, created: prev === null };
    });
    if (result.changed) {
      this.afterCommit();
      // Stripes must know the catalog before buyers reach them; carts show prices from Redis.
      await Promise.all([
        span > 1 ? this.relayNow() : Promise.resolve(),
        this.mirror.flush().catch((err: unknown) => console.warn("sku view not published", err)),
      ]);
    }
    return { sku: await this.aggregateAdmin(result.state), created: result.created };
  }

  async adminView(): Promise<SkuAdminView | null> {
    return this.sku ? this.aggregateAdmin(this.sku) : null;
  }

  publicView(): SkuPublicView | null {
    return this.sku ? this.view(this.sku) : null;
  }

  /** The public view plus the units this buyer already holds or bought, for cart checks. */
  async quote(ownerId: string): Promise<SkuQuote | null> {
    if (!this.sku) return null;
    const home = homeStripe(ownerId, this.stripes);
    const ownerUnits =
      home === this.address.index ? this.ownerUnits(ownerId) : await this.stripe(home).ownerUnitsOf(ownerId);
    return { ...this.view(this.sku), ownerUnits };
  }

  ownerUnitsOf(ownerId: string): number {
    return this.ownerUnits(ownerId);
  }

  // ---- stock -----------------------------------------------------------------

  /**
   * Holds `quantity` units for an order. Refuses an unknown or inactive SKU,
   * more than available, and more than the buyer's purchase limit (counting
   * what the buyer already holds or bought). Replaying the same reservation
   * id returns the same reservation. A stripe that runs dry refills from its
   * siblings, then tries once more: nobody is told "out of stock" while
   * another stripe still has units.
   */
  async reserve(req: ReserveRequest): Promise<ReserveOutcome> {
    const misrouted = this.misrouted(req.ownerId, req.stripes ?? 1, req.reservationId);
    if (misrouted) return misrouted;
    const first = await this.batch.submit(() => this.tryReserve(req));
    if (first.ok || first.code !== "OUT_OF_STOCK" || this.stripes === 1) return first;
    await this.refillFor(req.quantity);
    return this.batch.submit(() => this.tryReserve(req));
  }

  /**
   * Flash buy-now (docs/API.md, Flash buy): reserves and creates the PENDING order
   * here, in one transaction shared with the reservations that arrived at the
   * same time; no other actor is opened while the buyer waits. The same key
   * and request return the same order; a refusal (SOLD_OUT, LIMIT_EXCEEDED)
   * writes nothing.
   */
  async flashBuy(req: FlashBuyRequest): Promise<PlacedFlash> {
    const misrouted = this.misrouted(req.ownerId, req.stripes, this.flashOrderId(req));
    if (misrouted) return misrouted;
    const first = await this.batch.submit(() => this.tryFlash(req));
    if (first.ok || first.code !== "OUT_OF_STOCK" || this.stripes === 1) return first;
    await this.refillFor(req.quantity);
    return this.batch.submit(() => this.tryFlash(req));
  }

  /** A stripe that ran dry pulls units from its siblings before anyone is told it is out of stock. */
  private async refillFor(quantity: number): Promise<void> {
    this.demand += quantity;
    try {
      await this.refiller.run();
    } finally {
      this.demand -= quantity;
    }
  }

  /** Check-and-write of one reservation, inside a group commit. */
  private tryReserve(req: ReserveRequest): ReserveOutcome {
    const existing = this.reservation(req.reservationId);
    if (existing) return this.replay(existing, req);
    const held = this.hold(req);
    if (!held.ok) return held;
    return { ok: true, item: held.item, expiresAt: req.expiresAt, replayed: false, holder: this.name };
  }

  /** Check-and-write of one flash order and its reservation, inside a group commit. */
  private tryFlash(req: FlashBuyRequest): PlacedFlash {
    const orderId = this.flashOrderId(req);
    const earlier = this.flash.find(orderId);
    if (earlier) {
      if (earlier.requestHash !== req.requestHash)
        return refuse("IDEMPOTENCY_KEY_REUSED", "this Idempotency-Key was used with a different request");
      return { ok: true, order: earlier.order, created: false };
    }
    const now = Date.now();
    const expiresAt = now + req.ttlMs;
    const held = this.hold({
      reservationId: orderId,
      orderId,
      ownerId: req.ownerId,
      quantity: req.quantity,
      expiresAt,
    });
    if (!held.ok) return held;
    const order = pendingOrder({
      orderId,
      ownerId: req.ownerId,
      source: "flash",
      items: [orderLine(held.item)],
      currency: held.item.currency,
      expiresAt,
      now,
    });
    this.flash.create(order, req.requestHash);
    return { ok: true, order, created: true };
  }

  private flashOrderId(req: FlashBuyRequest): string {
    return flashOrderId(req.keyHash, this.address.index, this.address.skuId);
  }

  /** Checks the SKU, stock and the buyer's limit, then holds the units (inside a transaction, no await). */
  private hold(req: Omit<ReserveRequest, "stripes">): Outcome<{ item: ReservedItem }> {
    const sku = this.sku;
    if (!sku)
      return refuse("SKU_UNAVAILABLE", "the SKU does not exist", [
        { code: "SKU_UNAVAILABLE", skuId: this.address.skuId },
      ]);
    const ownerUnits = this.ownerUnits(req.ownerId);
    const refusal = checkReserve({
      active: sku.catalog.status === "active",
      notStarted: saleNotStarted(sku.catalog, Date.now()),
      counters: sku.stock,
      purchaseLimit: sku.catalog.purchaseLimit,
      ownerUnits,
      quantity: req.quantity,
    });
    if (refusal) return this.refusal(sku, refusal, req.quantity, ownerUnits);
    const item = this.itemOf(sku.catalog, req.quantity);
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
    return { ok: true, item };
  }

  /** A buyer routed to a stripe that is not their home (the caller's stripe count was stale). */
  private misrouted(ownerId: string, callerStripes: number, reservationId: string): Refusal | null {
    const stripes = this.stripes;
    const home = homeStripe(ownerId, stripes);
    if (callerStripes === stripes && home === this.address.index) return null;
    if (this.reservation(reservationId)) return null; // a replay is answered wherever it is held
    return refuse("STALE_ROUTE", `this SKU has ${stripes} stripes; the buyer's home is stripe ${home}`, [
      { code: "STALE_ROUTE", stripes },
    ]);
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

  // ---- flash orders kept here -------------------------------------------------------

  flashOrder(orderId: string): Order | null {
    return this.flash.find(orderId)?.order ?? null;
  }

  cancelFlash(orderId: string, ownerId: string): Outcome<{ order: Order }> {
    if (this.flash.find(orderId)?.order.ownerId !== ownerId) return refuse("NOT_FOUND", "no such order");
    let refused = false;
    const { order } = this.decideFlash(orderId, (o) => decideCancel(o) ?? ((refused = true), null))!;
    return refused ? refuse("ORDER_NOT_PENDING", `the order is ${order.status}`) : { ok: true, order };
  }

  /** A payment provider event for a flash order kept here (see OrderActor.applyPayment). */
  payFlash(event: PaymentEvent, usedBy: string | null): Outcome<{ order: Order; duplicate: boolean }> {
    const record = this.flash.find(event.orderId);
    if (!record) return refuse("NOT_FOUND", `no order ${event.orderId}`);
    if (isDuplicatePayment(record.order, event)) return { ok: true, order: record.order, duplicate: true };
    const decide = (o: Order, now: number) =>
      usedBy ? decideForeignPayment(o, event, usedBy, now) : decidePayment(o, event, now);
    return { ok: true, order: this.decideFlash(event.orderId, decide)!.order, duplicate: false };
  }

  expireFlash(orderId: string): { expired: boolean } {
    return { expired: this.decideFlash(orderId, () => null)?.changed ?? false };
  }

  /**
   * One change of a flash order with its stock effect, in one transaction. An
   * order whose payment window has closed is expired first, so a late payment
   * is flagged for refund instead of being honoured with released stock.
   */
  private decideFlash(
    orderId: string,
    decide: (order: Order, now: number) => Decision | null,
  ): { order: Order; changed: boolean } | null {
    const now = Date.now();
    const result = this.transact(() => {
      const record = this.flash.find(orderId);
      if (!record) return null;
      let order = record.order;
      const expiry = decideExpiry(order, now);
      if (expiry) order = this.flash.apply(order, expiry, now);
      const decision = decide(order, now);
      if (decision) order = this.flash.apply(order, decision, now);
      return { order, changed: expiry !== null || decision !== null };
    });
    if (result?.changed) this.afterCommit();
    return result;
  }

  /** A flash order's stock effect on its reservation (inside the order's transaction). */
  private settle(reservationId: string, effect: StockEffect, reason: string): boolean {
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

  // ---- stripes ---------------------------------------------------------------

  /**
   * Hands units to a sibling stripe (or all available units when `all`):
   * taken here at once, credited there by an outbox command (exactly once,
   * by transfer id) in case the caller never credits them itself.
   */
  give(transferId: string, to: string, want: number, all = false): { units: number } {
    const done = this.sql
      .exec<{ units: number }>("SELECT units FROM transfers WHERE transfer_id = ?", transferId)
      .toArray()[0];
    if (done) return { units: done.units };
    const sku = this.sku;
    const units = sku ? unitsToGive(availableOf(sku.stock), want, all) : 0;
    if (units > 0) {
      this.transact(() => this.transferOut(transferId, to, units));
      this.afterCommit();
    }
    return { units };
  }

  /** Receives units from a sibling stripe. Idempotent by transfer id. */
  credit(transferId: string, units: number): void {
    if (this.sql.exec("SELECT 1 FROM transfers WHERE transfer_id = ?", transferId).toArray().length > 0) return;
    if (!this.sku) throw new Error(`stripe ${this.name} has no catalog yet`);
    const sku = this.sku;
    this.transact(() => {
      this.sql.exec(
        "INSERT INTO transfers (transfer_id, direction, peer, units, at) VALUES (?, 'in', '', ?, ?)",
        transferId,
        units,
        Date.now(),
      );
      this.save({
        ...sku,
        stock: shiftOnHand(sku.stock, units),
        version: sku.version + 1,
        updatedAt: new Date().toISOString(),
      });
    });
    this.afterCommit();
  }

  /** A stripe learns (or re-learns) its SKU's catalog and stripe count from stripe 0. */
  configureStripe(catalog: SkuCatalog): void {
    const prev = this.sku;
    this.transact(() =>
      this.save({
        catalog,
        stock: prev?.stock ?? EMPTY_STOCK,
        version: (prev?.version ?? 0) + 1,
        updatedAt: new Date().toISOString(),
      }),
    );
    this.afterCommit();
  }

  /** This stripe's own counters. */
  stripeCounters(): StockCounters {
    return this.sku?.stock ?? EMPTY_STOCK;
  }

  /** Stripe 0 keeps the other stripes' counters for the SKU's public view (newest report wins). */
  stripeReport(index: number, counters: StockCounters, version: number): void {
    this.transact(() => {
      this.sql.exec(
        `INSERT INTO stripe_reports (idx, on_hand, reserved, sold, version) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (idx) DO UPDATE SET on_hand = excluded.on_hand, reserved = excluded.reserved, sold = excluded.sold, version = excluded.version
         WHERE excluded.version > stripe_reports.version`,
        index,
        counters.onHand,
        counters.reserved,
        counters.sold,
        version,
      );
      // The view changed: a new version, so Redis takes it.
      if (this.sku) this.save({ ...this.sku, version: this.sku.version + 1 });
    });
    this.mirror.kick();
  }

  /** Pulls units from the other stripes until the waiting buyers are covered or every sibling was asked. */
  private async refill(): Promise<void> {
    const order = Array.from({ length: this.stripes }, (_, i) => i).filter((i) => i !== this.address.index);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    for (const index of order) {
      const short = this.demand - availableOf(this.sku!.stock);
      if (short <= 0) return;
      const transferId = `${this.name}<${stripeName(this.address.skuId, index)}:${crypto.randomUUID()}`;
      const { units } = await this.stripe(index).give(transferId, this.name, short);
      if (units > 0) this.credit(transferId, units);
    }
  }

  /** Stripe 0 gathers every stripe's available units before an admin change. */
  private async collect(span: number): Promise<void> {
    for (let index = 1; index < span; index++) {
      const transferId = `collect:${stripeName(this.address.skuId, index)}:${crypto.randomUUID()}`;
      const { units } = await this.stripe(index).give(transferId, this.name, 0, true);
      if (units > 0 && this.sku) this.credit(transferId, units);
    }
  }

  /** Inside the admin transaction: configure every stripe, then give each active one its share. */
  private shareOut(span: number): void {
    const sku = this.sku!;
    this.sql.exec(
      "INSERT INTO meta (key, value) VALUES ('stripes_ever', ?) ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)",
      span,
    );
    for (let index = 1; index < span; index++) {
      this.outbox.addCommand({
        target: `sku:${stripeName(this.address.skuId, index)}`,
        name: "configureStripe",
        args: { catalog: sku.catalog },
      });
    }
    const count = sku.catalog.stripes;
    shares(availableOf(sku.stock), count).forEach((units, index) => {
      if (index > 0 && units > 0)
        this.transferOut(`share:${sku.version}:${index}`, stripeName(this.address.skuId, index), units);
    });
  }

  /** Takes units out of this stripe and queues their credit at `to` (inside a transaction). */
  private transferOut(transferId: string, to: string, units: number): void {
    const sku = this.sku!;
    this.sql.exec(
      "INSERT INTO transfers (transfer_id, direction, peer, units, at) VALUES (?, 'out', ?, ?, ?)",
      transferId,
      to,
      units,
      Date.now(),
    );
    this.save({
      ...sku,
      stock: shiftOnHand(sku.stock, -units),
      version: sku.version + 1,
      updatedAt: new Date().toISOString(),
    });
    this.outbox.addCommand({ target: `sku:${to}`, name: "credit", args: { transferId, units } });
  }

  private stripesEver(): number {
    const row = this.sql.exec<{ value: number }>("SELECT value FROM meta WHERE key = 'stripes_ever'").toArray()[0];
    return Math.max(row?.value ?? 1, this.stripes);
  }

  /** A stripe tells stripe 0 its counters (throttled); a retired stripe hands freed units back. */
  private async report(): Promise<void> {
    const sku = this.sku;
    if (!sku || this.isMain) return;
    if (this.address.index >= this.stripes && availableOf(sku.stock) > 0) {
      this.transact(() =>
        this.transferOut(`return:${this.name}:${crypto.randomUUID()}`, this.address.skuId, availableOf(sku.stock)),
      );
      super.afterCommit();
    }
    await this.stripe(0).stripeReport(this.address.index, this.sku!.stock, this.sku!.version);
  }

  protected override afterCommit(): void {
    super.afterCommit();
    if (this.isMain) this.mirror.kick();
    else this.reporter.kick();
  }

  protected override async runCommand(command: Command): Promise<void> {
    const stub = this.env.SKUS.getByName(command.target.slice(4));
    if (command.name === "credit") {
      const { transferId, units } = command.args as { transferId: string; units: number };
      await stub.credit(transferId, units);
    } else if (command.name === "configureStripe") {
      await stub.configureStripe((command.args as { catalog: SkuCatalog }).catalog);
    } else {
      throw new Error(`unknown SKU command ${command.name}`);
    }
  }

  /** The admin view: for a striped SKU, the counters of every stripe added up (asked, not reported). */
  private async aggregateAdmin(s: SkuState): Promise<SkuAdminView> {
    const span = this.isMain ? this.stripesEver() : 1;
    let total = s.stock;
    for (let index = 1; index < span; index++) {
      const c = await this.stripe(index).stripeCounters();
      total = { onHand: total.onHand + c.onHand, reserved: total.reserved + c.reserved, sold: total.sold + c.sold };
    }
    return adminView(s.catalog, total, s.version, s.updatedAt);
  }

  // ---- alarm -----------------------------------------------------------------

  protected nextDutyAt(): number | null {
    const row = this.sql
      .exec<{ at: number | null }>(
        `SELECT min(expires_at) AS at FROM reservations WHERE status = 'held' AND ${NOT_FLASH}`,
      )
      .one();
    const sweep = row.at === null ? null : row.at + ORPHAN_GRACE_MS;
    const publish = this.mirror.nextWriteAt();
    const due = [sweep, publish, this.flash.nextExpiry()].filter((t): t is number => t !== null);
    return due.length ? Math.min(...due) : null;
  }

  /**
   * Releases reservations nobody confirmed: a held reservation overdue by the
   * grace period is settled by asking its order (paid -> commit, still pending
   * -> wait for the order's own expiry, anything else -> release). This frees
   * stock even if a checkout died between reserving and creating its order.
   */
  protected async runDuties(now: number): Promise<void> {
    await this.mirror.retryIfDue(now);
    // Flash orders kept here expire at their own expiresAt (a later alarm takes the rest).
    for (const orderId of this.flash.due(now, FLASH_EXPIRY_BATCH)) this.expireFlash(orderId);
    const overdue = this.sql
      .exec<ReservationRow>(
        `SELECT * FROM reservations WHERE status = 'held' AND expires_at <= ? AND ${NOT_FLASH} ORDER BY expires_at LIMIT 50`,
        now - ORPHAN_GRACE_MS,
      )
      .toArray();
    const skuId = this.address.skuId;
    await Promise.all(
      overdue.map(async (row) => {
        const verdict = await this.env.ORDERS.getByName(row.order_id).reservationVerdict(row.reservation_id, skuId);
        // The answer took an await: settle only what is still held.
        const current = this.reservation(row.reservation_id);
        if (current?.status !== "held") return;
        if (verdict.state === "paid") this.commit(row.reservation_id);
        else if (verdict.state === "closed") this.release(row.reservation_id, "orphaned");
        else
          this.sql.exec(
            "UPDATE reservations SET expires_at = ? WHERE reservation_id = ?",
            verdict.expiresAt,
            row.reservation_id,
          );
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
    if (row.status === "held" || row.status === "committed")
      return { ok: true, item, expiresAt: row.expires_at, replayed: true, holder: this.name };
    return refuse("ORDER_NOT_PENDING", `reservation ${req.reservationId} is already ${row.status}`);
  }

  private refusal(sku: SkuState, code: ReserveRefusalCode, quantity: number, ownerUnits: number): Refusal {
    const skuId = sku.catalog.skuId;
    const available = Math.max(0, availableOf(sku.stock));
    switch (code) {
      case "SKU_UNAVAILABLE":
        return refuse(code, `SKU ${skuId} is not for sale`, [{ code, skuId }]);
      case "SALE_NOT_STARTED":
        return refuse(code, `the sale of SKU ${skuId} opens at ${sku.catalog.saleStartsAt}`, [
          { code, skuId, saleStartsAt: sku.catalog.saleStartsAt },
        ]);
      case "LIMIT_EXCEEDED":
        return refuse(code, `at most ${sku.catalog.purchaseLimit} of SKU ${skuId} per customer`, [
          { code, skuId, limit: sku.catalog.purchaseLimit, alreadyPurchased: ownerUnits, requested: quantity },
        ]);
      case "OUT_OF_STOCK":
        return refuse(code, `only ${available} of SKU ${skuId} available`, [
          { code, skuId, available, requested: quantity },
        ]);
    }
  }

  private close(row: ReservationRow, status: ReservationStatus, m: Movement, reason: string): void {
    this.transact(() => this.closeRow(row, status, m, reason));
    this.afterCommit();
  }

  /** Closes a held or committed reservation with its movement (inside a transaction). */
  private closeRow(row: ReservationRow, status: ReservationStatus, m: Movement, reason: string): void {
    this.sql.exec(
      "UPDATE reservations SET status = ?, closed_at = ? WHERE reservation_id = ?",
      status,
      Date.now(),
      row.reservation_id,
    );
    this.move(m, row.order_id, reason);
  }

  /** Applies a stock movement to the counters and records it (call inside a transaction). */
  private move(m: Movement, refId: string, reason: string): void {
    const sku = this.sku;
    if (!sku) throw new Error("stock movement on a SKU that does not exist");
    const next: SkuState = {
      ...sku,
      stock: applyMovement(sku.stock, m),
      version: sku.version + 1,
      updatedAt: new Date().toISOString(),
    };
    this.save(next);
    this.recordMovement(next, m, refId, reason);
  }

  private recordMovement(state: SkuState, m: Movement, refId: string, reason: string): void {
    const skuId = state.catalog.skuId;
    this.outbox.addEvent(
      envelope(INVENTORY_EVENT_OF[m.kind], skuId, state.version, { ...m, skuId, refId, reason, counters: state.stock }),
    );
  }

  private ownerUnits(ownerId: string): number {
    return this.sql
      .exec<{ n: number }>(
        "SELECT coalesce(sum(quantity), 0) AS n FROM reservations WHERE owner_id = ? AND status IN ('held', 'committed')",
        ownerId,
      )
      .one().n;
  }

  private reservation(reservationId: string): ReservationRow | null {
    return (
      this.sql
        .exec<ReservationRow>("SELECT * FROM reservations WHERE reservation_id = ?", reservationId)
        .toArray()[0] ?? null
    );
  }

  private itemOf(c: SkuCatalog, quantity: number): ReservedItem {
    return { ...productSnapshot(c), quantity, unitPrice: c.price, currency: c.currency };
  }

  /** The public view; for a striped SKU, `available` adds the stripes' last reports. */
  private view(s: SkuState): SkuPublicView {
    let stock = s.stock;
    if (this.isMain && s.catalog.stripes > 1) {
      for (const r of this.sql.exec<StripeReport>("SELECT * FROM stripe_reports").toArray()) {
        stock = { onHand: stock.onHand + r.on_hand, reserved: stock.reserved + r.reserved, sold: stock.sold + r.sold };
      }
    }
    return publicView(s.catalog, stock, s.version);
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
      .exec<{ catalog: string; on_hand: number; reserved: number; sold: number; version: number; updated_at: string }>(
        "SELECT * FROM sku WHERE id = 1",
      )
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
