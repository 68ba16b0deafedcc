import { describe, expect, it } from "vitest";
import { BatchedReads } from "../../src/db/batched-reads";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("batched Postgres reads (a burst of new carts asking for a lost copy)", () => {
  it("answers hundreds of callers with a few queries, at most two at a time, each with its own row", async () => {
    const batches: number[] = [];
    let running = 0;
    let peak = 0;
    const reads = new BatchedReads<string>(async (keys) => {
      peak = Math.max(peak, ++running);
      batches.push(keys.length);
      await sleep(30);
      running--;
      return new Map(keys.filter((k) => Number(k.slice(5)) % 2 === 0).map((k) => [k, `row of ${k}`]));
    });
    const keys = Array.from({ length: 300 }, (_, i) => `cart-${i}`);
    const answers = await Promise.all(keys.map((k) => reads.load(k, 5_000)));
    expect(answers).toEqual(keys.map((k, i) => (i % 2 === 0 ? `row of ${k}` : null)));
    expect(batches.reduce((a, b) => a + b, 0)).toBe(300);
    expect(batches.length).toBeLessThanOrEqual(6);
    expect(peak).toBeLessThanOrEqual(2);
  });

  it("fails every caller of a failed batch with its reason, and a hung one at each caller's deadline", async () => {
    const failing = new BatchedReads<string>(async () => {
      throw new Error("connection refused");
    });
    const failed = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => failing.load(`k${i}`, 1_000)));
    expect(failed.every((o) => o.status === "rejected" && /connection refused/.test(String(o.reason)))).toBe(true);

    const hung = new BatchedReads<string>(() => new Promise(() => {}));
    const t0 = Date.now();
    const late = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => hung.load(`k${i}`, 200)));
    expect(late.every((o) => o.status === "rejected")).toBe(true);
    expect(Date.now() - t0).toBeLessThan(1_000);
  });
});
