/**
 * Stripes of a hot SKU (domain/stripes.ts): stripe 0, the SKU's own actor,
 * shares the stock out and answers for the SKU as a whole; each stripe holds
 * units of its own, pulls units from its siblings when it runs dry, and tells
 * stripe 0 its counters. Units move between stripes exactly once each way
 * (by transfer id), credited through the outbox.
 */
import type { CarryGeneration } from "../../domain/carry";
import { FIRST_GENERATION } from "../../domain/carry";
import type { SkuAdminView, SkuCatalog } from "../../domain/catalog";
import { adminView } from "../../domain/catalog";
import type { StockCounters } from "../../domain/stock";
import { availableOf, EMPTY_STOCK, shiftOnHand } from "../../domain/stock";
import { shares, stripeName, unitsToGive } from "../../domain/stripes";
import type { StripeCommand } from "../commands";
import { SingleFlight } from "../../single-flight";
import type { SkuStore, SkuHost, SkuState } from "./store";
import type { SkuCarry } from "./carry";

/** A stripe tells its SKU its counters at most this often (for the SKU's public view). */
const REPORT_INTERVAL_MS = 250;

interface StripeReport extends Record<string, SqlStorageValue> {
  idx: number;
  on_hand: number;
  reserved: number;
  sold: number;
  version: number;
}

export class SkuStripes {
  private readonly refiller: SingleFlight;
  private readonly reporter: SingleFlight;
  /** Units buyers are waiting for while this stripe refills. */
  private demand = 0;

  constructor(
    private readonly host: SkuHost,
    private readonly store: SkuStore,
    private readonly carry: SkuCarry,
    /** Stripe 0's view of the SKU changed (a stripe's report): publish it. */
    private readonly viewChanged: () => void,
  ) {
    // Stripes: units handed between stripes, exactly once each way.
    host.schema.ensure(
      "CREATE TABLE IF NOT EXISTS transfers (transfer_id TEXT PRIMARY KEY, direction TEXT NOT NULL, peer TEXT NOT NULL, units INTEGER NOT NULL, at INTEGER NOT NULL)",
    );
    // Stripe 0 only: the other stripes' last reported counters, and how many stripes ever existed.
    host.schema.ensure(
      "CREATE TABLE IF NOT EXISTS stripe_reports (idx INTEGER PRIMARY KEY, on_hand INTEGER NOT NULL, reserved INTEGER NOT NULL, sold INTEGER NOT NULL, version INTEGER NOT NULL)",
    );
    host.schema.ensure("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)");
    this.refiller = new SingleFlight(() => this.refill());
    this.reporter = new SingleFlight(() => this.report(), REPORT_INTERVAL_MS);
  }

  /** A stripe (not stripe 0) changed: tell stripe 0, throttled. */
  changed(): void {
    this.reporter.kick();
  }

  /** A stripe that ran dry pulls units from its siblings before anyone is told it is out of stock. */
  async refillFor(quantity: number): Promise<void> {
    this.demand += quantity;
    try {
      await this.refiller.run();
    } finally {
      this.demand -= quantity;
    }
  }

  /**
   * Hands units to a sibling stripe (or all available units when `all`):
   * taken here at once, credited there by an outbox command (exactly once,
   * by transfer id) in case the caller never credits them itself.
   */
  give(transferId: string, to: string, want: number, all = false): { units: number } {
    const done = this.host.sql
      .exec<{ units: number }>("SELECT units FROM transfers WHERE transfer_id = ?", transferId)
      .toArray()[0];
    if (done) return { units: done.units };
    const sku = this.store.current;
    const units = sku ? unitsToGive(availableOf(sku.stock), want, all) : 0;
    if (units > 0) {
      this.host.transact(() => this.transferOut(transferId, to, units));
      this.host.afterCommit();
    }
    return { units };
  }

  /** Receives units from a sibling stripe. Idempotent by transfer id. */
  credit(transferId: string, units: number): void {
    if (this.host.sql.exec("SELECT 1 FROM transfers WHERE transfer_id = ?", transferId).toArray().length > 0) return;
    if (!this.store.current) throw new Error(`stripe ${this.host.name} has no catalog yet`);
    const sku = this.store.current;
    this.host.transact(() => {
      this.host.sql.exec(
        "INSERT INTO transfers (transfer_id, direction, peer, units, at) VALUES (?, 'in', '', ?, ?)",
        transferId,
        units,
        this.host.now(),
      );
      this.store.save({
        ...sku,
        stock: shiftOnHand(sku.stock, units),
        version: sku.version + 1,
        updatedAt: new Date(this.host.now()).toISOString(),
      });
    });
    this.host.afterCommit();
  }

  /**
   * A stripe learns (or re-learns) its SKU's catalog and stripe count from stripe 0, and with a
   * new count reports the units it holds for buyers whose home moved (sku/carry.ts).
   */
  configureStripe(catalog: SkuCatalog, generation: CarryGeneration = FIRST_GENERATION): void {
    if (this.carry.isStale(generation)) return;
    const prev = this.store.current;
    this.host.transact(() => {
      this.store.save({
        catalog,
        stock: prev?.stock ?? EMPTY_STOCK,
        version: (prev?.version ?? 0) + 1,
        updatedAt: new Date(this.host.now()).toISOString(),
      });
      this.carry.learn(generation);
    });
    this.host.afterCommit();
  }

