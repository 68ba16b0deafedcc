import type { SkuQuote } from "../domain/catalog";
import type { Outcome, ProblemCode, ProblemItem, Refusal } from "../domain/errors";
import { refuse } from "../domain/errors";
import type { Decision, Order, OrderItem, PaymentEvent, StockEffect } from "../domain/order";
import { applyDecision, decideCancel, decideExpiry, decideForeignPayment, decidePayment, isDuplicatePayment, orderLine, orderTotal, pendingOrder } from "../domain/order";
import { envelope } from "../events/envelope";
import { Actor } from "./actor";
import { addOrderEvents } from "./order-events";
import type { Command } from "./outbox";
import type { ReservationVerdict, ReservedItem, ReserveOutcome } from "./sku-actor";
import { reserveAtHome } from "./sku-routing";

/** A checkout attempt that has not finished after this long is presumed dead and its reservations are released. */
const ATTEMPT_TIMEOUT_MS = 60_000;

export interface CheckoutRequest {
  /** The cart (and buyer) checking out: `user:{id}` or `guest:{clientCartId}`. */
  ownerId: string;
  /** Hash of the request body; the same Idempotency-Key with another body is refused. */
  requestHash: string;
  skuIds: string[] | null;
  expectedTotal: number | null;
  ttlSeconds: number;
}

export type PlacedOrder = Outcome<{ order: Order; created: boolean }>;

interface Attempt {
  reservationId: string;
  requestHash: string;
  ownerId: string;
  lines: { skuId: string; quantity: number }[];
  expiresAt: number;
  startedAt: number;
}

interface OrderRecord {
  order: Order;
  requestHash: string;
  reservationId: string;
  /** skuId -> the SKU actor (stripe) holding that line's reservation; absent = the SKU's own actor. */
  holders?: Record<string, string>;
}

/** A line's stock command for its SKU; commands to one SKU run in order (commit before restock). */
export interface StockCommand extends Command {
  name: StockEffect;
  args: { reservationId: string; reason: string };
}

/** Commands for the owner's cart actor. */
export type CartCommand =
  | { target: string; name: "checkedOut"; args: { orderId: string; lines: { skuId: string; quantity: number }[]; createdAt: string } }
  | { target: string; name: "recordOrder"; args: { orderId: string; createdAt: string } };

/**
 * One order: its lines with price snapshots, its payments and its state
 * machine. The actor serializes payment, cancel and expiry, so two of them
 * can never both win; stock effects leave through the outbox as commands to
 * the SKU actors, in order, until delivered.
 *
 * The actor is also the checkout coordinator: its name is derived from the
 * buyer and the Idempotency-Key, so retries and concurrent duplicates of one
 * checkout meet here and produce one order.
 */
export class OrderActor extends Actor {
  private record: OrderRecord | null;
  private inflight: { requestHash: string; result: Promise<PlacedOrder> } | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql.exec("CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    this.record = this.read<OrderRecord>("order");
  }

  private get orderId(): string {
    return this.name;
  }

  // ---- placing orders ----------------------------------------------------------

  /** Checks out the owner's cart (the given lines, or the selected ones): reserve every line or none. */
  async placeCheckout(req: CheckoutRequest): Promise<PlacedOrder> {
    const replay = this.replay(req.requestHash);
    if (replay) return replay;
    if (this.inflight) {
      if (this.inflight.requestHash !== req.requestHash) return reused();
      // A concurrent duplicate waits for the same outcome and sees it as a replay.
      const outcome = await this.inflight.result;
      return outcome.ok ? { ...outcome, created: false } : outcome;
    }
    const result = this.runCheckout(req).finally(() => {
      this.inflight = null;
    });
    this.inflight = { requestHash: req.requestHash, result };
    return result;
  }

