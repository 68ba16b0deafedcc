import { cartSnapshotKey, cartSnapshots, cartSnapshotValue, readCartSnapshot } from "../cache/cart-snapshots";
import { RedisUnavailableError, redisConfigured } from "../cache/redis";
import { skuViewCache } from "../cache/sku-views";
import { applyEvent, loadCart } from "../consumer/projections";
import { withDatabase } from "../db/client";
import type { CartLine, CartState, CartView, MergeDecision, MergeStrategy } from "../domain/cart";
import { CartDraft, checkLineQuantity, lineFromSku, planMerge, presentCart } from "../domain/cart";
import type { CartAlertType } from "../events/envelope";
import { acceptSkuAlert } from "./cart-alerts";
import type { SkuPublicView, SkuQuote } from "../domain/catalog";
import type { Outcome, ProblemItem, Refusal } from "../domain/errors";
import { refuse } from "../domain/errors";
import { guestCartTtlMs } from "../env";
import type { CartChangeData, CartEventType } from "../events/envelope";
import { envelope } from "../events/envelope";
import { Actor } from "./actor";
import { SingleFlight } from "./single-flight";

export type CartOutcome = Outcome<{ cart: CartState }>;

/** What an edit answers the edge: the new state and the whole cart as JSON (`GET /v1/cart`), rendered here. */
export type CartEditOutcome = Outcome<{ cart: CartState; view: string }>;

export interface MergeReport {
  strategy: MergeStrategy;
  from: string;
  /** Guest lines folded in (including ones clamped to a smaller quantity). */
  merged: number;
  /** Lines not taken as the strategy asked, because of stock, limits or the line cap. */
  clamped: { skuId: string; requested: number; applied: number; code: string }[];
}

export type MergeOutcome = Outcome<{ cart: CartState; merge: MergeReport | null; view: string }>;

/** Guest lines detached for a merge, held by the guest cart until the user cart confirms. */
export interface Handoff {
  token: string;
  lines: CartLine[];
}

export interface Selection {
  selected: boolean;
  skuIds?: string[];
  merchantId?: string;
  all?: boolean;
}

/** When, after an edit, the cart looks whether its snapshot reached Redis (the shared batch waits 20 ms). */
const SNAPSHOT_SETTLE_MS = 300;

/** How long a rebuild waits for Postgres / Redis before starting the cart empty. */
const REBUILD_TIMEOUT_MS = 3_000;
/** A snapshot Redis missed is written again by the alarm after about this long, at most MAX_SNAPSHOT_RETRIES times per change. */
const SNAPSHOT_RETRY_MS = 30_000;
const MAX_SNAPSHOT_RETRIES = 2;

/**
 * One cart (`user:{id}` or `guest:{clientCartId}`), each line a row of its
 * own. Edits are serialized by the actor: the SKU is consulted first (an
 * await), then the check against the cart as it is at that moment and the
 * write happen in one synchronous transaction, so two devices editing at
 * once never lose or double an edit. Each change bumps `version`, emits a
 * cart event, and is mirrored to Redis and to every connected device.
 */
