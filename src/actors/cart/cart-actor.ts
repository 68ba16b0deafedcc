/**
 * The cart actor: one cart (`user:{id}` or `guest:{clientCartId}`), each line
 * a row of its own. Its RPC methods are thin: each concern lives in a module of
 * its own under `cart/` (state and changes, editing, merge on login, checkout
 * and the order index, live devices, copies in Redis and Postgres), and every
 * module works through the same narrow host.
 */
import type { CartLine, CartState } from "../../domain/cart";
import type { MergeStrategy } from "../../domain/cart-merge";
import type { CartEditOutcome, DetachedLines, MergeOutcome, Selection, TakenLine } from "../../domain/cart-contract";
import type { Outcome } from "../../domain/errors";
import { skuViewCache } from "../../cache/sku-views";
import type { CartAlertType } from "../../events/envelope";
import { Actor } from "../actor";
import type { CartAlertHost } from "./alerts";
import { acceptSkuAlert } from "./alerts";
import { CartStore } from "./store";
import { CartMerge } from "./merge";
import type { CartHost } from "./host";
import { CartLines } from "./lines";
import { CartLive } from "./live";
import { CartOrders } from "./orders";
import { CartPromotions } from "./promotions";
import { CartSkus } from "./skus";
import type { SnapshotReceipt } from "./sync";
import { CartSync } from "./sync";

export type {
  CartEditOutcome,
  CartOutcome,
  DetachedLines,
  MergeOutcome,
  MergeReport,
  Selection,
} from "../../domain/cart-contract";

/**
 * Edits are serialized by the actor; each change bumps `version`, emits a
 * cart event, and is mirrored to Redis and to every connected device.
 */
