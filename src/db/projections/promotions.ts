/**
 * Promotion projections: each definition (newest version wins) and each
 * order's redemption of a promotion (its latest state by the order's version).
 */
import { sql } from "drizzle-orm";
import type { Promotion } from "../../domain/promotions";
import type { Envelope } from "../../events/envelope";
import { promotionRedemptions, promotions } from "../tables";
import type { Writer } from "./writer";
import { excludedColumns, latestBy, latestVersions } from "./writer";

export async function upsertPromotions(tx: Writer, definitions: Promotion[]): Promise<void> {
  await tx
    .insert(promotions)
    .values(
      latestVersions(definitions, (p) => p.promotionId).map((p) => ({ ...p, get: p.get, appliesTo: p.appliesTo })),
    )
    .onConflictDoUpdate({
      target: promotions.promotionId,
      set: excludedColumns(promotions, ["promotionId"]),
      setWhere: sql`${promotions.version} < excluded.version`,
    });
}

export async function recordRedemptions(
  tx: Writer,
  events: Envelope<"promotion.redeemed" | "promotion.released">[],
): Promise<void> {
  await tx
    .insert(promotionRedemptions)
    .values(
      latestBy(
        events,
        (e) => `${e.data.promotionId}\n${e.data.orderId}`,
        (e) => e.data.orderVersion,
      ).map((e) => ({
        promotionId: e.data.promotionId,
        orderId: e.data.orderId,
        code: e.data.code,
        customerId: e.data.customerId,
        amount: e.data.amount,
        currency: e.data.currency,
        status: e.type === "promotion.redeemed" ? "redeemed" : "released",
        orderVersion: e.data.orderVersion,
        updatedAt: e.occurredAt,
      })),
    )
    .onConflictDoUpdate({
      target: [promotionRedemptions.promotionId, promotionRedemptions.orderId],
      set: excludedColumns(promotionRedemptions, ["promotionId", "orderId"]),
      setWhere: sql`${promotionRedemptions.orderVersion} < excluded.order_version`,
    });
}
