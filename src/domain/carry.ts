/**
 * The purchase limit across a change of a SKU's stripe count (docs/invariants.md 11).
 * Each buyer's limit is checked at their home stripe (stripes.ts); when the count changes,
 * most buyers get a new home that holds none of their units. So every stripe, in the same
 * transaction in which it learns the new count, reports to each other stripe the units it
 * holds for buyers whose new home that is ("carried" units), and a stripe grants nothing
 * under a purchase limit until it has the reports of every stripe that may hold units from
 * before the change. A reservation closed later at a stripe that is not its buyer's home
 * releases its carried units at the home. Reports are rebuilt from the reservations at each
 * change, never from earlier reports, so a change of a change needs nothing special.
 */
import { homeStripe } from "./stripes";

/** Which change of the stripe count the stripes are settling. */
export interface CarryGeneration {
  /** The SKU version at which `stripes` last changed (0: it never changed, nothing is carried). */
  generation: number;
  /** Stripes 0..sources-1 may hold reservations from before the change: every stripe there ever was then. */
  sources: number;
}

/** The generation of a SKU whose stripe count never changed. */
export const FIRST_GENERATION: CarryGeneration = { generation: 0, sources: 1 };

/** One open (held or committed) reservation, as counted at its buyer's home stripe. */
export interface CarriedUnits {
  reservationId: string;
  ownerId: string;
  units: number;
}

/** One stripe's report to another: the units it holds for buyers whose home the other is (in parts, each at least once). */
export interface CarryReport {
  generation: number;
  from: number;
  part: number;
  parts: number;
  units: CarriedUnits[];
}

/** A reservation closed at the stripe that holds it: its units no longer count at its buyer's home. */
export interface CarriedRelease {
  generation: number;
  reservationId: string;
  ownerId: string;
}

/** Reservations per report part: an outbox row and an RPC stay small whatever the SKU sold. */
export const CARRY_PART_UNITS = 500;

/**
 * The reports stripe `from` sends once it learns the change to `count` stripes: one or more
 * parts to every other active stripe, an empty one where it holds nothing, so the receiver
 * knows it heard everything. A stripe that did not exist before the change holds nothing.
 */
export function carryReports(
  open: readonly CarriedUnits[],
  from: number,
  count: number,
  g: CarryGeneration,
  partUnits = CARRY_PART_UNITS,
): { to: number; report: CarryReport }[] {
  if (g.generation === 0 || from >= g.sources) return [];
  const byHome = new Map<number, CarriedUnits[]>();
  for (const u of open) {
    const home = homeStripe(u.ownerId, count);
    if (home === from) continue;
    const units = byHome.get(home);
    if (units) units.push(u);
    else byHome.set(home, [u]);
  }
  const out: { to: number; report: CarryReport }[] = [];
  for (let to = 0; to < count; to++) {
    if (to === from) continue;
    const units = byHome.get(to) ?? [];
    const parts = Math.max(1, Math.ceil(units.length / partUnits));
    for (let part = 0; part < parts; part++) {
      const slice = units.slice(part * partUnits, (part + 1) * partUnits);
      out.push({ to, report: { generation: g.generation, from, part, parts, units: slice } });
    }
  }
  return out;
}

/** Parts of one sender's report that a stripe has: how many, out of how many. */
export interface PartsReceived {
  from: number;
  got: number;
  parts: number;
}

/** Whether stripe `self` has every report it waits for (a retired stripe is nobody's home and waits for none). */
export function reportsComplete(
  self: number,
  count: number,
  g: CarryGeneration,
  received: readonly PartsReceived[],
): boolean {
  if (g.generation === 0 || self >= count) return true;
  const byFrom = new Map(received.map((r) => [r.from, r]));
  for (let from = 0; from < g.sources; from++) {
    const r = byFrom.get(from);
    if (from !== self && (r === undefined || r.got < r.parts)) return false;
  }
  return true;
}

/**
 * The stripe that counts a reservation held at `self` as carried: its buyer's home, when
 * that is another stripe and the reservation was reported there (null: counted here only).
 */
export function carriedTo(ownerId: string, self: number, count: number, g: CarryGeneration): number | null {
  if (g.generation === 0 || self >= g.sources) return null;
  const home = homeStripe(ownerId, count);
  return home === self ? null : home;
}
