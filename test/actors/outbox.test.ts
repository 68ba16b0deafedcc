import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Command } from "../../src/actors/outbox";
import { Outbox } from "../../src/actors/outbox";
import type { SkuActor } from "../../src/actors/sku/sku-actor";
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

describe("sent events kept for a restart of the runtime (OUTBOX_KEEP_SENT_MS, the local runtime)", () => {
  const KEEP_MS = 60_000;
  const count = (sql: SqlStorage, table: string) =>
    sql.exec<{ n: number }>(`SELECT count(*) AS n FROM ${table}`).one().n;

  it("sends kept events again only when a later run starts the actor, never after a restart in the same run, and drops them after the window", async () => {
    const result = await inFreshStorage(async (sql) => {
      const sent: string[] = [];
      const sinks = {
        sendEvents: async (_queue: string, events: Envelope[]) => {
          sent.push(...events.map((e) => e.id));
        },
        runCommand: async () => undefined,
      };
      const sameRun = { keepSentMs: KEEP_MS, runStartedAt: 0 };
      const first = new Outbox(sql, sinks, undefined, sameRun);
      const events = [event(1), event(2), event(3)];
      for (const e of events) first.addEvent(e);
      first.addCommand({ target: "sku:a", name: "commit", args: {} });
      await first.relay();
      const delivered = first.deliveredRows();
      const keptAt = Date.now();
      first.deleteDelivered(delivered, keptAt); // the actor's next transaction
      first.forget(delivered);
      const afterDelete = {
        outbox: count(sql, "outbox"),
        kept: count(sql, "outbox_sent"),
        dueBefore: first.cleanupDue(keptAt + KEEP_MS - 1),
        dueAfter: first.cleanupDue(keptAt + KEEP_MS),
      };

      // Evicted and started again in the same run: its queue still has them.
      const evicted = new Outbox(sql, sinks, undefined, sameRun);
      const sameRunStart = { replayed: evicted.replayedOnStart, pending: evicted.pendingCount() };

      // Started by a later run of the runtime: the events (not the command) go out again, same ids.
      const restarted = new Outbox(sql, sinks, undefined, { keepSentMs: KEEP_MS, runStartedAt: Date.now() + 1 });
      const laterRunStart = { replayed: restarted.replayedOnStart, pending: restarted.pendingCount() };
      await restarted.relay();
      const again = restarted.deliveredRows();
      restarted.deleteDelivered(again);
      restarted.forget(again);
      const keptAgain = count(sql, "outbox_sent");

      // Once the window is over, the next transaction drops them.
      const later = Date.now() + KEEP_MS;
      const due = restarted.cleanupDue(later);
      restarted.deleteDelivered([], later);
      return {
        afterDelete,
        sameRunStart,
        laterRunStart,
        sent,
        ids: events.map((e) => e.id),
        keptAgain,
        due,
        end: { kept: count(sql, "outbox_sent"), due: restarted.cleanupDue(later + KEEP_MS) },
      };
    });
    expect(result.afterDelete).toEqual({ outbox: 0, kept: 3, dueBefore: false, dueAfter: true });
    expect(result.sameRunStart).toEqual({ replayed: false, pending: 0 });
    expect(result.laterRunStart).toEqual({ replayed: true, pending: 3 });
    expect(result.sent).toEqual([...result.ids, ...result.ids]);
    expect(result.keptAgain).toBe(3);
    expect(result.due).toBe(true);
    expect(result.end).toEqual({ kept: 0, due: false });
  });

  it("is off unless configured (Cloudflare): delivered rows are deleted, nothing is kept", async () => {
    const result = await inFreshStorage(async (sql) => {
      const outbox = new Outbox(sql, { sendEvents: async () => undefined, runCommand: async () => undefined });
      outbox.addEvent(event(1));
      await outbox.relay();
      const delivered = outbox.deliveredRows();
      outbox.deleteDelivered(delivered);
      outbox.forget(delivered);
      const kept = sql
        .exec<{ n: number }>("SELECT count(*) AS n FROM sqlite_master WHERE name = 'outbox_sent'")
        .one().n;
      return { outbox: count(sql, "outbox"), kept, due: outbox.cleanupDue(Date.now() + 3_600_000) };
    });
    expect(result).toEqual({ outbox: 0, kept: 0, due: false });
  });
});