  private async runCheckout(req: CheckoutRequest): Promise<PlacedOrder> {
    // An attempt left by a crashed instance: release what it may hold before starting over.
    const stale = this.read<Attempt>("attempt");
    if (stale) this.abandon(stale, "checkout_retried");
    const picked = await this.env.CARTS.getByName(req.ownerId).linesForCheckout(req.ownerId, req.skuIds);
    if (!picked.ok) return picked;
    // Refuse what the current quotes already show, before taking any stock: a
    // reservation, even one released at once, can make a concurrent buyer fail.
    const quoted = precheck(picked.lines, await quoteLines(this.env, req.ownerId, picked.lines), req.expectedTotal);
    if (quoted) return quoted;
    const attemptNo = (this.read<number>("attempts") ?? 0) + 1;
    const attempt: Attempt = {
      reservationId: `${this.orderId}.${attemptNo}`,
      requestHash: req.requestHash,
      ownerId: req.ownerId,
      lines: picked.lines.map((l) => ({ skuId: l.skuId, quantity: l.quantity })),
      expiresAt: Date.now() + req.ttlSeconds * 1000,
      startedAt: Date.now(),
    };
    // Recorded before reserving, so a crash half-way is cleaned up by the alarm.
    this.transact(() => {
      this.write("attempts", attemptNo);
      this.write("attempt", attempt);
    });
    this.reschedule();

    const results = await Promise.all(
      attempt.lines.map((line) =>
        reserveAtHome(this.env, line.skuId, {
          reservationId: attempt.reservationId,
          orderId: this.orderId,
          ownerId: req.ownerId,
          quantity: line.quantity,
          expiresAt: attempt.expiresAt,
        }).catch((err: unknown): ReserveOutcome => refuse("SKU_UNAVAILABLE", `SKU ${line.skuId} could not be reached: ${String(err)}`)),
      ),
    );
    const reserved: ReservedItem[] = [];
    const holders: Record<string, string> = {};
    const lineErrors: ProblemItem[] = [];
    results.forEach((r, i) => {
      if (r.ok) {
        reserved.push(r.item);
        holders[r.item.skuId] = r.holder;
      } else {
        lineErrors.push(...(r.errors ?? [{ code: r.code, skuId: attempt.lines[i]!.skuId, message: r.detail }]));
      }
    });
    if (lineErrors.length > 0) {
      this.abandon(attempt, "checkout_failed", holders);
      return refuse(lineErrors[0]!.code as ProblemCode, "some lines cannot be checked out; nothing was reserved and the cart is unchanged", lineErrors);
    }
    const items = reserved.map(orderLine);
    const currency = reserved[0]!.currency;
    if (reserved.some((item) => item.currency !== currency)) {
      this.abandon(attempt, "checkout_failed", holders);
      return refuse("CURRENCY_MISMATCH", "the lines are priced in different currencies");
    }
    const total = orderTotal(items);
    // The authoritative check: a price can change between the quote and the reservation.
    if (req.expectedTotal !== null && req.expectedTotal !== total) {
      this.abandon(attempt, "price_changed", holders);
      return priceChanged(req.expectedTotal, total, currency);
    }

    const order = this.newOrder(req.ownerId, "checkout", items, attempt.expiresAt, currency);
    this.transact(() => {
      this.sql.exec("DELETE FROM kv WHERE key = 'attempt'");
      this.save({ order, requestHash: req.requestHash, reservationId: attempt.reservationId, holders });
      this.outbox.addEvent(envelope("order.created", order.orderId, order.version, order));
      this.outbox.addCommand(cartCommand(order.ownerId, { name: "checkedOut", args: { orderId: order.orderId, lines: attempt.lines, createdAt: order.createdAt } }));
    });
    this.afterCommit();
    // The buyer expects the checked-out lines gone when we answer; if the cart
    // cannot be reached now, the outbox keeps retrying.
    await this.relayNow();
    return { ok: true, order, created: true };
  }

  /**
   * Gives up an attempt: release whatever it may hold (idempotent for lines it
   * never got). A line whose holder is unknown is released at the SKU's own
   * actor; if it was held by another stripe, that stripe's sweep frees it.
   */
  private abandon(attempt: Attempt, reason: string, holders: Record<string, string> = {}): void {
    this.transact(() => {
      for (const line of attempt.lines) this.outbox.addCommand(stockCommand(holders[line.skuId] ?? line.skuId, "release", attempt.reservationId, reason));
      this.sql.exec("DELETE FROM kv WHERE key = 'attempt'");
    });
    this.afterCommit();
  }

  private newOrder(ownerId: string, source: Order["source"], items: OrderItem[], expiresAt: number, currency: string): Order {
    return pendingOrder({ orderId: this.orderId, ownerId, source, items, currency, expiresAt, now: Date.now() });
  }

  private replay(requestHash: string): PlacedOrder | null {
    if (!this.record) return null;
    if (this.record.requestHash !== requestHash) return reused();
    return { ok: true, order: this.record.order, created: false };
  }

