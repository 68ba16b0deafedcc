/**
 * A SKU actor's own record: the catalog (a stripe keeps a copy) and this
 * actor's stock counters, with every stock movement written through to
 * storage and recorded as an inventory event in the same transaction. Also
 * who this actor is: which SKU, which stripe.
 */
import type { SkuCatalog } from "../../domain/catalog";
import type { Movement, StockCounters } from "../../domain/stock";
import { applyMovement } from "../../domain/stock";
import type { StripeAddress } from "../../domain/stripes";
import { parseStripeName, stripeName } from "../../domain/stripes";
import { envelope, INVENTORY_EVENT_OF } from "../../events/envelope";
import type { ActorHost } from "../actor";

/** What the SKU's modules see of the SKU actor. */
export interface SkuHost extends ActorHost {
  /** `name` is the SKU id, or `{skuId}` plus its stripe for stripes > 0. */
  /** Starts the relay only, without the stripe's report to stripe 0 (for the report itself). */
  relayOnly(): void;
}

export interface SkuState {
  /** The SKU's catalog record (a stripe keeps a copy). */
  catalog: SkuCatalog;
  /** This actor's own counters (for a striped SKU: this stripe's). */
  stock: StockCounters;
  version: number;
  updatedAt: string;
}

export class SkuStore {
  private state: SkuState | null;
  private addressMemo: StripeAddress | null = null;

  constructor(private readonly host: SkuHost) {
    host.schema.ensure(`CREATE TABLE IF NOT EXISTS sku (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      catalog TEXT NOT NULL,
      on_hand INTEGER NOT NULL,
      reserved INTEGER NOT NULL,
      sold INTEGER NOT NULL,
      version INTEGER NOT NULL,
      updated_at TEXT NOT NULL
    )`);
    this.state = this.load();
  }

  /** The SKU as stored (null before its first upsert or configuration). */
  get current(): SkuState | null {
    return this.state;
  }

  /** Which SKU and stripe this actor is, from its name (kept in its own storage by the Actor base). */
  get address(): StripeAddress {
    return (this.addressMemo ??= parseStripeName(this.host.name));
  }

  get isMain(): boolean {
    return this.address.index === 0;
  }

  /** How many stripes the SKU is split into (1 = not striped). */
  get stripes(): number {
    return this.state?.catalog.stripes ?? 1;
  }

  /** The actor of one stripe of this SKU. */
  stripe(index: number) {
    return this.host.env.SKUS.getByName(stripeName(this.address.skuId, index));
  }

  /** Applies a stock movement to the counters and records it (call inside a transaction). */
  move(m: Movement, refId: string, reason: string): void {
    const sku = this.state;
    if (!sku) throw new Error("stock movement on a SKU that does not exist");
    const next: SkuState = {
      ...sku,
      stock: applyMovement(sku.stock, m),
      version: sku.version + 1,
      updatedAt: new Date(this.host.now()).toISOString(),
    };
    this.save(next);
    this.recordMovement(next, m, refId, reason);
  }

  recordMovement(state: SkuState, m: Movement, refId: string, reason: string): void {
    const skuId = state.catalog.skuId;
    this.host.outbox.addEvent(
      envelope(INVENTORY_EVENT_OF[m.kind], skuId, state.version, { ...m, skuId, refId, reason, counters: state.stock }),
    );
  }

  /** Writes the in-memory state through to storage (inside a transaction). */
  save(s: SkuState): void {
    this.host.sql.exec(
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
    this.state = s;
  }

  /** Storage rolled back: read the SKU again. */
  reload(): void {
    this.state = this.load();
  }

  private load(): SkuState | null {
    const row = this.host.sql
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
