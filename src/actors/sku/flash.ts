/**
 * Flash orders at a stock stripe: the buy-now check-and-write (reservation and
 * PENDING order together, inside the stripe's group commit), and the order's
 * later changes (payment, cancel, expiry), each with its stock effect in one
 * transaction. The orders themselves are kept by `./flash-orders.ts`.
 */
import type { Outcome } from "../../domain/errors";
import { refuse } from "../../domain/errors";
import type { Decision, Order, PaymentEvent } from "../../domain/order";
import { decideCancel, decideExpiry, orderLine, pendingOrder } from "../../domain/order";
import { decideForeignPayment, decidePayment, isDuplicatePayment } from "../../domain/payments";
import { flashOrderId } from "../../domain/order-ids";
import { promotionRefusal } from "../../domain/cart-refusals";
import type { Promotion } from "../../domain/promotions";
import { isLimited, selectPromotions } from "../../domain/promotions";
import { staleRoute } from "../../domain/sku-refusals";
import type { FlashBuyRequest, PlacedFlash } from "../../domain/sku-contract";
import { FlashOrders } from "./flash-orders";
import type { SkuStore, SkuHost } from "./store";
import type { SkuLedger } from "./ledger";

/** Flash orders expired per alarm run. */
const FLASH_EXPIRY_BATCH = 200;

export class SkuFlash {
  /** Flash orders placed at this stripe. */
  private readonly flash: FlashOrders;

  constructor(
    private readonly host: SkuHost,
    private readonly store: SkuStore,
    private readonly ledger: SkuLedger,
  ) {
    this.flash = new FlashOrders({
      sql: host.sql,
      schema: host.schema,
      outbox: host.outbox,
      settle: (id, effect, reason) => this.ledger.settle(id, effect, reason),
    });
  }

  /** Check-and-write of one flash order and its reservation, inside a group commit. */
  tryFlash(req: FlashBuyRequest): PlacedFlash {
    const orderId = this.flashOrderId(req);
    const earlier = this.flash.find(orderId);
    if (earlier) {
      if (earlier.requestHash !== req.requestHash)
        return refuse("IDEMPOTENCY_KEY_REUSED", "this Idempotency-Key was used with a different request");
      return { ok: true, order: earlier.order, created: false };
    }
    const now = this.host.now();
    const expiresAt = now + req.ttlMs;
    const priced = this.promotionsFor(req, orderId, now);
    if (!priced.ok) return priced;
    const held = this.ledger.hold({
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
      promotions: priced.apply,
      redemptions: (req.redemptions ?? []).filter((r) => priced.apply.some((p) => p.promotionId === r.promotionId)),
    });
    this.flash.create(order, req.requestHash);
    return { ok: true, order, created: true };
  }

  /**
   * The promotions that price this buy (checked before anything is written): the code must
   * apply to this SKU at its price now; redemptions must be reserved under this order's id
   * (another id means the caller routed with a stale stripe count).
   */
  private promotionsFor(req: FlashBuyRequest, orderId: string, now: number): Outcome<{ apply: Promotion[] }> {
    if (!req.code && !req.promotions?.length) return { ok: true, apply: [] };
    const sku = this.store.current;
    if (!sku) return { ok: true, apply: [] };
    if ((req.redemptions ?? []).some((r) => r.reservationId !== orderId))
      return staleRoute(this.store.stripes, this.store.address.index);
    const { apply, status } = selectPromotions({
      code: req.code ?? null,
      lines: [
        {
          skuId: sku.catalog.skuId,
          merchantId: sku.catalog.merchantId,
          unitPrice: sku.catalog.price,
          quantity: req.quantity,
        },
      ],
      currency: sku.catalog.currency,
      promotions: req.promotions ?? [],
      guest: false,
      now,
    });
    if (status && !status.applied) return promotionRefusal(status.reason!, status.code);
    // A limited promotion applies only with its redemption reserved.
    const redeemed = new Set((req.redemptions ?? []).map((r) => r.promotionId));
    const missing = apply.find((p) => isLimited(p) && !redeemed.has(p.promotionId));
    if (missing?.code) return refuse("PROMOTION_EXHAUSTED", "the promotion's redemption was not reserved");
    return { ok: true, apply: apply.filter((p) => !isLimited(p) || redeemed.has(p.promotionId)) };
  }

  flashOrderId(req: FlashBuyRequest): string {
    return flashOrderId(req.keyHash, this.store.address.index, this.store.address.skuId);
  }

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

  /** When the next flash order kept here expires (null: none pending). */
  nextExpiry(): number | null {
    return this.flash.nextExpiry();
  }

  /** Alarm: flash orders kept here expire at their own expiresAt (a later alarm takes the rest). */
  expireDue(now: number): void {
    for (const orderId of this.flash.due(now, FLASH_EXPIRY_BATCH)) this.expireFlash(orderId);
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
    const now = this.host.now();
    const result = this.host.transact(() => {
      const record = this.flash.find(orderId);
      if (!record) return null;
      let order = record.order;
      const expiry = decideExpiry(order, now);
      if (expiry) order = this.flash.apply(order, expiry, now);
      const decision = decide(order, now);
      if (decision) order = this.flash.apply(order, decision, now);
      return { order, changed: expiry !== null || decision !== null };
    });
    if (result?.changed) this.host.afterCommit();
    return result;
  }
}
