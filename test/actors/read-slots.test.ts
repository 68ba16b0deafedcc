import { describe, expect, it } from "vitest";
import { NoSlotError, ReadSlots } from "../../src/db/read-slots";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("Postgres read slots (one isolate's actors share a few connections)", () => {
  it("runs at most `max` reads at once and lets the rest through as slots free up", async () => {
    const slots = new ReadSlots(4);
    let running = 0;
    let peak = 0;
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        slots.run(5_000, async () => {
          peak = Math.max(peak, ++running);
          await sleep(20);
          running--;
          return i;
        }),
      ),
    );
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(peak).toBe(4);
  });

  it("refuses at once past the wait list, and after the wait when no slot frees", async () => {
    const slots = new ReadSlots(1, 2);
    const outcomes = await Promise.allSettled(Array.from({ length: 5 }, () => slots.run(100, () => sleep(400))));
    const refused = outcomes.filter((o) => o.status === "rejected").map((o) => (o as PromiseRejectedResult).reason);
    expect(outcomes[0]!.status).toBe("fulfilled");
    expect(refused).toHaveLength(4); // 2 past the wait list at once, 2 after waiting 100 ms
    expect(refused.every((e) => e instanceof NoSlotError)).toBe(true);
    expect(await slots.run(100, async () => "free again")).toBe("free again");
  });
});
