/**
 * SKU projections: the catalog row (newest version wins) and the stock
 * counters, kept as the running sum of the inventory movements (inventory_audit).
 */
import { sql } from "drizzle-orm";
import type { SkuAdminView } from "../../domain/catalog";
import { isBudgetLedger } from "../../domain/promotions";
import type { Envelope } from "../../events/envelope";
import { inventoryAudit, skus } from "../tables";
import type { Writer } from "./writer";
import { byKey, excludedColumns, latestVersions } from "./writer";

/**
 * The catalog fields of a SKU, newest version wins. Its counters are not
 * taken from here: they are the running sum of the inventory movements, so
 * they stay exact whatever order events arrive in (and across stock stripes).
 */
export async function upsertSkus(tx: Writer, views: SkuAdminView[]): Promise<void> {
  // A promotion's budget ledger is a stock ledger, not a product: its definition is in `promotions`.
  const products = views.filter((v) => !isBudgetLedger(v.skuId));
  if (products.length === 0) return;
  await tx
    .insert(skus)
    .values(
      latestVersions(products, (v) => v.skuId).map((v) => ({
        skuId: v.skuId,
        productId: v.productId,
        merchantId: v.merchantId,
        name: v.name,
        image: v.image,
        spec: v.spec,
        price: v.price,
        currency: v.currency,
        status: v.status,
        purchaseLimit: v.purchaseLimit,
        stripes: v.stripes,
        saleStartsAt: v.saleStartsAt ?? null,
        version: v.version,
        updatedAt: v.updatedAt,
      })),
    )
    .onConflictDoUpdate({
      target: skus.skuId,
      set: excludedColumns(skus, ["skuId", "onHand", "reserved", "sold"]),
      setWhere: sql`${skus.version} < excluded.version`,
    });
}

export async function recordMovements(tx: Writer, events: Envelope<"inventory.reserved">[]): Promise<void> {
  await tx
    .insert(inventoryAudit)
    .values(
      events.map((e) => ({
        eventId: e.id,
        skuId: e.data.skuId,
        kind: e.data.kind,
        refId: e.data.refId,
        reason: e.data.reason,
        quantity: e.data.quantity,
        onHandDelta: e.data.onHandDelta,
        reservedDelta: e.data.reservedDelta,
        soldDelta: e.data.soldDelta,
        skuVersion: e.version,
        occurredAt: e.occurredAt,
      })),
    )
    .onConflictDoNothing();
  // Counters add up the movements (each applied once, see applyEvents). A movement that arrives
  // before the SKU's catalog row creates a placeholder row the catalog event fills in later.
  const sums = new Map<string, { onHand: number; reserved: number; sold: number; updatedAt: string }>();
  for (const { data: m, occurredAt } of events) {
    const sum = sums.get(m.skuId) ?? { onHand: 0, reserved: 0, sold: 0, updatedAt: occurredAt };
    sum.onHand += m.onHandDelta;
    sum.reserved += m.reservedDelta;
    sum.sold += m.soldDelta;
    sums.set(m.skuId, sum);
  }
  await tx
    .insert(skus)
    .values(
      [...sums]
        .sort(([a], [b]) => byKey(a, b))
        .map(([skuId, sum]) => ({
          skuId,
          productId: "",
          merchantId: "",
          name: "",
          price: 0,
          currency: "",
          status: "pending",
          ...sum,
          version: 0,
        })),
    )
    .onConflictDoUpdate({
      target: skus.skuId,
      set: {
        onHand: sql`${skus.onHand} + excluded.on_hand`,
        reserved: sql`${skus.reserved} + excluded.reserved`,
        sold: sql`${skus.sold} + excluded.sold`,
      },
    });
}
