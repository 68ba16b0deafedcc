import type { Decision, Order, StockEffect } from "../../domain/order";
import { applyDecision } from "../../domain/order";
import { addOrderEvents } from "../order/order-events";
import type { Outbox } from "../outbox";
import type { StripeCommand } from "../commands";
import type { ActorSchema } from "../sqlite";
import { log } from "../../log/logger";

/** What the flash orders need from the stock actor that keeps them. */
export interface FlashHost {
  readonly sql: SqlStorage;
  readonly schema: ActorSchema;
  readonly outbox: Outbox;
  /** Applies a stock effect to the order's reservation (inside the caller's transaction); false when it is not in a state the effect applies to. */
  settle(reservationId: string, effect: StockEffect, reason: string): boolean;
}

export interface FlashRecord {
  order: Order;
  requestHash: string;
}

interface Row extends Record<string, SqlStorageValue> {
  body: string;
  request_hash: string;
}

/**
 * The flash orders a stock stripe keeps (docs/API.md, Flash buy; docs/decisions.md #3): the order is
 * written in the same transaction as its reservation, so the burst opens no
 * other actor. The stripe then is the order's home for reads, cancel,
 * payment and expiry; the reservation id is the order id. Every method here
 * runs inside the stripe's transaction.
 */
export class FlashOrders {
  constructor(private readonly host: FlashHost) {
    host.schema.ensure(`CREATE TABLE IF NOT EXISTS flash_orders (
      order_id TEXT PRIMARY KEY,
      owner_id TEXT NOT NULL,
      request_hash TEXT NOT NULL,
      status TEXT NOT NULL,
      expires_at INTEGER NOT NULL,
      body TEXT NOT NULL              -- the Order JSON
    )`);
    host.schema.ensure("CREATE INDEX IF NOT EXISTS flash_orders_pending ON flash_orders (status, expires_at)");
  }

  find(orderId: string): FlashRecord | null {
    const row = this.host.sql
      .exec<Row>("SELECT body, request_hash FROM flash_orders WHERE order_id = ?", orderId)
      .toArray()[0];
    return row ? { order: JSON.parse(row.body) as Order, requestHash: row.request_hash } : null;
  }

  create(order: Order, requestHash: string): void {
    this.host.sql.exec(
      "INSERT INTO flash_orders (order_id, owner_id, request_hash, status, expires_at, body) VALUES (?, ?, ?, ?, ?, ?)",
      order.orderId,
      order.ownerId,
      requestHash,
      order.status,
      Date.parse(order.expiresAt),
      JSON.stringify(order),
    );
    addOrderEvents(this.host.outbox, order, { payment: null, events: ["order.created"] });
  }

  /**
   * Applies a decision with its stock effect. A payment whose reservation
   * can no longer be committed is flagged for refund: stock is never oversold
   * to honour it.
   */
  apply(prev: Order, decision: Decision, now: number): Order {
    let order = applyDecision(prev, decision, now);
    let events = decision.events;
    if (
      decision.effect &&
      !this.host.settle(order.orderId, decision.effect, decision.events[0] ?? decision.effect) &&
      decision.effect === "commit"
    ) {
      log.error("flash order flagged for refund: reservation no longer held at payment", {
        orderId: order.orderId,
        outcome: "refund_required",
      });
      order = { ...order, refundRequired: true };
      events = [...events, "order.refund_required"];
    }
    this.host.sql.exec(
      "UPDATE flash_orders SET status = ?, body = ? WHERE order_id = ?",
      order.status,
      JSON.stringify(order),
      order.orderId,
    );
    addOrderEvents(this.host.outbox, order, { payment: decision.payment, events, effect: decision.effect });
    // The promotions' redemptions this order holds follow its stock (kept by their budget ledgers).
    if (decision.effect)
      for (const r of order.redemptions ?? [])
        this.host.outbox.addCommand({
          target: `sku:${r.holder}`,
          name: decision.effect,
          args: { reservationId: r.reservationId, reason: decision.events[0] ?? decision.effect },
        } satisfies StripeCommand);
    return order;
  }

  /** PENDING orders whose payment window closed by `now`, oldest first. */
  due(now: number, limit: number): string[] {
    return this.host.sql
      .exec<{ order_id: string }>(
        "SELECT order_id FROM flash_orders WHERE status = 'PENDING' AND expires_at <= ? ORDER BY expires_at LIMIT ?",
        now,
        limit,
      )
      .toArray()
      .map((r) => r.order_id);
  }

  /** When the next PENDING order expires, or null. */
  nextExpiry(): number | null {
    return this.host.sql
      .exec<{ at: number | null }>("SELECT min(expires_at) AS at FROM flash_orders WHERE status = 'PENDING'")
      .one().at;
  }
}
