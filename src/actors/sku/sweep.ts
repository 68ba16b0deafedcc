/**
 * The orphan sweep: a held reservation overdue by a grace period is settled
 * by asking its order (paid -> commit, still pending -> wait for the order's
 * own expiry, anything else -> release). This frees stock even if a checkout
 * died between reserving and creating its order. Flash reservations are
 * settled by the order kept beside them, never here.
 */
import type { ReservationVerdict } from "../../domain/checkout";
import { verdictOf } from "../../domain/checkout";
import { orderHome } from "../../domain/order-ids";
import { orderActor } from "../order/order-routing";
import type { SkuStore, SkuHost } from "./store";
import type { ReservationRow, SkuLedger } from "./ledger";

/** How long past its expiry a held reservation waits before the SKU asks its order what to do with it. */
export const ORPHAN_GRACE_MS = 60_000;
/** Reservations of flash orders are settled by the order kept beside them, never by the orphan sweep. */
const NOT_FLASH = "NOT EXISTS (SELECT 1 FROM flash_orders f WHERE f.order_id = reservations.order_id)";

export class SkuSweep {
  constructor(
    private readonly host: SkuHost,
    private readonly store: SkuStore,
    private readonly ledger: SkuLedger,
  ) {}

  /** When the earliest held checkout reservation becomes overdue (null: none held). */
  nextSweepAt(): number | null {
    const row = this.host.sql
      .exec<{ at: number | null }>(
        `SELECT min(expires_at) AS at FROM reservations WHERE status = 'held' AND ${NOT_FLASH}`,
      )
      .one();
    return row.at === null ? null : row.at + ORPHAN_GRACE_MS;
  }

  /** Settles up to 50 overdue reservations by their orders' verdicts. */
  async sweep(now: number): Promise<void> {
    const overdue = this.host.sql
      .exec<ReservationRow>(
        `SELECT * FROM reservations WHERE status = 'held' AND expires_at <= ? AND ${NOT_FLASH} ORDER BY expires_at LIMIT 50`,
        now - ORPHAN_GRACE_MS,
      )
      .toArray();
    const skuId = this.store.address.skuId;
    await Promise.all(
      overdue.map(async (row) => {
        const verdict = await verdictFor(this.host.env, row.order_id, row.reservation_id, skuId);
        // The answer took an await: settle only what is still held.
        const current = this.ledger.reservation(row.reservation_id);
        if (current?.status !== "held") return;
        if (verdict.state === "paid") this.ledger.commit(row.reservation_id);
        else if (verdict.state === "closed") this.ledger.release(row.reservation_id, "orphaned");
        else
          this.host.sql.exec(
            "UPDATE reservations SET expires_at = ? WHERE reservation_id = ?",
            verdict.expiresAt,
            row.reservation_id,
          );
      }),
    );
  }
}

/**
 * What the order says about a reservation: a checkout order answers itself (it
 * knows its attempt in progress); a flash order (a promotion's redemption held
 * by a budget ledger) is read where its stripe keeps it, and one that does not
 * exist there was never placed.
 */
async function verdictFor(
  env: Env,
  orderId: string,
  reservationId: string,
  skuId: string,
): Promise<ReservationVerdict> {
  if (orderHome(orderId)?.kind !== "flash")
    return env.ORDERS.getByName(orderId).reservationVerdict(reservationId, skuId);
  const order = await orderActor(env, orderId)!.get();
  return order ? verdictOf(order) : { state: "closed" };
}
