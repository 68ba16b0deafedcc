// The cron triggers `npm start` fires itself (dev/cron.ts): Cloudflare's syntax, in UTC.
import { describe, expect, it, vi } from "vitest";
import { parseCron, scheduleCrons } from "../../dev/cron.ts";

const at = (iso: string) => new Date(iso);

describe("parseCron", () => {
  it("matches every minute, the top of the hour, steps, ranges and lists", () => {
    expect(parseCron("* * * * *").matches(at("2026-11-22T03:17:00Z"))).toBe(true);
    expect(parseCron("0 * * * *").matches(at("2026-11-22T03:00:00Z"))).toBe(true);
    expect(parseCron("0 * * * *").matches(at("2026-11-22T03:01:00Z"))).toBe(false);
    expect(parseCron("*/15 * * * *").matches(at("2026-11-22T03:45:00Z"))).toBe(true);
    expect(parseCron("*/15 * * * *").matches(at("2026-11-22T03:46:00Z"))).toBe(false);
    expect(parseCron("5/20 9-17 * * *").matches(at("2026-11-22T09:25:00Z"))).toBe(true);
    expect(parseCron("0 1,13 * JAN,nov *").matches(at("2026-11-22T13:00:00Z"))).toBe(true);
  });

  it("numbers weekdays 1-7 from Sunday, knows names, L and #", () => {
    // 2026-11-22 is a Sunday; 2026-11-26 the last Thursday of November; 2026-11-02 the first Monday.
    expect(parseCron("0 17 * * 1").matches(at("2026-11-22T17:00:00Z"))).toBe(true);
    expect(parseCron("0 17 * * sun").matches(at("2026-11-22T17:00:00Z"))).toBe(true);
    expect(parseCron("10 7 * * mon-fri").matches(at("2026-11-22T07:10:00Z"))).toBe(false);
    expect(parseCron("0 18 * * 5L").matches(at("2026-11-26T18:00:00Z"))).toBe(true);
    expect(parseCron("0 18 * * 5L").matches(at("2026-11-19T18:00:00Z"))).toBe(false);
    expect(parseCron("0 10 * * MON#1").matches(at("2026-11-02T10:00:00Z"))).toBe(true);
    expect(parseCron("0 0 L * *").matches(at("2026-11-30T00:00:00Z"))).toBe(true);
    // 2026-11-15 is a Sunday: the weekday nearest it is Monday the 16th.
    expect(parseCron("0 0 15W * *").matches(at("2026-11-16T00:00:00Z"))).toBe(true);
    expect(parseCron("0 0 15W * *").matches(at("2026-11-15T00:00:00Z"))).toBe(false);
  });

  it("refuses what it cannot run", () => {
    expect(() => parseCron("* * * *")).toThrow(/5 fields/);
    expect(() => parseCron("61 * * * *")).toThrow(/minute: 61/);
    // Cloudflare numbers weekdays 1-7: 0 and 8 are refused, not read as Sunday.
    expect(() => parseCron("0 0 * * 8")).toThrow(/weekday 8 is not in 1-7/);
    expect(() => parseCron("0 0 * * 0")).toThrow(/weekday 0 is not in 1-7/);
  });
});

describe("scheduleCrons", () => {
  it("dispatches each matching trigger once per minute, at the minute", () => {
    vi.useFakeTimers({ now: at("2026-11-22T03:59:30Z") });
    const fired: string[] = [];
    const stop = scheduleCrons(["0 * * * *", "* * * * *"], (cron, t) => fired.push(`${cron}@${t.toISOString()}`));
    vi.advanceTimersByTime(29_000);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(61_000);
    expect(fired).toEqual([
      "0 * * * *@2026-11-22T04:00:00.000Z",
      "* * * * *@2026-11-22T04:00:00.000Z",
      "* * * * *@2026-11-22T04:01:00.000Z",
    ]);
    stop();
    vi.useRealTimers();
  });
});
