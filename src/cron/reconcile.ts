/**
 * Inventory reconciliation: the SKU actors' counters against Postgres's
 * audit, with drift recorded and repaired from the outside.
 */
import { and, eq, inArray, isNotNull, isNull, or, sql } from "drizzle-orm";
import type { Database } from "../db/client";
import { withDatabase } from "../db/client";
import { deadLetters, inventoryAudit, inventoryDrift, promotionRedemptions, promotions, skus } from "../db/tables";
import { budgetLedgerId } from "../domain/promotions";
import type { StockCounters } from "../domain/stock";
import { type ReconcileReport, recordReconciliation } from "../db/reconciliations";
import { log } from "../log/logger";

/** SKUs compared per run (the oldest-checked first would need a cursor; a catalog this size is read whole). */
const MAX_SKUS = 5_000;
const FAN_OUT = 50;

const ZERO: StockCounters = { onHand: 0, reserved: 0, sold: 0 };
const isZero = (d: StockCounters) => d.onHand === 0 && d.reserved === 0 && d.sold === 0;

/**
 * docs/invariants.md 4 checked from the outside: each SKU actor's counters (the
 * source of truth) against the sum of its `inventory_audit` rows. A drift is
 * recorded and logged; when the next run finds the same drift with the actor
 * unchanged (so no event can be in flight), one `reconcile` audit row repairs
 * it, unless an open dead letter holds a movement of that SKU (its replay would count it
 * twice). `repair: false` only reports.
 */
export async function reconcileInventory(
  env: Env,
  options: { repair: boolean } = { repair: true },
): Promise<ReconcileReport> {
  return withDatabase(env, async (db) => {
    const limited = await limitedPromotions(db);
    const skuIds = [
      ...(await db.select({ skuId: skus.skuId }).from(skus).limit(MAX_SKUS)).map((r) => r.skuId),
      // A limited promotion's budget ledger is audited like a SKU's stock.
      ...limited.map(budgetLedgerId),
    ];
    const report: ReconcileReport = {
      checked: 0,
      drifting: [],
      repaired: 0,
      promotions: await checkRedemptions(env, db, limited),
    };
    for (let i = 0; i < skuIds.length; i += FAN_OUT) {
      const chunk = skuIds.slice(i, i + FAN_OUT);
      const [views, sums, parked] = await Promise.all([
        Promise.all(chunk.map((id) => env.SKUS.getByName(id).adminView())),
        auditSums(db, chunk),
        skusWithOpenDeadLetters(db, chunk),
      ]);
      for (const [j, skuId] of chunk.entries()) {
        const view = views[j];
        if (!view) continue;
        report.checked += 1;
        const sum = sums.get(skuId) ?? ZERO;
        const drift = {
          onHand: view.onHand - sum.onHand,
          reserved: view.reserved - sum.reserved,
          sold: view.sold - sum.sold,
        };
        const fingerprint = `${view.version}:${view.onHand}:${view.reserved}:${view.sold}`;
        if (isZero(drift)) {
          await db
            .delete(inventoryDrift)
            .where(and(eq(inventoryDrift.skuId, skuId), isNull(inventoryDrift.repairedAt)));
          continue;
        }
        // A dead-lettered movement of this SKU would land again when replayed: no repair until it is resolved.
        const repair = options.repair && !parked.has(skuId);
        const repaired = await recordDrift(db, skuId, drift, fingerprint, view.version, repair);
        report.drifting.push({ skuId, drift, repaired });
        if (repaired) report.repaired += 1;
        log.warn("inventory drift: actor minus audit", { skuId, drift, outcome: repaired ? "repaired" : "drift" });
      }
    }
    await recordReconciliation(db, report);
    return report;
  });
}

async function limitedPromotions(db: Database): Promise<string[]> {
  const rows = await db
    .select({ promotionId: promotions.promotionId })
    .from(promotions)
    .where(or(isNotNull(promotions.limit), isNotNull(promotions.limitPerCustomer)))
    .limit(MAX_SKUS);
  return rows.map((r) => r.promotionId);
}

/**
 * docs/invariants.md 10 checked from the outside: for each limited promotion,
 * the redemptions its ledger counts as used equal the paid orders with it in
 * Postgres. A difference is reported and logged (events in flight show as a
 * passing difference; one that stays is a lost event to replay).
 */
