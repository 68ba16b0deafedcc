/**
 * The SKU actor: one SKU, or one stripe of a hot SKU. Its RPC methods are
 * thin; each concern lives in a module under `sku/`: the record and its stock
 * movements (store.ts), the reservation ledger, flash orders, stripes, the
 * catalog and its views, the orphan sweep. The SKU's public view is mirrored
 * to Redis by stripe 0 (`cache/mirror.ts`).
 */
import { RedisMirror } from "../../cache/mirror";
import { skuViewValue } from "../../cache/sku-views";
import type { CarriedRelease, CarryGeneration, CarryReport } from "../../domain/carry";
import type { SkuAdminView, SkuCatalog, SkuPublicView, SkuQuote } from "../../domain/catalog";
import type { Outcome, Refusal } from "../../domain/errors";
import type { Order, PaymentEvent } from "../../domain/order";
import type { FlashBuyRequest, PlacedFlash, ReserveOutcome, ReserveRequest, SkuInput } from "../../domain/sku-contract";
import type { StockCounters } from "../../domain/stock";
import { parseStripeName } from "../../domain/stripes";
import { Actor } from "../actor";
import type { CommandTable, StripeCommand } from "../commands";
import { dispatch } from "../commands";
import { GroupCommit } from "../group-commit";
import type { Command } from "../outbox";
import type { SkuHost } from "./store";
import { SkuStore } from "./store";
import { SkuCarry } from "./carry";
import { SkuCatalogModule } from "./catalog";
import { SkuFlash } from "./flash";
import { SkuLedger } from "./ledger";
import { SkuStripes } from "./stripes";
import { SkuSweep } from "./sweep";

export type { ReservationVerdict } from "../../domain/checkout";
export type {
  FlashBuyRequest,
  PlacedFlash,
  ReservedItem,
  ReserveOutcome,
  ReserveRequest,
  SkuInput,
} from "../../domain/sku-contract";
export { ORPHAN_GRACE_MS } from "./sweep";

/** The SKU's view in Redis (price, status, availability for carts) is refreshed at most this often. */
const SKU_VIEW_PUBLISH_INTERVAL_MS = 250;

/**
 * Every reserve, commit, release and restock is a synchronous check-and-write
 * (no await between reading the counters and writing them), so concurrent
 * buyers are serialized by the actor itself and the counters can never
 * oversell. Reservations are idempotent by reservation id.
 *
 * A striped SKU (catalog.stripes > 1) spreads its stock over stripe actors
 * (see domain/stripes.ts): stripe 0, this SKU's own actor, keeps the catalog,
 * answers for the SKU as a whole and hands units out; each buyer reserves at
 * their home stripe; a stripe that runs dry pulls units from its siblings
 * (outside its check-and-write) before refusing.
 */