export class CartActor extends Actor {
  protected readonly logKind = "cart";
  /**
   * A cart sends its events to the queue once no edit came for this long (at most 2 s after the
   * first): a burst of edits on one cart leaves in one batch, one queue write instead of one per
   * edit. Cart events feed Postgres history and the hourly sync, where a quarter second is nothing.
   */
  protected override relayQuietMs = 250;
  /**
   * A cart's outbox backstop (and its Redis snapshot check) is an alarm a minute or two after a
   * change, shared by every change in that window: a shopper's edits a few seconds apart cost one
   * alarm cycle a minute instead of one each (docs/decisions.md 13). After a crash, what the cart
   * had not relayed leaves by then, or with its next edit, whichever comes first.
   */
  protected override relayBackstopMs = 60_000;
  private readonly store: CartStore;
  private readonly skus: CartSkus;
  private readonly lines: CartLines;
  private readonly merging: CartMerge;
  private readonly orders: CartOrders;
  private readonly promotions: CartPromotions;
  private readonly live: CartLive;
  private readonly sync: CartSync;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const actor = this;
    const host = this.hostWith<CartHost>({
      get cartKey() {
        return actor.name;
      },
      get isGuest() {
        return actor.name.startsWith("guest:");
      },
      blockConcurrencyWhile: (work) => ctx.blockConcurrencyWhile(work),
      waitUntil: (work) => ctx.waitUntil(work),
      acceptWebSocket: (ws) => ctx.acceptWebSocket(ws),
      webSockets: () => ctx.getWebSockets(),
    });
    this.store = new CartStore(host, () => {
      this.sync.changed();
      this.live.changed();
    });
    this.skus = new CartSkus(host);
    this.lines = new CartLines(host, this.store, this.skus);
    this.promotions = new CartPromotions(host, this.store, this.skus);
    this.merging = new CartMerge(host, this.store, this.skus, this.promotions);
    this.orders = new CartOrders(host, this.store);
    this.live = new CartLive(host, this.store, this.skus);
    this.sync = new CartSync(host, this.store);
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }

  // ---- reading (the state: cart/store.ts) ------------------------------------------------

  async read(): Promise<CartState> {
    return this.store.loaded();
  }

  /**
   * `GET /v1/cart` in one round trip: the cart as JSON with its price markers,
   * rendered here from the isolate's SKU views (no Redis read, no SKU call
   * while they are warm), and always the current version. The body stays the
   * rendered JSON text (not re-serialized at the edge); the version comes typed beside it.
   */
  async readView(): Promise<{ version: number; json: string }> {
    const state = await this.store.loaded();
    return { version: state.version, json: await this.skus.render(state) };
  }

  /** `GET /v1/cart/count`. */
  async count(): Promise<{ totalQuantity: number; totalItems: number }> {
    const state = await this.store.loaded();
    return { totalQuantity: state.lines.reduce((n, l) => n + l.quantity, 0), totalItems: state.lines.length };
  }

  // ---- editing (cart/lines.ts) --------------------------------------------------------

  addItem(skuId: string, quantity: number, ifMatch: number | null): Promise<CartEditOutcome> {
    return this.lines.addItem(skuId, quantity, ifMatch);
  }

  updateItem(
    skuId: string,
    patch: { quantity?: number; selected?: boolean },
    ifMatch: number | null,
  ): Promise<CartEditOutcome> {
    return this.lines.updateItem(skuId, patch, ifMatch);
  }

  removeItems(skuIds: string[], ifMatch: number | null): Promise<CartEditOutcome> {
    return this.lines.removeItems(skuIds, ifMatch);
  }

  select(selection: Selection, ifMatch: number | null): Promise<CartEditOutcome> {
    return this.lines.select(selection, ifMatch);
  }

  clear(ifMatch: number | null): Promise<CartEditOutcome> {
    return this.lines.clear(ifMatch);
  }

  // ---- the promotion code (cart/promotions.ts) ---------------------------------------------

  applyCode(code: string, ifMatch: number | null): Promise<CartEditOutcome> {
    return this.promotions.apply(code, ifMatch);
  }

  removeCode(code: string, ifMatch: number | null): Promise<CartEditOutcome> {
    return this.promotions.remove(code, ifMatch);
  }

  // ---- merge on login (cart/merge.ts) ---------------------------------------------------

  merge(guestCartKey: string, strategy: MergeStrategy, ifMatch: number | null): Promise<MergeOutcome> {
    return this.merging.merge(guestCartKey, strategy, ifMatch);
  }

  detachForMerge(intoCartKey: string): Promise<DetachedLines | null> {
    return this.merging.detachForMerge(intoCartKey);
  }

  settleDetached(token: string, outcome: "merged" | "returned"): Promise<void> {
    return this.merging.settleDetached(token, outcome);
  }

  // ---- checkout and the owner's orders (cart/orders.ts) ---------------------------------

  linesForCheckout(
    ownerId: string,
    skuIds: string[] | null,
    orderId: string,
    attempt: string,
  ): Promise<Outcome<{ lines: CartLine[]; code: string | null }>> {
    return this.orders.linesForCheckout(ownerId, skuIds, orderId, attempt);
  }

  releaseCheckout(orderId: string, attempt: string): void {
    this.orders.releaseCheckout(orderId, attempt);
  }

  applyCheckout(orderId: string, lines: TakenLine[], createdAt: string, code?: string | null): Promise<void> {
    return this.orders.applyCheckout(orderId, lines, createdAt, code);
  }

  async listOrders(after: string | null, limit: number): Promise<{ orderIds: string[]; next: string | null }> {
    return this.orders.listOrders(after, limit);
  }

  // ---- copies in Postgres and Redis (cart/sync.ts) ---------------------------------------

  publishSnapshot(): Promise<SnapshotReceipt> {
    return this.sync.publishSnapshot();
  }

  async emitSnapshot(): Promise<void> {
    await this.sync.emitSnapshot();
  }

  // ---- live devices (cart/live.ts) --------------------------------------------------------

  async useTicket(nonce: string, expiresAt: number): Promise<boolean> {
    return this.live.useTicket(nonce, expiresAt);
  }

  /** `GET /v1/cart/live` arrives here (already authenticated by the edge): a hibernatable WebSocket. */
  override fetch(request: Request): Promise<Response> {
    return this.live.connect(request);
  }

  override webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    return this.live.message(ws, message);
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    ws.close(code === 1005 ? 1000 : code, reason);
  }

  // ---- price and stock alerts (cart/alerts.ts) -----------------------------------------------

  /** A SKU this cart may hold changed: pushes the cart to open devices, once per SKU version and kind. */
  async skuAlert(skuId: string, skuVersion: number, type: CartAlertType): Promise<boolean> {
    const state = await this.store.loaded();
    const host: CartAlertHost = {
      wasApplied: (key) => this.store.wasApplied(key),
      markApplied: (key) => this.store.markApplied(key),
      sockets: () => this.ctx.getWebSockets(),
      render: async () => {
        await skuViewCache.refresh(this.env, [skuId]);
        return this.skus.render(state);
      },
    };
    return acceptSkuAlert(host, state, skuId, skuVersion, type);
  }

  // ---- alarm ------------------------------------------------------------------------------

  protected nextDutyAt(): number | null {
    if (!this.store.current) return this.now();
    const due = [this.lines.expiresAt(), this.sync.retryAt()].filter((at) => at !== null);
    return due.length ? Math.min(...due) : null;
  }

  /** A guest cart past its time-to-live is emptied; a snapshot Redis missed is written again. */
  protected async runDuties(now: number): Promise<void> {
    await this.store.loaded();
    this.lines.expireIfDue(now);
    await this.sync.retry();
  }

  protected override onRollback(): void {
    this.store.reload();
  }
}