async function checkRedemptions(
  env: Env,
  db: Database,
  promotionIds: string[],
): Promise<ReconcileReport["promotions"]> {
  const report: ReconcileReport["promotions"] = { checked: 0, drifting: [] };
  if (promotionIds.length === 0) return report;
  const counted = await db
    .select({ promotionId: promotionRedemptions.promotionId, n: sql<number>`count(*)::int` })
    .from(promotionRedemptions)
    .where(and(inArray(promotionRedemptions.promotionId, promotionIds), eq(promotionRedemptions.status, "redeemed")))
    .groupBy(promotionRedemptions.promotionId);
  const redeemed = new Map(counted.map((r) => [r.promotionId, r.n]));
  for (let i = 0; i < promotionIds.length; i += FAN_OUT) {
    const chunk = promotionIds.slice(i, i + FAN_OUT);
    const views = await Promise.all(chunk.map((id) => env.SKUS.getByName(budgetLedgerId(id)).adminView()));
    chunk.forEach((promotionId, j) => {
      const view = views[j];
      if (!view) return;
      report.checked += 1;
      const inPostgres = redeemed.get(promotionId) ?? 0;
      if (view.sold === inPostgres) return;
      report.drifting.push({ promotionId, used: view.sold, redeemed: inPostgres });
      log.warn("promotion drift: ledger against Postgres", {
        promotionId,
        used: view.sold,
        redeemed: inPostgres,
        outcome: "drift",
      });
    });
  }
  return report;
}

async function auditSums(db: Database, skuIds: string[]): Promise<Map<string, StockCounters>> {
  const rows = await db
    .select({
      skuId: inventoryAudit.skuId,
      onHand: sql<number>`coalesce(sum(${inventoryAudit.onHandDelta}), 0)::bigint`.mapWith(Number),
      reserved: sql<number>`coalesce(sum(${inventoryAudit.reservedDelta}), 0)::bigint`.mapWith(Number),
      sold: sql<number>`coalesce(sum(${inventoryAudit.soldDelta}), 0)::bigint`.mapWith(Number),
    })
    .from(inventoryAudit)
    .where(inArray(inventoryAudit.skuId, skuIds))
    .groupBy(inventoryAudit.skuId);
  return new Map(rows.map((r) => [r.skuId, { onHand: r.onHand, reserved: r.reserved, sold: r.sold }]));
}

/** The SKUs among `skuIds` with an inventory movement in an open dead letter (one a replay would still land). */
async function skusWithOpenDeadLetters(db: Database, skuIds: string[]): Promise<Set<string>> {
  const skuOf = sql<string>`${deadLetters.body}->'data'->>'skuId'`;
  const rows = await db
    .selectDistinct({ skuId: skuOf })
    .from(deadLetters)
    .where(
      and(eq(deadLetters.status, "open"), sql`${deadLetters.body}->>'type' like 'inventory.%'`, inArray(skuOf, skuIds)),
    );
  return new Set(rows.map((r) => r.skuId));
}

/** Records the drift; repairs it when the previous run saw exactly this drift on an unchanged actor. Returns whether it repaired. */
async function recordDrift(
  db: Database,
  skuId: string,
  drift: StockCounters,
  fingerprint: string,
  version: number,
  repair: boolean,
): Promise<boolean> {
  return db.transaction(async (tx) => {
    const [seen] = await tx.select().from(inventoryDrift).where(eq(inventoryDrift.skuId, skuId)).for("update");
    const now = new Date().toISOString();
    const same = seen && seen.repairedAt === null && seen.fingerprint === fingerprint;
    const values = {
      fingerprint,
      onHandDrift: drift.onHand,
      reservedDrift: drift.reserved,
      soldDrift: drift.sold,
      lastSeenAt: now,
    };
    if (!same || !repair) {
      await tx
        .insert(inventoryDrift)
        .values({ skuId, ...values, firstSeenAt: same ? seen.firstSeenAt : now, repairedAt: null })
        .onConflictDoUpdate({
          target: inventoryDrift.skuId,
          set: { ...values, firstSeenAt: same ? seen.firstSeenAt : now, repairedAt: null },
        });
      return false;
    }
    await tx
      .insert(inventoryAudit)
      .values({
        eventId: `reconcile:${skuId}:${fingerprint}`,
        skuId,
        kind: "reconcile",
        refId: `reconcile:${now}`,
        reason: "audit repaired from the SKU actor's counters",
        quantity: 0,
        onHandDelta: drift.onHand,
        reservedDelta: drift.reserved,
        soldDelta: drift.sold,
        skuVersion: version,
        occurredAt: now,
      })
      .onConflictDoNothing();
    await tx
      .update(inventoryDrift)
      .set({ ...values, repairedAt: now })
      .where(eq(inventoryDrift.skuId, skuId));
    return true;
  });
}