export class SkuActor extends Actor {
  protected readonly logKind = "sku";
  /**
   * A stock actor relays its events once no reservation came for this long: a flash burst's
   * events leave after it, in large batches (see Actor.relayQuietMs).
   */
  protected override relayQuietMs = 250;
  private readonly store: SkuStore;
  private readonly carry: SkuCarry;
  private readonly ledger: SkuLedger;
  private readonly flash: SkuFlash;
  private readonly stripes: SkuStripes;
  private readonly catalog: SkuCatalogModule;
  private readonly sweep: SkuSweep;
  private readonly mirror: RedisMirror;
  /** Reservations that arrive together are checked and written in one transaction. */
  private readonly batch: GroupCommit;
  private readonly commands: CommandTable<StripeCommand>;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const host = this.hostWith<SkuHost>({ relayOnly: () => super.afterCommit() });
    this.store = new SkuStore(host);
    this.carry = new SkuCarry(host, this.store, () => this.ledger.openUnits());
    this.ledger = new SkuLedger(host, this.store, this.carry);
    this.stripes = new SkuStripes(host, this.store, this.carry, () => this.mirror.kick());
    this.flash = new SkuFlash(host, this.store, this.ledger);
    this.catalog = new SkuCatalogModule(host, this.store, this.ledger, this.stripes, this.carry, () => this.mirror);
    this.sweep = new SkuSweep(host, this.store, this.ledger);
    this.batch = new GroupCommit(
      (change) => this.transact(change),
      () => this.afterCommit(),
    );
    this.mirror = new RedisMirror(
      env,
      () => {
        const sku = this.store.current;
        return sku && this.store.isMain ? skuViewValue(this.catalog.view(sku)) : null;
      },
      SKU_VIEW_PUBLISH_INTERVAL_MS,
      () => this.reschedule(),
    );
    this.commands = {
      // A flash order's stock effects on the promotions' redemptions it holds (their budget ledgers).
      commit: async (holder, { reservationId }) => {
        await this.env.SKUS.getByName(holder).commit(reservationId);
      },
      release: async (holder, { reservationId, reason }) => {
        await this.env.SKUS.getByName(holder).release(reservationId, reason);
      },
      restock: async (holder, { reservationId }) => {
        await this.env.SKUS.getByName(holder).restock(reservationId);
      },
      credit: (stripe, { transferId, units }) => this.env.SKUS.getByName(stripe).credit(transferId, units),
      configureStripe: (stripe, { catalog, generation }) =>
        this.env.SKUS.getByName(stripe).configureStripe(catalog, generation),
      receiveCarried: (stripe, report) => this.env.SKUS.getByName(stripe).receiveCarried(report),
      releaseCarried: (stripe, release) => this.env.SKUS.getByName(stripe).releaseCarried(release),
    };
    // After a restart we do not know what Redis holds: publish once.
    this.mirror.kick();
  }

  /** `sku:{skuId}~{stripe}`: which stripe of the SKU wrote the line. */
  protected override logName(): string {
    try {
      const { skuId, index } = parseStripeName(this.name);
      return `sku:${skuId}~${index}`;
    } catch {
      return super.logName();
    }
  }

  // ---- catalog (sku/catalog.ts) ----------------------------------------------

  upsert(skuId: string, input: SkuInput): Promise<Outcome<{ sku: SkuAdminView; created: boolean }>> {
    return this.catalog.upsert(skuId, input);
  }

  adminView(): Promise<SkuAdminView | null> {
    return this.catalog.adminView();
  }

  publicView(): SkuPublicView | null {
    return this.catalog.publicView();
  }

  quote(ownerId: string): Promise<SkuQuote | null> {
    return this.catalog.quote(ownerId);
  }

  /** What this buyer holds or bought, asked of their home stripe (for quotes). */
  ownerUnitsOf(ownerId: string): Promise<number> {
    return this.ledger.reportedOwnerUnits(ownerId);
  }

  // ---- stock (sku/ledger.ts) ----------------------------------------------------

  /**
   * Holds `quantity` units for an order. Refuses an unknown or inactive SKU,
   * more than available, and more than the buyer's purchase limit (counting
   * what the buyer already holds or bought). Replaying the same reservation
   * id returns the same reservation. A stripe that runs dry refills from its
   * siblings, then tries once more: nobody is told "out of stock" while
   * another stripe still has units.
   */
  async reserve(req: ReserveRequest): Promise<ReserveOutcome> {
    const misrouted = this.ledger.misrouted(req.ownerId, req.stripes ?? 1, req.reservationId);
    return this.takeAtHome(misrouted, req.quantity, () => this.ledger.tryReserve(req));
  }

  /** Whether the buyer's home is this stripe for a caller that counts `stripes`: ok with the true count, or STALE_ROUTE. */
  route(ownerId: string, stripes: number): Outcome<{ stripes: number }> {
    return this.ledger.misrouted(ownerId, stripes, "") ?? { ok: true, stripes: this.store.stripes };
  }

  commit(reservationId: string): Outcome<{ replayed: boolean }> {
    return this.ledger.commit(reservationId);
  }

  release(reservationId: string, reason: string): { released: boolean } {
    return this.ledger.release(reservationId, reason);
  }

  restock(reservationId: string): { restocked: boolean } {
    return this.ledger.restock(reservationId);
  }

  // ---- flash orders kept here (sku/flash.ts) ---------------------------------------

  /**
   * Flash buy-now (docs/API.md, Flash buy): reserves and creates the PENDING order
   * here, in one transaction shared with the reservations that arrived at the
   * same time; no other actor is opened while the buyer waits. The same key
   * and request return the same order; a refusal (SOLD_OUT, LIMIT_EXCEEDED)
   * writes nothing.
   */
  async flashBuy(req: FlashBuyRequest): Promise<PlacedFlash> {
    const misrouted = this.ledger.misrouted(req.ownerId, req.stripes, this.flash.flashOrderId(req));
    return this.takeAtHome(misrouted, req.quantity, () => this.flash.tryFlash(req));
  }

  /**
   * A reserve or flash buy at the buyer's home stripe (`misrouted` when this is not it): the
   * attempt runs in the next group commit; a stripe that ran dry refills from its siblings and
   * tries once more.
   */
  private async takeAtHome<T>(
    misrouted: Refusal | null,
    quantity: number,
    attempt: () => Outcome<T>,
  ): Promise<Outcome<T>> {
    if (misrouted) return misrouted;
    if (!this.carry.counted) await this.carry.awaitReports();
    const first = await this.batch.submit(attempt);
    if (first.ok || first.code !== "OUT_OF_STOCK" || this.store.stripes === 1) return first;
    await this.stripes.refillFor(quantity);
    return this.batch.submit(attempt);
  }

  flashOrder(orderId: string): Order | null {
    return this.flash.flashOrder(orderId);
  }

  cancelFlash(orderId: string, ownerId: string): Outcome<{ order: Order }> {
    return this.flash.cancelFlash(orderId, ownerId);
  }

  payFlash(event: PaymentEvent, usedBy: string | null): Outcome<{ order: Order; duplicate: boolean }> {
    return this.flash.payFlash(event, usedBy);
  }

  expireFlash(orderId: string): { expired: boolean } {
    return this.flash.expireFlash(orderId);
  }

  // ---- stripes (sku/stripes.ts) ------------------------------------------------------

  give(transferId: string, to: string, want: number, all = false): { units: number } {
    return this.stripes.give(transferId, to, want, all);
  }

  credit(transferId: string, units: number): void {
    this.stripes.credit(transferId, units);
  }

  configureStripe(catalog: SkuCatalog, generation?: CarryGeneration): void {
    this.stripes.configureStripe(catalog, generation);
  }

  stripeCounters(): StockCounters {
    return this.stripes.stripeCounters();
  }

  stripeReport(index: number, counters: StockCounters, version: number): void {
    this.stripes.stripeReport(index, counters, version);
  }

  // ---- units held away from the buyer's home stripe (sku/carry.ts) -----------------------

  receiveCarried(report: CarryReport): void {
    this.carry.receive(report);
  }

  releaseCarried(release: CarriedRelease): void {
    this.carry.release(release);
  }

  // ---- commits, commands, alarm ------------------------------------------------------

  /** After every change: relay, and publish the view (stripe 0) or report the counters (other stripes). */
  protected override afterCommit(): void {
    super.afterCommit();
    // Reports and releases of carried units leave at once: buyers wait for them.
    if (this.carry.takeWritten()) void this.relayNow();
    if (this.store.isMain) this.mirror.kick();
    else this.stripes.changed();
  }

  protected override runCommand(command: Command): Promise<void> {
    return dispatch(this.commands, command);
  }

  protected nextDutyAt(): number | null {
    const due = [this.sweep.nextSweepAt(), this.mirror.nextWriteAt(), this.flash.nextExpiry()].filter(
      (t): t is number => t !== null,
    );
    return due.length ? Math.min(...due) : null;
  }

  /** Redis retries, flash orders past their window, then reservations nobody confirmed (sku/sweep.ts). */
  protected async runDuties(now: number): Promise<void> {
    await this.mirror.retryIfDue(now);
    this.flash.expireDue(now);
    await this.sweep.sweep(now);
  }

  protected override onRollback(): void {
    this.store.reload();
    this.carry.reload();
  }
}