  // ---- after placing --------------------------------------------------------------

  get(): Order | null {
    return this.record?.order ?? null;
  }

  cancel(ownerId: string): Outcome<{ order: Order }> {
    const record = this.record;
    if (!record || record.order.ownerId !== ownerId) return refuse("NOT_FOUND", "no such order");
    this.expireIfDue();
    const decision = decideCancel(this.record!.order);
    if (!decision) return refuse("ORDER_NOT_PENDING", `the order is ${this.record!.order.status}`);
    return { ok: true, order: this.apply(decision) };
  }

  /**
   * A payment provider event. Duplicates (same event id or transaction id)
   * change nothing; ids that belong to another order (`usedBy`) are recorded FAILED. A PENDING order past its expiry is expired first, so a late
   * payment is flagged for refund instead of being honoured with released stock.
   */
  applyPayment(event: PaymentEvent, usedBy: string | null = null): Outcome<{ order: Order; duplicate: boolean }> {
    const record = this.record;
    if (!record) return refuse("NOT_FOUND", `no order ${event.orderId}`);
    if (isDuplicatePayment(record.order, event)) return { ok: true, order: record.order, duplicate: true };
    this.expireIfDue();
    const now = Date.now();
    const decision = usedBy ? decideForeignPayment(this.record!.order, event, usedBy, now) : decidePayment(this.record!.order, event, now);
    return { ok: true, order: this.apply(decision), duplicate: false };
  }

  /** Expires the order if it is PENDING and past `expiresAt` (alarm, cron sweep). Idempotent. */
  expireIfDue(): { expired: boolean } {
    const order = this.record?.order;
    const decision = order ? decideExpiry(order, Date.now()) : null;
    if (!decision) return { expired: false };
    this.apply(decision);
    return { expired: true };
  }

  /**
   * Asked by a SKU sweeping a reservation nobody confirmed: should it be
   * committed, kept, or released?
   */
  reservationVerdict(reservationId: string, skuId: string): ReservationVerdict {
    this.expireIfDue();
    const record = this.record;
    if (record && record.reservationId === reservationId && record.order.items.some((i) => i.skuId === skuId)) {
      const status = record.order.status;
      if (status === "PENDING") return { state: "pending", expiresAt: Date.parse(record.order.expiresAt) };
      if (status === "PAID" || status === "REFUNDED") return { state: "paid" };
      return { state: "closed" };
    }
    const attempt = this.read<Attempt>("attempt");
    if (attempt && attempt.reservationId === reservationId && this.inflight) return { state: "pending", expiresAt: attempt.expiresAt };
    return { state: "closed" };
  }

  /** Applies a decision and its stock effect in one transaction. */
  private apply(decision: Decision): Order {
    const record = this.record!;
    const order = applyDecision(record.order, decision, Date.now());
    this.transact(() => {
      this.save({ ...record, order });
      addOrderEvents(this.outbox, order, decision);
      if (decision.effect) {
        for (const item of order.items) {
          this.outbox.addCommand(stockCommand(record.holders?.[item.skuId] ?? item.skuId, decision.effect, record.reservationId, decision.events[0] ?? decision.effect));
        }
      }
    });
    this.afterCommit();
    return order;
  }

  // ---- outbox commands and alarm ----------------------------------------------------

  protected override async runCommand(command: Command): Promise<void> {
    if (command.target.startsWith("sku:")) {
      const { name, args } = command as StockCommand;
      const sku = this.env.SKUS.getByName(command.target.slice(4));
      if (name === "commit") {
        const done = await sku.commit(args.reservationId);
        if (!done.ok) this.flagUnfulfillable(command.target.slice(4));
      } else if (name === "release") await sku.release(args.reservationId, args.reason);
      else await sku.restock(args.reservationId);
      return;
    }
    const cart = this.env.CARTS.getByName(command.target.slice(5));
    const c = command as CartCommand;
    if (c.name === "checkedOut") await cart.applyCheckout(c.args.orderId, c.args.lines, c.args.createdAt);
    else await cart.recordOrder(c.args.orderId, c.args.createdAt);
  }

  /** A paid order whose stock could not be committed must be refunded; stock is never oversold to honour it. */
  private flagUnfulfillable(skuId: string): void {
    const order = this.record?.order;
    if (!order || order.refundRequired) return;
    console.error(`order ${order.orderId}: reservation on ${skuId} was no longer held at payment; flagged for refund`);
    this.apply({ status: order.status, refundRequired: true, payment: null, effect: null, events: ["order.refund_required"] });
  }

