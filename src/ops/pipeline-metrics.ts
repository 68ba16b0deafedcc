/**
 * The event pipeline's data points: what an actor's outbox relayed, what the consumer did with a
 * batch, and the stock movements it landed (reservations made, committed, released, expired).
 */
import type { Envelope, InventoryMovementData } from "../events/envelope";
import { record } from "./metrics";

/** The actor kind an event comes from, by its type's family. */
export function actorKindOf(type: string): "cart" | "sku" | "order" {
  if (type.startsWith("cart.")) return "cart";
  if (type.startsWith("sku.") || type.startsWith("inventory.")) return "sku";
  return "order";
}

/** An outbox relay sent `events`: per actor kind, how many at once (depth) and how old the oldest was (lag). */
export function recordRelay(env: Env, events: readonly Envelope[], now = Date.now()): void {
  const oldest = new Map<string, { n: number; at: number }>();
  for (const e of events) {
    const kind = actorKindOf(e.type);
    const at = Date.parse(e.occurredAt);
    const seen = oldest.get(kind);
    if (!seen) oldest.set(kind, { n: 1, at });
    else {
      seen.n += 1;
      if (at < seen.at) seen.at = at;
    }
  }
  for (const [kind, { n, at }] of oldest)
    record(env, { metric: "outbox", dim1: kind, value: Math.max(0, now - at), max: n, count: 1 });
}

/** What a reservation movement is, for the metrics; null for a restock. */
function reservationOutcome(type: string, data: InventoryMovementData): string | null {
  if (type === "inventory.reserved") return "made";
  if (type === "inventory.committed") return "committed";
  if (type === "inventory.released") return /expir/i.test(data.reason) ? "expired" : "released";
  return null;
}

/** The consumer landed `events` from `queue`: lag to landing, and the reservations among them (summed per SKU and outcome). */
export function recordLanded(env: Env, queue: string, events: readonly Envelope[], now = Date.now()): void {
  if (events.length === 0) return;
  let newest = 0;
  let lagTotal = 0;
  const units = new Map<string, { outcome: string; skuId: string; n: number; events: number }>();
  for (const e of events) {
    const at = Date.parse(e.occurredAt);
    newest = Math.max(newest, at);
    lagTotal += Math.max(0, now - at);
    if (!e.type.startsWith("inventory.")) continue;
    const data = e.data as InventoryMovementData;
    const outcome = reservationOutcome(e.type, data);
    if (!outcome) continue;
    const key = `${outcome}\u0001${data.skuId}`;
    const seen = units.get(key);
    if (seen) {
      seen.n += data.quantity;
      seen.events += 1;
    } else units.set(key, { outcome, skuId: data.skuId, n: data.quantity, events: 1 });
  }
  record(env, { metric: "landed", dim1: queue, value: lagTotal, count: events.length, max: newest });
  for (const { outcome, skuId, n, events: count } of units.values())
    record(env, { metric: "reservation", dim1: outcome, dim2: skuId, value: n, count });
}

/** One consumer batch: its size (count), duration and outcome (ok, retried, dead_letter). */
export function recordBatch(env: Env, queue: string, outcome: string, messages: number, ms: number): void {
  if (messages > 0) record(env, { metric: "consumer", dim1: queue, dim2: outcome, value: ms, count: messages });
}
