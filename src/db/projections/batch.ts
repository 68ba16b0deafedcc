/**
 * The consumer's entry to Postgres: a batch of events applied exactly once
 * each (ids claimed in processed_events in the same transaction), grouped by
 * family and handed to that family's projection (skus, carts, orders).
 */
import type { CartAlertType, CartChangeData, Envelope, PaymentRecordedData } from "../../events/envelope";
import { isCartAlert } from "../../events/envelope";
import type { SkuAdminView } from "../../domain/catalog";
import type { Order } from "../../domain/order";
import type { Promotion } from "../../domain/promotions";
import { processedEvents } from "../tables";
import { applyCartChange, recordCartAlert } from "./carts";
import { recordPayments, upsertOrders } from "./orders";
import { recordRedemptions, upsertPromotions } from "./promotions";
import { recordMovements, upsertSkus } from "./skus";
import type { ProjectionSettings, Writer } from "./writer";
import { byKey, latestBy } from "./writer";

export type { ProjectionSettings, Writer } from "./writer";

/** The order families are written in: every batch takes its locks table by table in this order. */
const FAMILIES = ["sku", "inventory", "promotion", "cart", "order", "payment", "ops"];
const familyRank = (family: string) => (FAMILIES.includes(family) ? FAMILIES.indexOf(family) : FAMILIES.length);
/** The payloads of a family's events, as that family's projection takes them. */
const dataOf = <T>(events: Envelope[]): T[] => events.map((e) => e.data as T);

/**
 * Applies one event exactly once: the event id is claimed in
 * processed_events in the same transaction as the writes, so a duplicate
 * delivery (or a retry after a crash before the ack) writes nothing.
 * Returns false for a duplicate.
 */
export async function applyEvent(tx: Writer, event: Envelope, settings: ProjectionSettings): Promise<boolean> {
  return (await applyEvents(tx, [event], settings)) === 1;
}

/**
 * Applies a batch of events exactly once each, in a handful of statements
 * rather than a handful per event: the batch's event ids are claimed in
 * processed_events in one insert (duplicates write nothing), then each kind
 * of projection is written with one multi-row statement. Counters add up the
 * movements, and catalog, order and cart rows are versioned, so the result is
 * the same as applying the events one by one in any order. Cart changes are
 * applied one by one (each may tombstone the lines it does not list). Returns
 * how many events were new.
 */
export async function applyEvents(tx: Writer, events: Envelope[], settings: ProjectionSettings): Promise<number> {
  const unique = latestBy(
    events,
    (e) => e.id,
    () => 0,
  );
  if (unique.length === 0) return 0;
  const claimed = await tx
    .insert(processedEvents)
    .values(unique.map((e) => ({ eventId: e.id, type: e.type })))
    .onConflictDoNothing()
    .returning({ id: processedEvents.eventId });
  const fresh = new Set(claimed.map((row) => row.id));
  const families = new Map<string, Envelope[]>();
  for (const e of unique) {
    if (!fresh.has(e.id)) continue;
    const family = e.type.slice(0, e.type.indexOf("."));
    const list = families.get(family);
    if (list) list.push(e);
    else families.set(family, [e]);
  }
  // Families in one fixed order, so two batches lock tables (not only rows) in the same order.
  const ordered = [...families].sort(([a], [b]) => familyRank(a) - familyRank(b));
  for (const [family, batch] of ordered) {
    switch (family) {
      case "sku":
        await upsertSkus(tx, dataOf<SkuAdminView>(batch));
        break;
      case "inventory":
        await recordMovements(tx, batch as Envelope<"inventory.reserved">[]);
        break;
      case "cart":
        // Cart by cart in key order (no deadlock with a concurrent batch), each cart's changes in version order.
        batch.sort(
          (a, b) =>
            byKey((a.data as CartChangeData).cartKey, (b.data as CartChangeData).cartKey) || a.version - b.version,
        );
        for (const e of batch) {
          if (isCartAlert(e.type)) await recordCartAlert(tx, e as Envelope<CartAlertType>);
          else await applyCartChange(tx, e as Envelope<"cart.item_added">, settings);
        }
        break;
      case "order":
        await upsertOrders(tx, dataOf<Order>(batch));
        break;
      case "payment":
        await recordPayments(tx, dataOf<PaymentRecordedData>(batch));
        break;
      case "promotion": {
        const definitions = batch.filter((e) => e.type === "promotion.updated");
        if (definitions.length > 0) await upsertPromotions(tx, dataOf<Promotion>(definitions));
        const redemptions = batch.filter((e) => e.type !== "promotion.updated");
        if (redemptions.length > 0)
          await recordRedemptions(tx, redemptions as Envelope<"promotion.redeemed" | "promotion.released">[]);
        break;
      }
      case "ops":
        // Alerts and heartbeats write nothing but their claim in processed_events (a heartbeat's
        // landing is that claim, src/ops/queue-lag.ts); the queue is where a subscriber hooks in.
        break;
      default:
        throw new Error(`no projection for ${batch[0]!.type}`);
    }
  }
  return fresh.size;
}
