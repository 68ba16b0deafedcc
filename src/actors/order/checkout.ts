/**
 * The checkout flow, top to bottom as in the sequence in docs/architecture.md: replay or
 * join a duplicate, take the cart's lines, refuse what the quotes already
 * show, record the attempt, reserve every line at its home stripe, judge the
 * reservations (all or none), then store the order and tell the cart, in one
 * transaction. Every way out before the order exists releases what the
 * attempt may hold.
 */
import type { SkuQuote } from "../../domain/catalog";
import type { CheckoutContext, CheckoutRequest, CheckoutState, PlacedOrder } from "../../domain/checkout";
import { assessReserved, idempotencyKeyReused, precheck } from "../../domain/checkout";
import type { ProblemItem, Refusal } from "../../domain/errors";
import { refuse } from "../../domain/errors";
import type { Redemption } from "../../domain/order";
import { pendingOrder } from "../../domain/order";
import { budgetLedgerId, isLimited } from "../../domain/promotions";
import { promotionCatalog } from "../../cache/promotions";
import { redemptionRefusal } from "../promotions/redemptions";
import { isGuestOwner } from "../../domain/stock";
import { envelope } from "../../events/envelope";
import type { ActorHost } from "../actor";
import type { OrderCommand } from "../commands";
import type { ReservedItem, ReserveOutcome } from "../../domain/sku-contract";
import { reserveAtHome } from "../sku/sku-routing";
import type { Attempt, OrderStore } from "./store";
import { stockCommand } from "./store";

/** A checkout attempt that has not finished after this long is presumed dead and its reservations are released. */
const ATTEMPT_TIMEOUT_MS = 60_000;

export class OrderCheckout {
  private inflight: { requestHash: string; result: Promise<PlacedOrder> } | null = null;

  constructor(
    private readonly host: ActorHost,
    private readonly store: OrderStore,
  ) {}