export class CartActor extends Actor {
  private state: CartState | null = null;
  private loading: Promise<void> | null = null;
  private readonly broadcaster: SingleFlight;
  private broadcastVersion = -1;
  /** Alarm retries of the Redis snapshot that failed since the last change. */
  private snapshotRetries = 0;
  private snapshotCheck = false;
  private mergeQueue: Promise<unknown> = Promise.resolve();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS cart_meta (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      version INTEGER NOT NULL,
      currency TEXT,
      updated_at TEXT
    )`);
    this.sql.exec("CREATE TABLE IF NOT EXISTS lines (sku_id TEXT PRIMARY KEY, position INTEGER NOT NULL, line TEXT NOT NULL)");
    this.sql.exec("CREATE TABLE IF NOT EXISTS handoffs (token TEXT PRIMARY KEY, into_cart TEXT NOT NULL, lines TEXT NOT NULL, created_at INTEGER NOT NULL)");
    this.sql.exec("CREATE TABLE IF NOT EXISTS applied (key TEXT PRIMARY KEY, at INTEGER NOT NULL)");
    this.sql.exec("CREATE TABLE IF NOT EXISTS orders_index (order_id TEXT PRIMARY KEY, created_at TEXT NOT NULL)");
    this.sql.exec("CREATE TABLE IF NOT EXISTS tickets (nonce TEXT PRIMARY KEY, expires_at INTEGER NOT NULL)");
    this.broadcaster = new SingleFlight(() => this.broadcast());
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }

  private get cartKey(): string {
    return this.name;
  }

  private get isGuest(): boolean {
    return this.cartKey.startsWith("guest:");
  }

  // ---- reading --------------------------------------------------------------------

  async read(): Promise<CartState> {
    return this.loaded();
  }

  /**
   * `GET /v1/cart` in one round trip: the cart as JSON with its price markers,
   * rendered here from the isolate's SKU views (no Redis read, no SKU call
   * while they are warm), and always the current version.
   */
  async readView(): Promise<string> {
    return this.render(await this.loaded());
  }

  /** `GET /v1/cart/count`. */
  async count(): Promise<{ totalQuantity: number; totalItems: number }> {
    const state = await this.loaded();
    return { totalQuantity: state.lines.reduce((n, l) => n + l.quantity, 0), totalItems: state.lines.length };
  }

  // ---- editing --------------------------------------------------------------------

  /** Adds units of a SKU; an existing line's quantity is summed. */
  async addItem(skuId: string, quantity: number, ifMatch: number | null): Promise<CartEditOutcome> {
    const state = await this.loaded();
    const sku = await this.quote(skuId, (state.lines.find((l) => l.skuId === skuId)?.quantity ?? 0) + quantity);
    return this.withView(this.mutate("cart.item_added", ifMatch, (draft) => {
      const current = draft.get(skuId);
      const newQuantity = (current?.quantity ?? 0) + quantity;
      const problem = checkLineQuantity({ sku, current, newQuantity, lineCount: draft.size, cartCurrency: this.currencyOf(draft) });
      if (problem) return lineRefusal(problem, skuId);
      draft.put(current ? { ...current, quantity: newQuantity } : lineFromSku(sku!, newQuantity, new Date().toISOString()));
    }));
  }

  /** Sets a line's quantity (0 removes it) and/or its selection. */
  async updateItem(skuId: string, patch: { quantity?: number; selected?: boolean }, ifMatch: number | null): Promise<CartEditOutcome> {
    const state = await this.loaded();
    if (!state.lines.some((l) => l.skuId === skuId)) return notInCart(skuId);
    const sku = patch.quantity ? await this.quote(skuId, patch.quantity) : null;
    return this.withView(this.mutate(patch.quantity === 0 ? "cart.item_removed" : "cart.item_updated", ifMatch, (draft) => {
      const current = draft.get(skuId);
      if (!current) return notInCart(skuId);
      if (patch.quantity === 0) return draft.remove(skuId);
      const next = { ...current };
      if (patch.quantity !== undefined) {
        const problem = checkLineQuantity({ sku, current, newQuantity: patch.quantity, lineCount: draft.size, cartCurrency: this.currencyOf(draft) });
        if (problem) return lineRefusal(problem, skuId);
        next.quantity = patch.quantity;
      }
      if (patch.selected !== undefined) next.selected = patch.selected;
      draft.put(next);
    }));
  }

  /** Removes lines; removing a line that is not there changes nothing. */
  async removeItems(skuIds: string[], ifMatch: number | null): Promise<CartEditOutcome> {
    await this.loaded();
    return this.withView(this.mutate("cart.item_removed", ifMatch, (draft) => skuIds.forEach((id) => draft.remove(id))));
  }

  async select(selection: Selection, ifMatch: number | null): Promise<CartEditOutcome> {
    await this.loaded();
    const wanted = selection.skuIds ? new Set(selection.skuIds) : null;
    return this.withView(this.mutate("cart.selection_changed", ifMatch, (draft) => {
      for (const line of draft.all()) {
        const hit = selection.all === true || wanted?.has(line.skuId) || (selection.merchantId !== undefined && line.merchantId === selection.merchantId);
        if (hit) draft.put({ ...line, selected: selection.selected });
      }
    }));
  }

  async clear(ifMatch: number | null): Promise<CartEditOutcome> {
    await this.loaded();
    return this.withView(this.mutate("cart.cleared", ifMatch, (draft) => draft.all().forEach((l) => draft.remove(l.skuId))));
  }

  // ---- merge on login -----------------------------------------------------------------

  /**
   * Folds a guest cart into this (user) cart. The guest cart hands its lines
   * over (and is emptied) in one step, this cart applies them once under the
   * handoff's token, then the guest drops the handoff. A crash at any point
   * leaves the lines in exactly one place; repeating the call, or two logins
   * at once, never adds twice (merges into one cart run one at a time).
   */
  merge(guestCartKey: string, strategy: MergeStrategy, ifMatch: number | null): Promise<MergeOutcome> {
    const run = this.mergeQueue.then(() => this.runMerge(guestCartKey, strategy, ifMatch));
    this.mergeQueue = run.catch(() => undefined);
    return run;
  }

  private async runMerge(guestCartKey: string, strategy: MergeStrategy, ifMatch: number | null): Promise<MergeOutcome> {
    const state = await this.loaded();
    if (ifMatch !== null && ifMatch !== state.version) return versionConflict(state.version);
    const guest = this.env.CARTS.getByName(guestCartKey);
    const handoff = await guest.detachForMerge(this.cartKey);
    if (!handoff) return { ok: true, cart: state, merge: null, view: await this.render(state) };
    if (this.wasApplied(`merge:${handoff.token}`)) {
      await guest.settleHandoff(handoff.token, "merged");
      return { ok: true, cart: this.state!, merge: null, view: await this.render(this.state!) };
    }
    // Merge limits are checked against the SKUs as they are now, not a cached view.
    const quotes = new Map<string, SkuQuote | null>();
    await Promise.all(handoff.lines.map(async (l) => quotes.set(l.skuId, await this.quote(l.skuId, Infinity))));

    let decisions: MergeDecision[] = [];
    const outcome = this.mutate(
      "cart.merged",
      ifMatch,
      (draft) => {
        decisions = planMerge(strategy, draft.all(), handoff.lines, quotes, this.currencyOf(draft));
        const guestLines = new Map(handoff.lines.map((l) => [l.skuId, l]));
        for (const d of decisions) {
          const mine = draft.get(d.skuId);
          const theirs = guestLines.get(d.skuId)!;
          if (mine) draft.put({ ...mine, quantity: d.quantity });
          else if (d.quantity > 0) draft.put({ ...theirs, quantity: d.quantity, position: undefined, version: undefined });
        }
      },
      { detail: { from: guestCartKey, strategy, token: handoff.token }, alsoWrite: () => this.markApplied(`merge:${handoff.token}`) },
    );
    // On a refusal (If-Match went stale meanwhile) the guest gets its lines back.
    await guest.settleHandoff(handoff.token, outcome.ok ? "merged" : "returned").catch((err: unknown) => {
      console.warn(`merge ${handoff.token}: guest cart not settled yet, the next merge will`, err);
    });
    if (!outcome.ok) return outcome;
    const clamped = decisions.filter((d) => d.clamp).map((d) => ({ skuId: d.skuId, ...d.clamp! }));
    const merge = { strategy, from: guestCartKey, merged: decisions.filter((d) => d.quantity > 0).length, clamped };
    return { ok: true, cart: outcome.cart, merge, view: await this.render(outcome.cart) };
  }

  /** Guest side of a merge: detach every line into a handoff for `intoCartKey` (or return the pending one). */
  async detachForMerge(intoCartKey: string): Promise<Handoff | null> {
    const state = await this.loaded();
    const pending = this.sql.exec<{ token: string; lines: string }>("SELECT token, lines FROM handoffs WHERE into_cart = ?", intoCartKey).toArray()[0];
    if (pending) return { token: pending.token, lines: JSON.parse(pending.lines) as CartLine[] };
    if (state.lines.length === 0) return null;
    const token = crypto.randomUUID();
    const lines = state.lines;
    this.mutate("cart.merged", null, (draft) => lines.forEach((l) => draft.remove(l.skuId)), {
      detail: { into: intoCartKey, token },
      alsoWrite: () =>
        this.sql.exec("INSERT INTO handoffs (token, into_cart, lines, created_at) VALUES (?, ?, ?, ?)", token, intoCartKey, JSON.stringify(lines), Date.now()),
    });
    return { token, lines };
  }

  /** Guest side: the user cart took the lines ("merged"), or did not and gives them back ("returned"). */
  async settleHandoff(token: string, outcome: "merged" | "returned"): Promise<void> {
    await this.loaded();
    const row = this.sql.exec<{ lines: string }>("SELECT lines FROM handoffs WHERE token = ?", token).toArray()[0];
    if (!row) return;
    const dropHandoff = () => this.sql.exec("DELETE FROM handoffs WHERE token = ?", token);
    if (outcome === "merged") {
      this.transact(dropHandoff);
      return;
    }
    const lines = JSON.parse(row.lines) as CartLine[];
    this.mutate(
      "cart.merged",
      null,
      (draft) => {
        for (const line of lines) {
          const now = draft.get(line.skuId);
          draft.put(now ? { ...now, quantity: Math.max(now.quantity, line.quantity) } : { ...line, position: undefined, version: undefined });
        }
      },
      { detail: { returned: token }, alsoWrite: dropHandoff },
    );
  }

  // ---- checkout -------------------------------------------------------------------------

  /** The lines a checkout takes: the named ones, or the selected ones. */
  async linesForCheckout(ownerId: string, skuIds: string[] | null): Promise<Outcome<{ lines: CartLine[] }>> {
    const state = await this.loaded();
    if (ownerId !== this.cartKey) return refuse("FORBIDDEN", "not this buyer's cart");
    if (skuIds) {
      const missing = skuIds.filter((id) => !state.lines.some((l) => l.skuId === id));
      if (missing.length > 0) {
        return refuse("VALIDATION_FAILED", "some skuIds are not in the cart", missing.map((skuId) => ({ code: "NOT_IN_CART", skuId })));
      }
    }
    const lines = skuIds ? state.lines.filter((l) => skuIds.includes(l.skuId)) : state.lines.filter((l) => l.selected);
    if (lines.length === 0) return refuse("CHECKOUT_EMPTY", "nothing to check out: select lines or name them in skuIds");
    return { ok: true, lines };
  }

  /**
   * An order was placed from this cart: take exactly the checked-out units
   * out of it (a line the buyer raised meanwhile keeps the difference) and
   * list the order. Idempotent by order id: the order's outbox may deliver it twice.
   */
  async applyCheckout(orderId: string, lines: { skuId: string; quantity: number }[], createdAt: string): Promise<void> {
    await this.loaded();
    if (this.wasApplied(`order:${orderId}`)) return;
    this.mutate(
      "cart.checked_out",
      null,
      (draft) => {
        for (const taken of lines) {
          const line = draft.get(taken.skuId);
          if (!line) continue;
          const left = line.quantity - taken.quantity;
          if (left > 0) draft.put({ ...line, quantity: left });
          else draft.remove(taken.skuId);
        }
      },
      {
        detail: { orderId },
        alsoWrite: () => {
          this.markApplied(`order:${orderId}`);
          this.indexOrder(orderId, createdAt);
        },
      },
    );
  }

  /** Lists an order placed without the cart (flash buy) among the owner's orders. Idempotent. */
  async recordOrder(orderId: string, createdAt: string): Promise<void> {
    this.transact(() => this.indexOrder(orderId, createdAt));
  }

  /** The owner's order ids, newest first; `after` is the cursor the previous page returned. */
  async listOrders(after: string | null, limit: number): Promise<{ orderIds: string[]; next: string | null }> {
    const [createdAt, orderId] = after ? splitCursor(after) : [null, null];
    const rows = this.sql
      .exec<{ order_id: string; created_at: string }>(
        createdAt === null
          ? "SELECT order_id, created_at FROM orders_index ORDER BY created_at DESC, order_id DESC LIMIT ?"
          : "SELECT order_id, created_at FROM orders_index WHERE (created_at, order_id) < (?, ?) ORDER BY created_at DESC, order_id DESC LIMIT ?",
        ...(createdAt === null ? [limit + 1] : [createdAt, orderId, limit + 1]),
      )
      .toArray();
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return { orderIds: page.map((r) => r.order_id), next: rows.length > limit && last ? `${last.created_at}|${last.order_id}` : null };
  }

  // ---- sync to Postgres -----------------------------------------------------------------

  /** Writes this cart to Postgres now (admin sync), through the consumer's own projection. */
  async syncToPostgres(): Promise<{ version: number; lines: number }> {
    const state = await this.loaded();
    const event = this.snapshotEvent(state);
    await withDatabase(this.env, (db) => db.transaction((tx) => applyEvent(tx, event)));
    return { version: state.version, lines: state.lines.length };
  }

  /** Hourly sync: a full snapshot through the queue, reconciling whatever events may have missed; and Redis's copy written again. */
  async emitSnapshot(): Promise<void> {
    const state = await this.loaded();
    if (state.version === 0) return;
    this.transact(() => this.outbox.addEvent(this.snapshotEvent(state)));
    this.afterCommit();
    this.snapshotRetries = 0;
    cartSnapshots.offer(this.env, this.snapshot()!);
  }

  private snapshotEvent(state: CartState) {
    const data: CartChangeData = {
      cartKey: state.cartKey,
      currency: state.currency,
      updatedAt: state.updatedAt ?? new Date().toISOString(),
      upserted: state.lines,
      removed: [],
      complete: true,
    };
    return envelope("cart.snapshot", state.cartKey, state.version, data);
  }

  // ---- live sync ------------------------------------------------------------------------------

  /** Marks a one-time live ticket used; false if it was used before. */
  async useTicket(nonce: string, expiresAt: number): Promise<boolean> {
    return this.transact(() => {
      this.sql.exec("DELETE FROM tickets WHERE expires_at < ?", Date.now());
      const used = this.sql.exec("SELECT 1 FROM tickets WHERE nonce = ?", nonce).toArray().length > 0;
      if (!used) this.sql.exec("INSERT INTO tickets (nonce, expires_at) VALUES (?, ?)", nonce, expiresAt);
      return !used;
    });
  }

  /** A SKU this cart may hold changed: pushes the cart to open devices, once per SKU version and kind (cart-alerts.ts). */
  async skuAlert(skuId: string, skuVersion: number, type: CartAlertType): Promise<boolean> {
    const state = await this.loaded();
    const host = { wasApplied: (k: string) => this.wasApplied(k), markApplied: (k: string) => this.markApplied(k), sockets: () => this.ctx.getWebSockets(), render: async () => (await skuViewCache.refresh(this.env, [skuId]), this.render(state)) };
    return acceptSkuAlert(host, state, skuId, skuVersion, type);
  }

  /** `GET /v1/cart/live` arrives here (already authenticated by the edge): a hibernatable WebSocket. */
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") return new Response("expected a WebSocket upgrade", { status: 426 });
    const state = await this.loaded();
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    this.ctx.acceptWebSocket(server);
    server.send(`{"type":"cart","cart":${await this.render(state)}}`);
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    if (message === "refresh") ws.send(`{"type":"cart","cart":${await this.render(await this.loaded())}}`);
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    ws.close(code === 1005 ? 1000 : code, reason);
  }

  private async broadcast(): Promise<void> {
    const state = this.state;
    const sockets = this.ctx.getWebSockets();
    if (!state || sockets.length === 0 || state.version <= this.broadcastVersion) return;
    const message = `{"type":"cart","cart":${await this.render(state)}}`;
    this.broadcastVersion = state.version;
    for (const ws of sockets) {
      try {
        ws.send(message);
      } catch {
        // a socket closing right now; it is dropped by the runtime
      }
    }
  }

  // ---- alarm ------------------------------------------------------------------------------------

  protected nextDutyAt(): number | null {
    const state = this.state;
    if (!state) return Date.now();
    const due: number[] = [];
    if (this.isGuest && state.lines.length > 0 && state.updatedAt) due.push(Date.parse(state.updatedAt) + guestCartTtlMs(this.env));
    // A snapshot Redis missed is retried a couple of times, jittered; then the next change or the hourly sync writes it.
    if (this.snapshotBehind()) due.push(Date.now() + Math.round(SNAPSHOT_RETRY_MS * (0.5 + Math.random())));
    return due.length ? Math.min(...due) : null;
  }

  /** Guest carts expire 30 days after their last change; a snapshot Redis missed is written again. */
  protected async runDuties(now: number): Promise<void> {
    const state = await this.loaded();
    if (this.isGuest && state.lines.length > 0 && state.updatedAt && Date.parse(state.updatedAt) + guestCartTtlMs(this.env) <= now) {
      this.mutate("cart.expired", null, (draft) => draft.all().forEach((l) => draft.remove(l.skuId)));
    }
    if (this.snapshotBehind()) {
      try {
        await cartSnapshots.writeNow(this.env, this.snapshot()!);
      } catch (err) {
        // Redis known down (the write gate refused at once): no alarm for it; other failures retry a bounded number of times.
        this.snapshotRetries = err instanceof RedisUnavailableError ? MAX_SNAPSHOT_RETRIES : this.snapshotRetries + 1;
      }
    }
  }

  // ---- the one way state changes ------------------------------------------------------------------

  /**
   * Applies `change` to a draft of the cart and commits it as one new version:
   * lines, meta, the cart event and any extra rows in one transaction. No
   * await happens between the If-Match check, the change's checks and the write.
   */
  private mutate(
    type: CartEventType,
    ifMatch: number | null,
    change: (draft: CartDraft) => Refusal | void,
    options: { detail?: Record<string, unknown>; alsoWrite?: () => void } = {},
  ): CartOutcome {
    const state = this.state!;
    if (ifMatch !== null && ifMatch !== state.version) return versionConflict(state.version);
    const draft = new CartDraft(state.lines);
    const refusal = change(draft);
    if (refusal) return refusal;
    if (!draft.changed) {
      if (options.alsoWrite) this.transact(options.alsoWrite);
      return { ok: true, cart: state };
    }
    const version = state.version + 1;
    const updatedAt = new Date().toISOString();
    const { lines, upserted, removed } = draft.commit(version);
    const next: CartState = { cartKey: state.cartKey, version, currency: lines.length > 0 ? (state.currency ?? lines[0]!.currency) : null, lines, updatedAt };
    const data: CartChangeData = { cartKey: next.cartKey, currency: next.currency, updatedAt, upserted, removed, complete: false };
    if (options.detail) data.detail = options.detail;
    this.transact(() => {
      this.writeMeta(next);
      for (const line of upserted) this.writeLine(line);
      for (const skuId of removed) this.sql.exec("DELETE FROM lines WHERE sku_id = ?", skuId);
      this.outbox.addEvent(envelope(type, next.cartKey, version, data));
      options.alsoWrite?.();
    });
    this.state = next;
    this.afterCommit();
    this.snapshotRetries = 0;
    cartSnapshots.offer(this.env, this.snapshot()!);
    this.settleSnapshotAlarm();
    this.broadcaster.kick();
    return { ok: true, cart: next };
  }

  /** The Redis snapshot of the cart as it is now (none before its first change). */
  private snapshot() {
    return this.state && this.state.version > 0 ? cartSnapshotValue(this.state, guestCartTtlMs(this.env)) : null;
  }

  /**
   * Until its snapshot is in Redis, a changed cart keeps an alarm 30 s out
   * to write it again. The shared batch usually lands within milliseconds,
   * after which the alarm is moved back, so an edit does not cost a wake-up
   * half a minute later. One check per burst of edits.
   */
  private settleSnapshotAlarm(): void {
    if (this.snapshotCheck) return;
    this.snapshotCheck = true;
    setTimeout(() => {
      this.snapshotCheck = false;
      if (!this.snapshotBehind()) this.reschedule({ exact: true });
    }, SNAPSHOT_SETTLE_MS);
  }

  /** True while Redis may hold an older snapshot than the actor (a write is queued, in flight or failed). */
  private snapshotBehind(): boolean {
    const state = this.state;
    return (
      redisConfigured(this.env) &&
      this.snapshotRetries < MAX_SNAPSHOT_RETRIES &&
      state !== null &&
      state.version > 0 &&
      state.version > cartSnapshots.publishedVersion(cartSnapshotKey(state.cartKey))
    );
  }

  private currencyOf(draft: CartDraft): string | null {
    return draft.size > 0 ? (this.state!.currency ?? draft.all()[0]!.currency) : null;
  }

  /**
   * The SKU as an edit checks it. A SKU without a purchase limit whose view
   * this isolate saw within the last second, active and with at least
   * `quantity` units, is taken from that view (no round trip): add-time stock
   * checks are advisory for a cart, checkout reserves against the SKU itself.
   * Anything else (a purchase limit, which depends on this buyer's own
   * orders, or an answer that would refuse) is asked of the SKU.
   */
  private async quote(skuId: string, quantity: number): Promise<SkuQuote | null> {
    const cached = skuViewCache.fresh(skuId);
    if (cached && cached.status === "active" && cached.purchaseLimit === null && cached.available >= quantity) return { ...cached, ownerUnits: 0 };
    const quote = await this.env.SKUS.getByName(skuId).quote(this.cartKey);
    skuViewCache.put(skuId, quote && viewOf(quote));
    return quote;
  }

  /** The whole cart as the JSON `GET /v1/cart` answers; stale SKU views are refreshed after answering. */
  private async render(state: CartState): Promise<string> {
    const { views, refresh } = await skuViewCache.views(this.env, state.lines.map((l) => l.skuId));
    if (refresh.length > 0) this.ctx.waitUntil(skuViewCache.refresh(this.env, refresh));
    return JSON.stringify(presentCart(state, views) satisfies CartView);
  }

  private async withView(outcome: CartOutcome): Promise<CartEditOutcome> {
    return outcome.ok ? { ...outcome, view: await this.render(outcome.cart) } : outcome;
  }

  // ---- storage --------------------------------------------------------------------------------------

  /**
   * The cart, loaded once per actor start. A cart with no storage (new, or
   * its storage was lost) is rebuilt from the newest copy Postgres or Redis
   * has (invariant 7). Runs inside blockConcurrencyWhile so nothing reads a
   * half-built cart; errors are rethrown outside it so the gate is never left broken.
   */
  private async loaded(): Promise<CartState> {
    if (this.state) return this.state;
    this.loading ??= this.ctx
      .blockConcurrencyWhile(async () => {
        try {
          if (!this.state) this.state = this.readStorage() ?? (await this.rebuild());
          return null;
        } catch (err) {
          return err;
        }
      })
      .then((err) => {
        this.loading = null;
        if (err) throw err;
      });
    await this.loading;
    return this.state!;
  }

  private readStorage(): CartState | null {
    const meta = this.sql.exec<{ version: number; currency: string | null; updated_at: string | null }>("SELECT * FROM cart_meta WHERE id = 1").toArray()[0];
    if (!meta) return null;
    const lines = this.sql
      .exec<{ line: string }>("SELECT line FROM lines ORDER BY position")
      .toArray()
      .map((r) => JSON.parse(r.line) as CartLine);
    return { cartKey: this.cartKey, version: meta.version, currency: meta.currency, updatedAt: meta.updated_at, lines };
  }

  private async rebuild(): Promise<CartState> {
    const empty: CartState = { cartKey: this.cartKey, version: 0, currency: null, lines: [], updatedAt: null };
    const [fromPostgres, fromRedis] = await Promise.all([
      this.env.DATABASE_URL
        ? withTimeout(
            withDatabase(this.env, (db) => loadCart(db, this.cartKey)),
            REBUILD_TIMEOUT_MS,
          ).catch((err: unknown) => {
            console.warn(`cart ${this.cartKey}: Postgres not reachable for a rebuild`, err);
            return null;
          })
        : null,
      readCartSnapshot(this.env, this.cartKey),
    ]);
    const best = [fromPostgres, fromRedis].reduce<CartState>((a, b) => (b && b.version > a.version ? b : a), empty);
    const restored: CartState = { ...best, cartKey: this.cartKey };
    this.transact(() => {
      this.writeMeta(restored);
      for (const line of restored.lines) this.writeLine(line);
    });
    if (restored.version > 0) console.log(`cart ${this.cartKey}: rebuilt at version ${restored.version} with ${restored.lines.length} lines`);
    return restored;
  }

  private writeMeta(s: CartState): void {
    this.sql.exec(
      "INSERT INTO cart_meta (id, version, currency, updated_at) VALUES (1, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET version = excluded.version, currency = excluded.currency, updated_at = excluded.updated_at",
      s.version,
      s.currency,
      s.updatedAt,
    );
  }

  private writeLine(line: CartLine): void {
    this.sql.exec(
      "INSERT INTO lines (sku_id, position, line) VALUES (?, ?, ?) ON CONFLICT (sku_id) DO UPDATE SET position = excluded.position, line = excluded.line",
      line.skuId,
      line.position,
      JSON.stringify(line),
    );
  }

  private wasApplied(key: string): boolean {
    return this.sql.exec("SELECT 1 FROM applied WHERE key = ?", key).toArray().length > 0;
  }

  private markApplied(key: string): void {
    this.sql.exec("INSERT INTO applied (key, at) VALUES (?, ?) ON CONFLICT (key) DO NOTHING", key, Date.now());
  }

  private indexOrder(orderId: string, createdAt: string): void {
    this.sql.exec("INSERT INTO orders_index (order_id, created_at) VALUES (?, ?) ON CONFLICT (order_id) DO NOTHING", orderId, createdAt);
  }

  protected override onRollback(): void {
    this.state = this.readStorage() ?? this.state;
  }
}

function viewOf(quote: SkuQuote): SkuPublicView {
  const { ownerUnits: _, ...view } = quote;
  return view;
}

function lineRefusal(problem: ProblemItem, skuId: string): Refusal {
  return refuse(problem.code as Refusal["code"], problem.message ?? problem.code, [{ ...problem, skuId }]);
}

function notInCart(skuId: string): Refusal {
  return refuse("NOT_FOUND", `SKU ${skuId} is not in the cart`, [{ code: "NOT_IN_CART", skuId }]);
}

function versionConflict(current: number): Refusal {
  return refuse("VERSION_CONFLICT", `the cart is at version ${current}; reload it and retry`, [{ code: "VERSION_CONFLICT", currentVersion: current }]);
}

function splitCursor(cursor: string): [string, string] {
  const at = cursor.lastIndexOf("|");
  return [cursor.slice(0, at), cursor.slice(at + 1)];
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  return Promise.race([work, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms))]);
}
