/**
 * The SKU's catalog record and the views of it: the admin's upsert (for a
 * striped SKU: collect the stock from every stripe, set it, share it out
 * again), the storefront's public view, a buyer's quote, the admin view.
 */
import type { RedisMirror } from "../../cache/mirror";
import type { SkuAdminView, SkuCatalog, SkuPublicView, SkuQuote } from "../../domain/catalog";
import { adminView, publicView } from "../../domain/catalog";
import type { SkuInput } from "../../domain/sku-contract";
import type { Outcome } from "../../domain/errors";
import { refuse } from "../../domain/errors";
import { applyMovement, changeAvailable, EMPTY_STOCK, setAvailable } from "../../domain/stock";
import { homeStripe } from "../../domain/stripes";
import { envelope } from "../../events/envelope";
import type { SkuStore, SkuHost, SkuState } from "./store";
import type { SkuCarry } from "./carry";
import type { SkuLedger } from "./ledger";
import type { SkuStripes } from "./stripes";
import { log } from "../../log/logger";
import { errorText } from "../../log/redact";

export class SkuCatalogModule {
  constructor(
    private readonly host: SkuHost,
    private readonly store: SkuStore,
    private readonly ledger: SkuLedger,
    private readonly stripes: SkuStripes,
    private readonly carry: SkuCarry,
    private readonly mirror: () => RedisMirror,
  ) {}

  /**
   * Creates or updates the SKU; an unchanged PUT of an unstriped SKU changes
   * nothing (idempotent). For a striped SKU the stock is first collected from
   * every stripe, set here, then shared out again. A new stripe count starts a
   * generation: every stripe reports the units it holds for buyers whose home
   * moved (sku/carry.ts), this one in this transaction.
   */
  async upsert(skuId: string, input: SkuInput): Promise<Outcome<{ sku: SkuAdminView; created: boolean }>> {
    if (!this.store.isMain) throw new Error("a stripe is configured through its SKU");
    const collectFrom = Math.max(this.stripes.stripesEver(), input.stripes);
    if (collectFrom > 1) await this.stripes.collect(collectFrom);
    const result = this.host.transact(() => {
      const prev = this.store.current;
      // Read after the collect's awaits: a change that landed meanwhile may have added stripes.
      const ever = this.stripes.stripesEver();
      const span = Math.max(ever, input.stripes);
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
      const restock =
        input.stockMode === "delta" ? changeAvailable(stock, input.stock) : setAvailable(stock, input.stock);
      if (!restock) return { refused: true as const };
      const same = prev && restock.quantity === 0 && JSON.stringify(prev.catalog) === JSON.stringify(catalog);
      if (same && span === 1) return { refused: false as const, state: prev, changed: false, created: false, span };
      const next: SkuState = {
        catalog,
        stock: applyMovement(stock, restock),
        version: (prev?.version ?? 0) + 1,
        updatedAt: new Date(this.host.now()).toISOString(),
      };
      this.store.save(next);
      if (restock.quantity !== 0) this.store.recordMovement(next, restock, `admin:v${next.version}`, "admin");
      this.host.outbox.addEvent(envelope("sku.updated", skuId, next.version, this.admin(next)));
      if (prev && prev.catalog.stripes !== catalog.stripes)
        this.carry.learn({ generation: next.version, sources: ever });
      if (span > 1) this.stripes.shareOut(span);
      return { refused: false as const, state: next, changed: true, created: prev === null, span };
    });
    if (result.refused) return refuse("OUT_OF_STOCK", `fewer than ${-input.stock} units are available to take away`);
    if (result.changed) {
      this.host.afterCommit();
      // Stripes must know the catalog before buyers reach them; carts show prices from Redis.
      await Promise.all([
        result.span > 1 ? this.host.relayNow() : Promise.resolve(),
        this.mirror()
          .flush()
          .catch((err: unknown) => log.warn("sku view not published", { error: errorText(err) })),
      ]);
    }
    return { ok: true, sku: await this.stripes.aggregateAdmin(result.state), created: result.created };
  }

  async adminView(): Promise<SkuAdminView | null> {
    const sku = this.store.current;
    return sku ? this.stripes.aggregateAdmin(sku) : null;
  }

  publicView(): SkuPublicView | null {
    const sku = this.store.current;
    return sku ? this.view(sku) : null;
  }

  /** The public view plus the units this buyer already holds or bought, for cart checks. */
  async quote(ownerId: string): Promise<SkuQuote | null> {
    const sku = this.store.current;
    if (!sku) return null;
    const home = homeStripe(ownerId, this.store.stripes);
    const ownerUnits =
      home === this.store.address.index
        ? await this.ledger.reportedOwnerUnits(ownerId)
        : await this.store.stripe(home).ownerUnitsOf(ownerId);
    return { ...this.view(this.store.current!), ownerUnits };
  }

  /** The public view; for a striped SKU, `available` adds the stripes' last reports. */
  view(s: SkuState): SkuPublicView {
    const stock = this.store.isMain && s.catalog.stripes > 1 ? this.stripes.reportedStock(s.stock) : s.stock;
    return publicView(s.catalog, stock, s.version);
  }

  private admin(s: SkuState): SkuAdminView {
    return adminView(s.catalog, s.stock, s.version, s.updatedAt);
  }
}
