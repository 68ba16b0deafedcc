/**
 * The order actor: one order, its lines with price snapshots, its payments
 * and its state machine (`order/lifecycle.ts`). It is also the checkout
 * coordinator (`order/checkout.ts`): its name is derived from the buyer and
 * the Idempotency-Key, so retries and concurrent duplicates of one checkout
 * meet here and produce one order. Stock effects leave through the outbox as
 * commands to the SKU actors, in order, until delivered.
 */
import type { CheckoutRequest, CheckoutState, PlacedOrder, ReservationVerdict } from "../../domain/checkout";
import type { Outcome } from "../../domain/errors";
import type { Order, PaymentEvent } from "../../domain/order";
import { Actor } from "../actor";
import type { CommandTable, OrderCommand } from "../commands";
import { dispatch } from "../commands";
import { OrderCheckout } from "./checkout";
import { OrderLifecycle } from "./lifecycle";
import { OrderStore } from "./store";
import type { Command } from "../outbox";

export type { CheckoutRequest, PlacedOrder } from "../../domain/checkout";

export class OrderActor extends Actor {
  protected readonly logKind = "order";
  private readonly store: OrderStore;
  private readonly checkout: OrderCheckout;
  private readonly lifecycle: OrderLifecycle;
  /** How each command this actor sends is delivered. */
  private readonly commands: CommandTable<OrderCommand> = {
    commit: async (skuId, { reservationId }) => {
      const done = await this.env.SKUS.getByName(skuId).commit(reservationId);
      if (!done.ok) this.lifecycle.flagUnfulfillable(skuId);
    },
    release: async (skuId, { reservationId, reason }) => {
      await this.env.SKUS.getByName(skuId).release(reservationId, reason);
    },
    restock: async (skuId, { reservationId }) => {
      await this.env.SKUS.getByName(skuId).restock(reservationId);
    },
    applyCheckout: (cartKey, { orderId, lines, createdAt, code }) =>
      this.env.CARTS.getByName(cartKey).applyCheckout(orderId, lines, createdAt, code),
    releaseCheckout: (cartKey, { orderId, attempt }) =>
      this.env.CARTS.getByName(cartKey).releaseCheckout(orderId, attempt),
  };

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new OrderStore(this.host);
    this.checkout = new OrderCheckout(this.host, this.store);
    this.lifecycle = new OrderLifecycle(this.host, this.store);
  }

  /** Checks out the owner's cart (the given lines, or the selected ones): reserve every line or none. */
  placeCheckout(req: CheckoutRequest): Promise<PlacedOrder> {
    return this.checkout.placeCheckout(req);
  }

  /** Asked by a cart whose lines this checkout holds: is it still taking them? */
  checkoutState(): CheckoutState {
    return this.checkout.state();
  }

  get(): Order | null {
    return this.store.record?.order ?? null;
  }

  cancel(ownerId: string): Outcome<{ order: Order }> {
    return this.lifecycle.cancel(ownerId);
  }

  applyPayment(event: PaymentEvent, usedBy: string | null = null): Outcome<{ order: Order; duplicate: boolean }> {
    return this.lifecycle.applyPayment(event, usedBy);
  }

  expireIfDue(): { expired: boolean } {
    return this.lifecycle.expireIfDue();
  }

  /**
   * Asked by a SKU sweeping a reservation nobody confirmed: should it be
   * committed, kept, or released?
   */
  reservationVerdict(reservationId: string, skuId: string): ReservationVerdict {
    const verdict = this.lifecycle.verdict(reservationId, skuId);
    if (verdict) return verdict;
    const attempt = this.checkout.pendingAttempt(reservationId);
    return attempt ? { state: "pending", expiresAt: attempt.expiresAt } : { state: "closed" };
  }

  protected override runCommand(command: Command): Promise<void> {
    return dispatch(this.commands, command);
  }

  protected nextDutyAt(): number | null {
    const due = [this.lifecycle.expiresAt(), this.checkout.abandonAt()].filter((at) => at !== null);
    return due.length ? Math.min(...due) : null;
  }

  protected async runDuties(now: number): Promise<void> {
    this.lifecycle.expireIfDue();
    this.checkout.abandonIfDead(now);
  }

  protected override onRollback(): void {
    this.store.reload();
  }
}