  protected nextDutyAt(): number | null {
    const due: number[] = [];
    const order = this.record?.order;
    if (order?.status === "PENDING") due.push(Date.parse(order.expiresAt));
    const attempt = this.read<Attempt>("attempt");
    if (attempt) due.push(attempt.startedAt + ATTEMPT_TIMEOUT_MS);
    return due.length ? Math.min(...due) : null;
  }

  protected async runDuties(now: number): Promise<void> {
    this.expireIfDue();
    const attempt = this.read<Attempt>("attempt");
    if (attempt && !this.inflight && attempt.startedAt + ATTEMPT_TIMEOUT_MS <= now) this.abandon(attempt, "checkout_abandoned");
  }

  // ---- storage ------------------------------------------------------------------------

  private save(record: OrderRecord): void {
    this.write("order", record);
    this.record = record;
  }

  protected override onRollback(): void {
    this.record = this.read<OrderRecord>("order");
  }

  private read<T>(key: string): T | null {
    const row = this.sql.exec<{ value: string }>("SELECT value FROM kv WHERE key = ?", key).toArray()[0];
    return row ? (JSON.parse(row.value) as T) : null;
  }

  private write(key: string, value: unknown): void {
    this.sql.exec("INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", key, JSON.stringify(value));
  }
}

/** Each line's current quote: null for a SKU that does not exist, undefined where it could not be asked (the reservation will tell). */
async function quoteLines(env: Env, ownerId: string, lines: { skuId: string }[]): Promise<(SkuQuote | null | undefined)[]> {
  return Promise.all(lines.map((line) => env.SKUS.getByName(line.skuId).quote(ownerId).catch(() => undefined)));
}

/**
 * The refusals a checkout can know from quotes alone: a line not for sale or
 * over the buyer's limit, mixed currencies, a total other than the buyer saw.
 * Stock is not judged here (a striped SKU's quote trails its stripes).
 */
function precheck(lines: { skuId: string; quantity: number }[], quotes: (SkuQuote | null | undefined)[], expectedTotal: number | null): Refusal | null {
  const lineErrors: ProblemItem[] = [];
  lines.forEach((line, i) => {
    const q = quotes[i];
    if (q === undefined) return;
    if (q === null || q.status !== "active") lineErrors.push({ code: "SKU_UNAVAILABLE", skuId: line.skuId });
    else if (q.purchaseLimit !== null && q.ownerUnits + line.quantity > q.purchaseLimit) {
      lineErrors.push({ code: "LIMIT_EXCEEDED", skuId: line.skuId, limit: q.purchaseLimit, alreadyPurchased: q.ownerUnits, requested: line.quantity });
    }
  });
  if (lineErrors.length > 0) return refuse(lineErrors[0]!.code as ProblemCode, "some lines cannot be checked out; nothing was reserved and the cart is unchanged", lineErrors);
  if (quotes.some((q) => !q)) return null;
  const known = quotes as SkuQuote[];
  const currency = known[0]!.currency;
  if (known.some((q) => q.currency !== currency)) return refuse("CURRENCY_MISMATCH", "the lines are priced in different currencies");
  const total = known.reduce((sum, q, i) => sum + q.price * lines[i]!.quantity, 0);
  return expectedTotal !== null && expectedTotal !== total ? priceChanged(expectedTotal, total, currency) : null;
}

function priceChanged(expectedTotal: number, total: number, currency: string): Refusal {
  return refuse("PRICE_CHANGED", `the total is now ${total} ${currency}, not ${expectedTotal}`, [{ code: "PRICE_CHANGED", expectedTotal, total }]);
}

/** A stock command for the SKU actor (stripe) `holder` that keeps the reservation. */
function stockCommand(holder: string, name: StockEffect, reservationId: string, reason: string): StockCommand {
  return { target: `sku:${holder}`, name, args: { reservationId, reason } };
}

function cartCommand(ownerId: string, command: Omit<CartCommand, "target">): CartCommand {
  return { target: `cart:${ownerId}`, ...command } as CartCommand;
}

function reused() {
  return refuse("IDEMPOTENCY_KEY_REUSED", "this Idempotency-Key was used with a different request body");
}