  /** This stripe's own counters. */
  stripeCounters(): StockCounters {
    return this.store.current?.stock ?? EMPTY_STOCK;
  }

  /** Stripe 0 keeps the other stripes' counters for the SKU's public view (newest report wins). */
  stripeReport(index: number, counters: StockCounters, version: number): void {
    this.host.transact(() => {
      this.host.sql.exec(
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
      const sku = this.store.current;
      if (sku) this.store.save({ ...sku, version: sku.version + 1 });
    });
    this.viewChanged();
  }

  /** Stripe 0: its own counters plus the other stripes' last reports (for the public view). */
  reportedStock(own: StockCounters): StockCounters {
    let stock = own;
    for (const r of this.host.sql.exec<StripeReport>("SELECT * FROM stripe_reports").toArray()) {
      stock = { onHand: stock.onHand + r.on_hand, reserved: stock.reserved + r.reserved, sold: stock.sold + r.sold };
    }
    return stock;
  }

  /** The admin view: for a striped SKU, the counters of every stripe added up (asked, not reported). */
  async aggregateAdmin(s: SkuState): Promise<SkuAdminView> {
    const span = this.store.isMain ? this.stripesEver() : 1;
    let total = s.stock;
    for (let index = 1; index < span; index++) {
      const c = await this.store.stripe(index).stripeCounters();
      total = { onHand: total.onHand + c.onHand, reserved: total.reserved + c.reserved, sold: total.sold + c.sold };
    }
    return adminView(s.catalog, total, s.version, s.updatedAt);
  }

  /** Stripe 0 gathers every stripe's available units before an admin change. */
  async collect(span: number): Promise<void> {
    for (let index = 1; index < span; index++) {
      const transferId = `collect:${stripeName(this.store.address.skuId, index)}:${crypto.randomUUID()}`;
      const { units } = await this.store.stripe(index).give(transferId, this.host.name, 0, true);
      if (units > 0 && this.store.current) this.credit(transferId, units);
    }
  }

  /** Inside the admin transaction: configure every stripe, then give each active one its share. */
  shareOut(span: number): void {
    const sku = this.store.current!;
    const skuId = this.store.address.skuId;
    this.host.sql.exec(
      "INSERT INTO meta (key, value) VALUES ('stripes_ever', ?) ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)",
      span,
    );
    for (let index = 1; index < span; index++) {
      const configure: StripeCommand = {
        target: `sku:${stripeName(skuId, index)}`,
        name: "configureStripe",
        args: { catalog: sku.catalog, generation: this.carry.generation },
      };
      this.host.outbox.addCommand(configure);
    }
    const count = sku.catalog.stripes;
    shares(availableOf(sku.stock), count).forEach((units, index) => {
      if (index > 0 && units > 0) this.transferOut(`share:${sku.version}:${index}`, stripeName(skuId, index), units);
    });
  }

  /** How many stripes this SKU ever had (a stripe retired by a smaller count may still hold units). */
  stripesEver(): number {
    const row = this.host.sql.exec<{ value: number }>("SELECT value FROM meta WHERE key = 'stripes_ever'").toArray()[0];
    return Math.max(row?.value ?? 1, this.store.stripes);
  }

  /** Pulls units from the other stripes until the waiting buyers are covered or every sibling was asked. */
  private async refill(): Promise<void> {
    const order = Array.from({ length: this.store.stripes }, (_, i) => i).filter((i) => i !== this.store.address.index);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    for (const index of order) {
      const short = this.demand - availableOf(this.store.current!.stock);
      if (short <= 0) return;
      const transferId = `${this.host.name}<${stripeName(this.store.address.skuId, index)}:${crypto.randomUUID()}`;
      const { units } = await this.store.stripe(index).give(transferId, this.host.name, short);
      if (units > 0) this.credit(transferId, units);
    }
  }

  /** Takes units out of this stripe and queues their credit at `to` (inside a transaction). */
  private transferOut(transferId: string, to: string, units: number): void {
    const sku = this.store.current!;
    this.host.sql.exec(
      "INSERT INTO transfers (transfer_id, direction, peer, units, at) VALUES (?, 'out', ?, ?, ?)",
      transferId,
      to,
      units,
      this.host.now(),
    );
    this.store.save({
      ...sku,
      stock: shiftOnHand(sku.stock, -units),
      version: sku.version + 1,
      updatedAt: new Date(this.host.now()).toISOString(),
    });
    const credit: StripeCommand = { target: `sku:${to}`, name: "credit", args: { transferId, units } };
    this.host.outbox.addCommand(credit);
  }

  /**
   * A stripe tells stripe 0 its counters (throttled); a retired stripe hands
   * freed units back. Its own hand-back relays without reporting again.
   */
  private async report(): Promise<void> {
    const sku = this.store.current;
    if (!sku || this.store.isMain) return;
    if (this.store.address.index >= this.store.stripes && availableOf(sku.stock) > 0) {
      this.host.transact(() =>
        this.transferOut(
          `return:${this.host.name}:${crypto.randomUUID()}`,
          this.store.address.skuId,
          availableOf(sku.stock),
        ),
      );
      this.host.relayOnly();
    }
    await this.store
      .stripe(0)
      .stripeReport(this.store.address.index, this.store.current!.stock, this.store.current!.version);
  }
}