  /** Checks out the owner's cart (the given lines, or the selected ones): reserve every line or none. */
  async placeCheckout(req: CheckoutRequest): Promise<PlacedOrder> {
    const replay = this.replay(req.requestHash);
    if (replay) return replay;
    if (this.inflight) {
      if (this.inflight.requestHash !== req.requestHash) return idempotencyKeyReused();
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
    const { env, name: orderId } = this.host;
    // An attempt left by a crashed instance: release what it may hold before starting over.
    const stale = this.store.read<Attempt>("attempt");
    if (stale) this.abandon(stale, "checkout_retried");
    // This run's hold on the cart's lines: a late release of an earlier run never frees it.
    const claim = crypto.randomUUID();
    const picked = await env.CARTS.getByName(req.ownerId).linesForCheckout(req.ownerId, req.skuIds, orderId, claim);
    if (!picked.ok) return picked;
    // Refuse what the current quotes already show, before taking any stock: a
    // reservation, even one released at once, can make a concurrent buyer fail.
    const [quotes, active] = await Promise.all([
      quoteLines(env, req.ownerId, picked.lines),
      promotionCatalog(env).active(),
    ]);
    const context: CheckoutContext = {
      guest: isGuestOwner(req.ownerId),
      code: picked.code,
      promotions: active.promotions,
      now: this.host.now(),
    };
    const quoted = precheck(picked.lines, quotes, req.expectedTotal, context);
    if (!quoted.ok) {
      this.releaseLines(req.ownerId, claim);
      return quoted;
    }
    // The limited promotions expected to apply: a redemption of each is reserved with the stock.
    const redeem = quoted.promotions.filter(isLimited);
    const attemptNo = (this.store.read<number>("attempts") ?? 0) + 1;
    const attempt: Attempt = {
      reservationId: `${orderId}.${attemptNo}`,
      requestHash: req.requestHash,
      ownerId: req.ownerId,
      lines: picked.lines.map((l) => ({ skuId: l.skuId, quantity: l.quantity })),
      expiresAt: this.host.now() + req.ttlSeconds * 1000,
      startedAt: this.host.now(),
      claim,
      redemptions: redeem.map((p) => p.promotionId),
    };
    // Recorded before reserving, so a crash half-way is cleaned up by the alarm.
    this.host.transact(() => {
      this.store.write("attempts", attemptNo);
      this.store.write("attempt", attempt);
    });
    this.host.reschedule();

    const reserve = (skuId: string, quantity: number) =>
      reserveAtHome(env, skuId, {
        reservationId: attempt.reservationId,
        orderId,
        ownerId: req.ownerId,
        quantity,
        expiresAt: attempt.expiresAt,
      }).catch(
        (err: unknown): ReserveOutcome => refuse("SKU_UNAVAILABLE", `${skuId} could not be reached: ${String(err)}`),
      );
    const [results, redeemed] = await Promise.all([
      Promise.all(attempt.lines.map((line) => reserve(line.skuId, line.quantity))),
      Promise.all(redeem.map((p) => reserve(budgetLedgerId(p.promotionId), 1))),
    ]);
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
    const redemptions: Redemption[] = [];
    const refusedRedemptions = new Map<string, Refusal>();
    redeemed.forEach((r, i) => {
      const promotion = redeem[i]!;
      if (r.ok)
        redemptions.push({
          promotionId: promotion.promotionId,
          holder: r.holder,
          reservationId: attempt.reservationId,
        });
      else refusedRedemptions.set(promotion.promotionId, redemptionRefusal(r, promotion));
    });
    const assessed = assessReserved(reserved, lineErrors, req.expectedTotal, picked.lines, {
      ...context,
      refusedRedemptions,
    });
    if (!assessed.ok) {
      this.abandon(attempt, assessed.releaseReason, holders, redemptions);
      return assessed.refusal;
    }
    // Redemptions reserved for a promotion that no longer applies at the reserved prices go back.
    const used = redemptions.filter((r) => assessed.promotions.some((p) => p.promotionId === r.promotionId));
    const unused = redemptions.filter((r) => !used.includes(r));

    const order = pendingOrder({
      orderId,
      ownerId: req.ownerId,
      source: "checkout",
      items: assessed.items,
      currency: assessed.currency,
      expiresAt: attempt.expiresAt,
      now: this.host.now(),
      promotions: assessed.promotions,
      redemptions: used,
    });
    const code = assessed.promotions.find((p) => p.code !== null)?.code ?? null;
    const checkedOut: OrderCommand = {
      target: `cart:${order.ownerId}`,
      name: "applyCheckout",
      args: { orderId: order.orderId, lines: attempt.lines, createdAt: order.createdAt, code },
    };
    this.host.transact(() => {
      for (const r of unused)
        this.host.outbox.addCommand(stockCommand(r.holder, "release", r.reservationId, "promotion_not_applied"));
      this.store.delete("attempt");
      this.store.save({ order, requestHash: req.requestHash, reservationId: attempt.reservationId, holders });
      this.host.outbox.addEvent(envelope("order.created", order.orderId, order.version, order));
      this.host.outbox.addCommand(checkedOut);
    });
    this.host.afterCommit();
    // The buyer expects the checked-out lines gone when we answer; if the cart
    // cannot be reached now, the outbox keeps retrying.
    await this.host.relayNow();
    return { ok: true, order, created: true };
  }

  /**
   * Gives up an attempt: release whatever it may hold (idempotent for lines it
   * never got). A line whose holder is unknown is released at the SKU's own
   * actor; if it was held by another stripe, that stripe's sweep frees it.
   */
  private abandon(
    attempt: Attempt,
    reason: string,
    holders: Record<string, string> = {},
    redemptions: Redemption[] = [],
  ): void {
    this.host.transact(() => {
      for (const line of attempt.lines)
        this.host.outbox.addCommand(
          stockCommand(holders[line.skuId] ?? line.skuId, "release", attempt.reservationId, reason),
        );
      for (const promotionId of attempt.redemptions ?? []) {
        const holder = redemptions.find((r) => r.promotionId === promotionId)?.holder ?? budgetLedgerId(promotionId);
        this.host.outbox.addCommand(stockCommand(holder, "release", attempt.reservationId, reason));
      }
      if (attempt.claim) this.host.outbox.addCommand(this.releaseCommand(attempt.ownerId, attempt.claim));
      this.store.delete("attempt");
    });
    this.host.afterCommit();
  }

  /** Refused before any stock was taken: the cart's lines are free for another checkout. */
  private releaseLines(ownerId: string, claim: string): void {
    this.host.transact(() => this.host.outbox.addCommand(this.releaseCommand(ownerId, claim)));
    this.host.afterCommit();
  }

  private releaseCommand(ownerId: string, claim: string): OrderCommand {
    return { target: `cart:${ownerId}`, name: "releaseCheckout", args: { orderId: this.host.name, attempt: claim } };
  }

  /** Where this checkout stands, for the cart whose lines it holds. */
  state(): CheckoutState {
    if (this.store.record) return "placed";
    return this.inflight || this.store.read<Attempt>("attempt") ? "running" : "gone";
  }

  private replay(requestHash: string): PlacedOrder | null {
    const record = this.store.record;
    if (!record) return null;
    if (record.requestHash !== requestHash) return idempotencyKeyReused();
    return { ok: true, order: record.order, created: false };
  }

  /** The attempt still reserving under `reservationId`, if this instance is running it (a SKU's sweep asks). */
  pendingAttempt(reservationId: string): { expiresAt: number } | null {
    const attempt = this.store.read<Attempt>("attempt");
    return attempt && attempt.reservationId === reservationId && this.inflight
      ? { expiresAt: attempt.expiresAt }
      : null;
  }

  /** When an unfinished attempt is presumed dead (null: none). */
  abandonAt(): number | null {
    const attempt = this.store.read<Attempt>("attempt");
    return attempt ? attempt.startedAt + ATTEMPT_TIMEOUT_MS : null;
  }

  /** Alarm: an attempt no instance is running any more, past its timeout, is abandoned. */
  abandonIfDead(now: number): void {
    const attempt = this.store.read<Attempt>("attempt");
    if (attempt && !this.inflight && attempt.startedAt + ATTEMPT_TIMEOUT_MS <= now)
      this.abandon(attempt, "checkout_abandoned");
  }
}

/** Each line's current quote: null for a SKU that does not exist, undefined where it could not be asked (the reservation will tell). */
async function quoteLines(
  env: Env,
  ownerId: string,
  lines: { skuId: string }[],
): Promise<(SkuQuote | null | undefined)[]> {
  return Promise.all(
    lines.map((line) =>
      env.SKUS.getByName(line.skuId)
        .quote(ownerId)
        .catch(() => undefined),
    ),
  );
}
