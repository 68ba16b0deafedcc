/**
 * The stock view for the operator: per SKU and stripe, the actors' onHand/reserved/sold (asked
 * now, the source of truth), the drift the last reconciliation left open, its result, and the
 * promotions' budgets (used/reserved/remaining).
 */
import { gt, inArray, isNull } from "drizzle-orm";
import { promotionCatalog } from "../cache/promotions";
import type { Database } from "../db/client";
import { inventoryDrift, skus } from "../db/tables";
import type { StockCounters } from "../domain/stock";
import { stripeName } from "../domain/stripes";
import { lastReconciliation, type ReconcileReport } from "../db/reconciliations";

/** Actors asked at once. */
const FAN_OUT = 25;
const MAX_PROMOTIONS = 200;

export interface SkuStock extends StockCounters {
  skuId: string;
  stripes: (StockCounters & { stripe: number })[];
  /** How far the actor and the audit disagree (sum of the open drift's counters, absolute); 0 = agrees. */
  drift: number;
}

/** Which SKUs: the ones named, or a page of every SKU in id order after `after`. */
export interface StockPage {
  skus?: string[];
  after?: string;
  limit: number;
}

export interface StockView {
  skus: SkuStock[];
  /** `after` for the next page; null on the last. */
  next: string | null;
  reconciledAt: string | null;
  reconcile: { ok: boolean; drift: ReconcileReport["drifting"] } | null;
  promotions: {
    id: string;
    code: string | null;
    limit: number | null;
    used: number | null;
    reserved: number | null;
    remaining: number | null;
  }[];
}

async function skuStock(env: Env, skuId: string, drift: number): Promise<SkuStock | null> {
  const main = env.SKUS.getByName(skuId);
  const view = await main.adminView();
  if (!view) return null;
  const stripes = await Promise.all(
    Array.from({ length: Math.max(1, view.stripes) }, async (_, stripe) => {
      const counters =
        stripe === 0
          ? await main.stripeCounters()
          : await env.SKUS.getByName(stripeName(skuId, stripe)).stripeCounters();
      return { stripe, onHand: counters.onHand, reserved: counters.reserved, sold: counters.sold };
    }),
  );
  return { skuId, onHand: view.onHand, reserved: view.reserved, sold: view.sold, stripes, drift };
}

function skuPage(db: Database, page: StockPage) {
  const where = page.skus ? inArray(skus.skuId, page.skus) : page.after ? gt(skus.skuId, page.after) : undefined;
  return db
    .select({ skuId: skus.skuId })
    .from(skus)
    .where(where)
    .orderBy(skus.skuId)
    .limit(page.limit + 1);
}

export async function stockView(env: Env, db: Database, page: StockPage): Promise<StockView> {
  const [found, open, last, promotions] = await Promise.all([
    skuPage(db, page),
    db.select().from(inventoryDrift).where(isNull(inventoryDrift.repairedAt)),
    lastReconciliation(db),
    promotionCatalog(env).list(null, MAX_PROMOTIONS),
  ]);
  const ids = found.slice(0, page.limit);
  const driftOf = new Map(
    open.map((d) => [d.skuId, Math.abs(d.onHandDrift) + Math.abs(d.reservedDrift) + Math.abs(d.soldDrift)]),
  );
  const rows: SkuStock[] = [];
  for (let i = 0; i < ids.length; i += FAN_OUT) {
    const chunk = await Promise.all(
      ids.slice(i, i + FAN_OUT).map(({ skuId }) => skuStock(env, skuId, driftOf.get(skuId) ?? 0)),
    );
    for (const row of chunk) if (row) rows.push(row);
  }
  return {
    skus: rows,
    next: found.length > page.limit ? ids.at(-1)!.skuId : null,
    reconciledAt: last ? new Date(last.ranAt).toISOString() : null,
    reconcile: last ? { ok: last.ok, drift: last.report.drifting } : null,
    promotions: promotions.items.map((p) => ({
      id: p.promotionId,
      code: p.code,
      limit: p.limit,
      used: p.used,
      reserved: p.reserved,
      remaining: p.remaining,
    })),
  };
}
