/**
 * An order after it is placed: its state machine (payment, cancel, expiry)
 * applied one decision at a time, each with its events and stock effects in
 * one transaction, so two of them can never both win.
 */
import type { ReservationVerdict } from "../../domain/checkout";
import { verdictOf } from "../../domain/checkout";
import type { Outcome } from "../../domain/errors";
import { refuse } from "../../domain/errors";
import type { Decision, Order, PaymentEvent } from "../../domain/order";
import { applyDecision, decideCancel, decideExpiry } from "../../domain/order";
import { decideForeignPayment, decidePayment, isDuplicatePayment } from "../../domain/payments";
import { budgetLedgerId } from "../../domain/promotions";
import type { ActorHost } from "../actor";
import { addOrderEvents } from "./order-events";
import type { OrderStore } from "./store";
import { stockCommand } from "./store";
import { log } from "../../log/logger";

export class OrderLifecycle {
  constructor(
    private readonly host: ActorHost,
    private readonly store: OrderStore,
  ) {}

  cancel(ownerId: string): Outcome<{ order: Order }> {
    const record = this.store.record;
    if (!record || record.order.ownerId !== ownerId) return refuse("NOT_FOUND", "no such order");
    this.expireIfDue();
    const decision = decideCancel(this.store.record!.order);
    if (!decision) return refuse("ORDER_NOT_PENDING", `the order is ${this.store.record!.order.status}`);
    return { ok: true, order: this.apply(decision) };
  }

  /**
   * A payment provider event. Duplicates (same event id or transaction id)
   * change nothing; ids that belong to another order (`usedBy`) are recorded FAILED. A PENDING order past its expiry is expired first, so a late
   * payment is flagged for refund instead of being honoured with released stock.
   */
  applyPayment(event: PaymentEvent, usedBy: string | null): Outcome<{ order: Order; duplicate: boolean }> {
    const record = this.store.record;
    if (!record) return refuse("NOT_FOUND", `no order ${event.orderId}`);
    if (isDuplicatePayment(record.order, event)) return { ok: true, order: record.order, duplicate: true };
    this.expireIfDue();
    const now = this.host.now();
    const order = this.store.record!.order;
    const decision = usedBy ? decideForeignPayment(order, event, usedBy, now) : decidePayment(order, event, now);
    return { ok: true, order: this.apply(decision), duplicate: false };
  }

  /** Expires the order if it is PENDING and past `expiresAt` (alarm, cron sweep). Idempotent. */
  expireIfDue(): { expired: boolean } {
    const order = this.store.record?.order;
    const decision = order ? decideExpiry(order, this.host.now()) : null;
    if (!decision) return { expired: false };
    this.apply(decision);
    return { expired: true };
  }

  /** The order's word on one of its reservations (null: not this order's reservation, or no such line). */
  verdict(reservationId: string, skuId: string): ReservationVerdict | null {
    this.expireIfDue();
    const record = this.store.record;
    if (
      record &&
      record.reservationId === reservationId &&
      (record.order.items.some((i) => i.skuId === skuId) ||
        (record.order.redemptions ?? []).some((r) => budgetLedgerId(r.promotionId) === skuId))
    )
      return verdictOf(record.order);
    return null;
  }

  /** A paid order whose stock could not be committed must be refunded; stock is never oversold to honour it. */
  flagUnfulfillable(skuId: string): void {
    const order = this.store.record?.order;
    if (!order || order.refundRequired) return;
    log.error("order flagged for refund: reservation no longer held at payment", {
      orderId: order.orderId,
      skuId,
      outcome: "refund_required",
    });
    this.apply({
      status: order.status,
      refundRequired: true,
      payment: null,
      effect: null,
      events: ["order.refund_required"],
    });
  }

  /** When a PENDING order expires (null: not pending). */
  expiresAt(): number | null {
    const order = this.store.record?.order;
    return order?.status === "PENDING" ? Date.parse(order.expiresAt) : null;
  }

  /** Applies a decision and its stock effect (on the lines' stock and the promotions' redemptions) in one transaction. */
  private apply(decision: Decision): Order {
    const record = this.store.record!;
    const order = applyDecision(record.order, decision, this.host.now());
    this.host.transact(() => {
      this.store.save({ ...record, order });
      addOrderEvents(this.host.outbox, order, decision);
      const effect = decision.effect;
      if (effect) {
        const reason = decision.events[0] ?? effect;
        for (const item of order.items) {
          this.host.outbox.addCommand(
            stockCommand(record.holders?.[item.skuId] ?? item.skuId, effect, record.reservationId, reason),
          );
        }
        for (const r of order.redemptions ?? [])
          this.host.outbox.addCommand(stockCommand(r.holder, effect, r.reservationId, reason));
      }
    });
    this.host.afterCommit();
    return order;
  }
}
