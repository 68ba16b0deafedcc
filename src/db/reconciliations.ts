/**
 * What the inventory reconciliation leaves in Postgres (src/cron/reconcile.ts runs it): its last
 * report, for the stock view, and the drift it has not repaired, for /healthz and the alerts.
 */
import { eq, isNull, sql } from "drizzle-orm";
import type { StockCounters } from "../domain/stock";
import type { Database } from "./client";
import { inventoryDrift, reconciliations } from "./tables";

/** The name of the row holding the last run's result (reconciliations). */
export const LAST_RECONCILIATION = "inventory";

export interface SkuDrift {
  skuId: string;
  /** Actor counters minus the audit sums. */
  drift: StockCounters;
  /** True when this run wrote the repairing audit row. */
  repaired: boolean;
}

/** A limited promotion whose ledger and Postgres disagree on its paid redemptions. */
export interface PromotionDrift {
  promotionId: string;
  /** Redemptions of paid orders, by the budget ledger. */
  used: number;
  /** Paid orders with the promotion, in Postgres (promotion_redemptions). */
  redeemed: number;
}

export interface ReconcileReport {
  checked: number;
  drifting: SkuDrift[];
  repaired: number;
  /** Limited promotions: the ledger's used redemptions against the paid orders in Postgres. */
  promotions: { checked: number; drifting: PromotionDrift[] };
}

/** The run's result, for the stock view (src/ops/stock.ts): one row, the last run's. */
export async function recordReconciliation(db: Database, report: ReconcileReport): Promise<void> {
  const row = {
    ranAt: new Date().toISOString(),
    ok: report.drifting.length === 0 && report.promotions.drifting.length === 0,
    report,
  };
  await db
    .insert(reconciliations)
    .values({ name: LAST_RECONCILIATION, ...row })
    .onConflictDoUpdate({ target: reconciliations.name, set: row });
}

/** The last run's row, or none before the first run. */
export async function lastReconciliation(db: Database) {
  const [row] = await db.select().from(reconciliations).where(eq(reconciliations.name, LAST_RECONCILIATION));
  return row ? { ranAt: row.ranAt, ok: row.ok, report: row.report as ReconcileReport } : null;
}

/** Unrepaired drift, for /healthz and the admin view. */
export async function openDrift(db: Database): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(inventoryDrift)
    .where(isNull(inventoryDrift.repairedAt));
  return row?.n ?? 0;
}
