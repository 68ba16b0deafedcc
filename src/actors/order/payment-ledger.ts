/**
 * Payment provider ids are unique across all orders (docs/API.md, payments):
 * a transaction id or event id already used on one order never pays another.
 * One tiny actor per id (`txn:{id}`, `evt:{id}`) remembers the first order
 * that presented it; the claim is a single synchronous write, so two
 * webhooks racing with one id on two orders cannot both win.
 */
import { DurableObject } from "cloudflare:workers";
import type { PaymentEvent } from "../../domain/order";

export class PaymentLedger extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(
      "CREATE TABLE IF NOT EXISTS claim (id INTEGER PRIMARY KEY CHECK (id = 1), order_id TEXT NOT NULL, at INTEGER NOT NULL)",
    );
  }

  /** Claims this id for `orderId`; returns the order that owns it (the caller's, or an earlier one's). */
  claim(orderId: string): string {
    const sql = this.ctx.storage.sql;
    const owner = sql.exec<{ order_id: string }>("SELECT order_id FROM claim WHERE id = 1").toArray()[0]?.order_id;
    if (owner) return owner;
    sql.exec("INSERT INTO claim (id, order_id, at) VALUES (1, ?, ?)", orderId, Date.now());
    return orderId;
  }
}

/** The other order that already used this event's transaction id or event id, or null when both are this order's. */
export async function foreignPaymentOwner(
  env: Env,
  event: Pick<PaymentEvent, "orderId" | "transactionId" | "eventId">,
): Promise<string | null> {
  const owners = await Promise.all([
    env.PAYMENT_LEDGER.getByName(`txn:${event.transactionId}`).claim(event.orderId),
    env.PAYMENT_LEDGER.getByName(`evt:${event.eventId}`).claim(event.orderId),
  ]);
  return owners.find((owner) => owner !== event.orderId) ?? null;
}
