// Checks of a flash run shared by every target: the client's view, and a server's per-owner
// records against the limit and against the 201s the client got.
import { check, type Check } from "../config.ts";

export interface FlashRun {
  skuId: string;
  units: number;
  limit: number;
  /** Every 201's order id, and units per owner (`user:{id}`) from the 201s. */
  orderIds: string[];
  unitsByOwner: Map<string, number>;
  /** performance.now() when the last answer came in. */
  endedAt: number;
}

export interface FlashVerdict {
  checks: Check[];
  /** Units the server holds as taken (reserved + sold, or its order rows); null: not applicable. */
  unitsTaken: number | null;
  /** Orders of the run found in Postgres (null: this target does not write Postgres). */
  ordersInPostgres: number | null;
  /** Seconds after the last answer until the last order was in Postgres. */
  lastOrderSeconds: number | null;
}

export function ownerChecks(serverUnits: Map<string, number>, run: FlashRun, source: string): Check[] {
  let above = 0;
  let max = 0;
  let mismatched = 0;
  for (const [owner, units] of serverUnits) {
    max = Math.max(max, units);
    if (units > run.limit) above++;
    if ((run.unitsByOwner.get(owner) ?? 0) !== units) mismatched++;
  }
  for (const owner of run.unitsByOwner.keys()) if (!serverUnits.has(owner)) mismatched++;
  return [
    check(
      `no buyer above the limit (${source})`,
      above === 0,
      `${above} above, max ${max} per buyer over ${serverUnits.size} buyers`,
    ),
    check(`per-buyer units match the 201s (${source})`, mismatched === 0, `${mismatched} buyers differ`),
  ];
}

/** A server's own per-buyer count (`counted`) against what its orders add up to. */
export function countsAgree(
  source: string,
  counted: Map<string, number>,
  fromOrders: Map<string, number>,
  detail: string,
): Check {
  const same = counted.size === fromOrders.size && [...counted].every(([o, u]) => fromOrders.get(o) === u);
  return check(`${source} agrees with orders`, same, detail);
}

export function sameIds(serverIds: string[], run: FlashRun): boolean {
  if (serverIds.length !== run.orderIds.length) return false;
  const a = [...serverIds].sort();
  const b = [...run.orderIds].sort();
  return a.every((id, i) => id === b[i]);
}

export function unitsPerOwner(rows: { owner: string; quantity: number }[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of rows) out.set(r.owner, (out.get(r.owner) ?? 0) + r.quantity);
  return out;
}
