// The actors' injected clock (src/actors/clock.ts): a test or development environment may move an
// actor's time with advanceClock; any other environment refuses, and never reads a stored offset.
// The workers project runs with ENVIRONMENT "test" (vitest.config.ts), so the production-like
// actor here is the real actor class built over the real actor's storage with the environment
// changed, and nothing else.
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { readClockOffset } from "../../src/actors/clock";
import { OrderActor } from "../../src/actors/order/order-actor";
import { unique } from "../support/worker";

/** The actor's time as its modules read it (`host.now()`). */
const actorNow = (actor: OrderActor) => (actor as unknown as { now(): number }).now();

describe("actor clock", () => {
  it("advanceClock is refused outside test and development, and leaves the stored clock as it was", async () => {
    const stub = env.ORDERS.getByName(unique("clock-refused"));
    await runInDurableObject(stub, async (_: OrderActor, state) => {
      for (const ENVIRONMENT of ["production", "staging", ""]) {
        const actor = new OrderActor(state, { ...env, ENVIRONMENT });
        await expect(actor.advanceClock(60_000), ENVIRONMENT).rejects.toThrow(
          "an actor's clock can be moved only in a test or development environment",
        );
      }
      expect(readClockOffset(state.storage.sql)).toBe(0);
    });
    // The same actor in the test environment moves: the refusal above is the environment's doing.
    expect(await stub.advanceClock(60_000)).toBe(60_000);
  });

  it("a production actor ignores an offset a test left in its storage", async () => {
    const stub = env.ORDERS.getByName(unique("clock-ignored"));
    expect(await stub.advanceClock(3_600_000)).toBe(3_600_000);
    await runInDurableObject(stub, async (testActor: OrderActor, state) => {
      expect(actorNow(testActor) - Date.now()).toBeGreaterThanOrEqual(3_600_000 - 1_000);
      const production = new OrderActor(state, { ...env, ENVIRONMENT: "production" });
      expect(Math.abs(actorNow(production) - Date.now())).toBeLessThan(1_000);
    });
  });
});
