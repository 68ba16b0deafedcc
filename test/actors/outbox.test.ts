import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Command } from "../../src/actors/outbox";
import { Outbox } from "../../src/actors/outbox";
import type { SkuActor } from "../../src/actors/sku-actor";
import type { Envelope } from "../../src/events/envelope";
import { envelope } from "../../src/events/envelope";
import { unique } from "../support/worker";

/** Runs `work` against the SQLite storage of a fresh, otherwise idle actor. */
function inFreshStorage<T>(work: (sql: SqlStorage) => Promise<T>): Promise<T> {
  return runInDurableObject(env.SKUS.getByName(unique("outbox-test")), (_: SkuActor, state) => work(state.storage.sql));
}

const event = (i: number) =>
  envelope("inventory.reserved", "sku", i, {
    skuId: "sku",
    refId: `o${i}`,
    reason: "t",
    kind: "reserve",
    quantity: 1,
    onHandDelta: 0,
    reservedDelta: 1,
    soldDelta: 0,
    counters: { onHand: 9, reserved: i, sold: 0 },
  });

describe("outbox relay", () => {
  it("relays events in batches of at most 100, in order, and keeps them until the queue accepts them", async () => {
    const result = await inFreshStorage(async (sql) => {
      const sent: Envelope[][] = [];
      let failNext = true;
      const outbox = new Outbox(sql, {
        sendEvents: async (_queue, events) => {
          if (failNext) {
            failNext = false;
            throw new Error("queue unavailable");
          }
          sent.push(events);
        },
        runCommand: async () => undefined,
      });
      for (let i = 1; i <= 250; i++) outbox.addEvent(event(i));
      await outbox.relay();
      const afterFailure = { pending: outbox.pendingCount(), retryAt: outbox.nextAttemptAt() ?? 0 };
      await outbox.relay(Date.now() + 10 * 60_000);
      return {
        afterFailure,
        batches: sent.map((b) => b.length),
        versions: sent.flat().map((e) => e.version),
        left: outbox.pendingCount(),
      };
    });
    expect(result.afterFailure.pending).toBe(250);
    expect(result.afterFailure.retryAt).toBeGreaterThan(Date.now());
    expect(result.batches).toEqual([100, 100, 50]);
    expect(result.versions).toEqual(Array.from({ length: 250 }, (_, i) => i + 1));
    expect(result.left).toBe(0);
  });

  it("runs commands per target in order: a failure holds back its target only", async () => {
    const log = await inFreshStorage(async (sql) => {
      const ran: string[] = [];
      let failA = true;
      const outbox = new Outbox(sql, {
        sendEvents: async () => undefined,
        runCommand: async (c: Command) => {
          if (c.target === "sku:a" && failA) {
            failA = false;
            throw new Error("busy");
          }
          ran.push(`${c.target}/${c.name}`);
        },
      });
      outbox.addCommand({ target: "sku:a", name: "commit", args: {} });
      outbox.addCommand({ target: "sku:b", name: "commit", args: {} });
      outbox.addCommand({ target: "sku:a", name: "restock", args: {} });
      await outbox.relay();
      const first = [...ran];
      await outbox.relay(Date.now() + 10 * 60_000);
      return { first, all: ran, left: outbox.pendingCount() };
    });
    expect(log.first).toEqual(["sku:b/commit"]);
    expect(log.all).toEqual(["sku:b/commit", "sku:a/commit", "sku:a/restock"]);
    expect(log.left).toBe(0);
  });

  it("sends a delivered row once, and deletes it with the actor's next write instead of a commit of its own", async () => {
    const result = await inFreshStorage(async (sql) => {
      const sent: number[] = [];
      const outbox = new Outbox(sql, {
        sendEvents: async (_queue, events) => {
          sent.push(...events.map((e) => e.version));
        },
        runCommand: async () => undefined,
      });
      const rows = () => sql.exec<{ n: number }>("SELECT count(*) AS n FROM outbox").one().n;
      for (let i = 1; i <= 3; i++) outbox.addEvent(event(i));
      await outbox.relay();
      const afterRelay = { pending: outbox.pendingCount(), stored: rows(), retryAt: outbox.nextAttemptAt() };
      outbox.addEvent(event(4));
      await outbox.relay(); // only the new row goes out
      const delivered = outbox.deliveredRows();
      outbox.deleteDelivered(delivered);
      outbox.forget(delivered);
      return { afterRelay, sent, stored: rows(), delivered: delivered.length, left: outbox.deliveredRows().length };
    });
    expect(result.afterRelay).toEqual({ pending: 0, stored: 3, retryAt: null });
    expect(result.sent).toEqual([1, 2, 3, 4]);
    expect(result.delivered).toBe(4);
    expect(result.stored).toBe(0);
    expect(result.left).toBe(0);
  });
});
