// docs/invariants.md 4 and 10 on the consumer's failure paths: a promotion budget ledger's
// movements land in inventory_audit (and in its counters) exactly once, even when their batch
// fails after writing them and falls back to one transaction per message, and when the queue
// delivers the same messages again (after the fallback, or after a batch that committed).
import { env } from "cloudflare:workers";
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it, vi } from "vitest";
import { consumeBatch } from "../../src/consumer";
import { inventoryAudit, skus } from "../../src/db/tables";
import { budgetLedgerId } from "../../src/domain/promotions";
import type { Envelope, InventoryMovementData } from "../../src/events/envelope";
import { envelope } from "../../src/events/envelope";
import { auditSums, db, installFlakySkuTrigger, unique } from "../support/worker";

type Movement = Envelope<"inventory.reserved">;

const DELTAS = {
  reserve: { type: "inventory.reserved", onHandDelta: 0, reservedDelta: 1, soldDelta: 0 },
  commit: { type: "inventory.committed", onHandDelta: -1, reservedDelta: -1, soldDelta: 1 },
  release: { type: "inventory.released", onHandDelta: 0, reservedDelta: -1, soldDelta: 0 },
} as const;

function movement(skuId: string, version: number, kind: keyof typeof DELTAS, refId: string): Movement {
  const { type, ...deltas } = DELTAS[kind];
  const data: InventoryMovementData = {
    skuId,
    refId,
    reason: "order",
    kind,
    quantity: 1,
    ...deltas,
    counters: { onHand: 0, reserved: 0, sold: 0 },
  };
  return envelope(type, skuId, version, data) as Movement;
}

/** A ledger's rush in small: five reservations, two paid, one released. */
function rush(ledger: string): Movement[] {
  const refs = Array.from({ length: 5 }, (_, i) => `res_${i}_${crypto.randomUUID().slice(0, 8)}`);
  return [
    ...refs.map((ref, i) => movement(ledger, i + 1, "reserve", ref)),
    movement(ledger, 6, "commit", refs[0]!),
    movement(ledger, 7, "commit", refs[1]!),
    movement(ledger, 8, "release", refs[2]!),
  ];
}

function once(events: Movement[]): { onHand: number; reserved: number; sold: number } {
  const sum = { onHand: 0, reserved: 0, sold: 0 };
  for (const { data } of events) {
    sum.onHand += data.onHandDelta;
    sum.reserved += data.reservedDelta;
    sum.sold += data.soldDelta;
  }
  return sum;
}

async function deliver(bodies: unknown[], attempts = 1) {
  const batch = createMessageBatch(
    "order-events",
    bodies.map((body, i) => ({ id: `msg-${i}-${crypto.randomUUID()}`, timestamp: new Date(), attempts, body })),
  );
  const ctx = createExecutionContext();
  await consumeBatch(batch as MessageBatch, env);
  return { batch, result: await getQueueResult(batch, ctx) };
}

/** The ledger's audit rows and counters in Postgres hold each movement once: no row twice, no delta twice. */
async function expectAppliedOnce(ledger: string, events: Movement[]): Promise<void> {
  const rows = await db((d) => d.select().from(inventoryAudit).where(eq(inventoryAudit.skuId, ledger)));
  expect(rows.map((r) => r.eventId).sort()).toEqual(events.map((e) => e.id).sort());
  expect(await auditSums(ledger)).toEqual(once(events));
  const [counters] = await db((d) =>
    d
      .select({ onHand: skus.onHand, reserved: skus.reserved, sold: skus.sold })
      .from(skus)
      .where(eq(skus.skuId, ledger)),
  );
  expect(counters).toEqual(once(events));
}

/** Runs `work` and answers how many times the consumer fell back to one transaction per message. */
async function fallbacks(work: () => Promise<unknown>): Promise<number> {
  const warn = vi.spyOn(console, "warn");
  try {
    await work();
    return warn.mock.calls.filter((args) => String(args[0]).includes("applying one by one")).length;
  } finally {
    warn.mockRestore();
  }
}

describe("a budget ledger's movements on the consumer's failure paths", () => {
  it("counts them once when their batch fails after writing them, falls back one by one, and is delivered again", async () => {
    await installFlakySkuTrigger();
    const ledger = budgetLedgerId(unique("promo"));
    const events = rush(ledger);
    // The flaky SKU's movement is written in the same audit statement as the ledger's; its counter
    // upsert then fails (a deadlock), so the batch's transaction fails after the ledger's rows.
    const flaky = movement(unique("flaky"), 1, "reserve", "res_flaky");
    // Two events of the same ledger next to each other, and one message twice in the batch.
    const bodies = [...events.slice(0, 6), flaky, ...events.slice(6), events[0]!];

    let first: Awaited<ReturnType<typeof deliver>> | undefined;
    expect(
      await fallbacks(async () => {
        first = await deliver(bodies);
      }),
    ).toBe(1);
    const ids = first!.batch.messages.map((m) => m.id);
    expect(first!.result.retryMessages.map((m) => m.msgId)).toEqual([ids[6]]);
    expect(first!.result.explicitAcks.sort()).toEqual(ids.filter((_, i) => i !== 6).sort());
    await expectAppliedOnce(ledger, events);

    // The queue delivers the whole batch again (an ack lost with the isolate): the fallback runs
    // again over events already applied.
    expect(await fallbacks(() => deliver(bodies, 2))).toBe(1);
    await expectAppliedOnce(ledger, events);

    // And once more, one message per batch and in reverse order (the retries spread out).
    for (const body of [...events].reverse()) await deliver([body], 3);
    await expectAppliedOnce(ledger, events);
  });

  it("counts them once when a batch that committed is delivered again and that delivery falls back one by one", async () => {
    await installFlakySkuTrigger();
    const ledger = budgetLedgerId(unique("promo"));
    const events = rush(ledger);
    expect(await fallbacks(() => deliver(events))).toBe(0);
    await expectAppliedOnce(ledger, events);

    const flaky = movement(unique("flaky"), 1, "reserve", "res_flaky");
    expect(await fallbacks(() => deliver([flaky, ...events, ...events], 2))).toBe(1);
    await expectAppliedOnce(ledger, events);
  });
});
