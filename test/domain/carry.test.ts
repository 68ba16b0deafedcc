import { describe, expect, it } from "vitest";
import type { CarriedUnits } from "../../src/domain/carry";
import { carriedTo, carryReports, FIRST_GENERATION, reportsComplete } from "../../src/domain/carry";
import { homeStripe } from "../../src/domain/stripes";

/** An owner id whose home under `count` stripes is `home` (ids are hashed, so we look for one). */
function ownerHomed(home: number, count: number, avoid: string[] = []): string {
  for (let i = 0; ; i++) {
    const id = `user:${home}-${count}-${i}`;
    if (homeStripe(id, count) === home && !avoid.includes(id)) return id;
  }
}

const held = (ownerId: string, reservationId: string, units = 1): CarriedUnits => ({ reservationId, ownerId, units });

describe("carried units across a change of the stripe count", () => {
  const change = { generation: 7, sources: 2 };

  it("a stripe reports to every other active stripe the units of buyers whose home that is, an empty report where none", () => {
    const toTwo = ownerHomed(2, 4);
    const staysHere = ownerHomed(1, 4);
    const open = [held(toTwo, "a", 2), held(staysHere, "b"), held(toTwo, "c")];
    const reports = carryReports(open, 1, 4, change);
    expect(reports.map((r) => r.to)).toEqual([0, 2, 3]);
    expect(reports.find((r) => r.to === 2)!.report).toEqual({
      generation: 7,
      from: 1,
      part: 0,
      parts: 1,
      units: [held(toTwo, "a", 2), held(toTwo, "c")],
    });
    expect(reports.filter((r) => r.to !== 2).every((r) => r.report.units.length === 0 && r.report.parts === 1)).toBe(
      true,
    );
  });

  it("a large report goes in parts, each part at most the part size", () => {
    const owner = ownerHomed(0, 2);
    const open = Array.from({ length: 5 }, (_, i) => held(owner, `r${i}`));
    const reports = carryReports(open, 1, 2, change, 2);
    expect(reports.map((r) => [r.report.part, r.report.parts, r.report.units.length])).toEqual([
      [0, 3, 2],
      [1, 3, 2],
      [2, 3, 1],
    ]);
  });

  it("a retired stripe reports its open units to the active ones", () => {
    const owner = ownerHomed(0, 1);
    expect(carryReports([held(owner, "a")], 3, 1, { generation: 7, sources: 4 })).toEqual([
      { to: 0, report: { generation: 7, from: 3, part: 0, parts: 1, units: [held(owner, "a")] } },
    ]);
  });

  it("a stripe new with the change, or a SKU never re-striped, sends no report", () => {
    const owner = ownerHomed(0, 1);
    expect(carryReports([], 2, 4, change)).toEqual([]);
    expect(carryReports([held(owner, "a")], 0, 4, FIRST_GENERATION)).toEqual([]);
  });

  it("a stripe has every report once each stripe that may hold units, but itself, sent all its parts", () => {
    expect(reportsComplete(1, 4, change, [])).toBe(false);
    expect(reportsComplete(1, 4, change, [{ from: 0, got: 1, parts: 1 }])).toBe(true);
    expect(reportsComplete(3, 4, change, [{ from: 0, got: 1, parts: 1 }])).toBe(false);
    expect(
      reportsComplete(3, 4, change, [
        { from: 0, got: 1, parts: 1 },
        { from: 1, got: 1, parts: 2 },
      ]),
    ).toBe(false);
    expect(
      reportsComplete(3, 4, change, [
        { from: 0, got: 1, parts: 1 },
        { from: 1, got: 2, parts: 2 },
      ]),
    ).toBe(true);
    // A retired stripe is nobody's home; a SKU never re-striped carries nothing.
    expect(reportsComplete(5, 4, { generation: 7, sources: 8 }, [])).toBe(true);
    expect(reportsComplete(0, 4, FIRST_GENERATION, [])).toBe(true);
  });

  it("a reservation closed away from its buyer's home is released there, and only then", () => {
    const away = ownerHomed(3, 4);
    const here = ownerHomed(1, 4);
    expect(carriedTo(away, 1, 4, change)).toBe(3);
    expect(carriedTo(here, 1, 4, change)).toBeNull();
    // A stripe new with the change only ever granted its own buyers; before any change nothing was carried.
    expect(carriedTo(away, 2, 4, change)).toBeNull();
    expect(carriedTo(away, 1, 4, FIRST_GENERATION)).toBeNull();
  });
});
