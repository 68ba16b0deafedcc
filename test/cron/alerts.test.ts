// Alert hooks (src/ops/alerts.ts) on the real stack: each condition is forced for real (one
// inventory_audit row corrupted, one poisoned event, the consumer's writes held by a lock), the
// alert fires once (one ops.alert on the queue, one error line) and clears once.
import { env } from "cloudflare:workers";
import { eq, sql } from "drizzle-orm";
import { afterEach, describe, expect, it, vi } from "vitest";
import { reconcileInventory } from "../../src/cron/reconcile";
import { inventoryAudit, processedEvents } from "../../src/db/tables";
import { envelope } from "../../src/events/envelope";
import type { AlertChange, Thresholds } from "../../src/ops/alerts";
import { checkAlerts, thresholdsOf } from "../../src/ops/alerts";
import { openDeadLetters } from "../../src/ops/dead-letters";
import { queueLag } from "../../src/ops/queue-lag";
import { openDrift } from "../../src/db/reconciliations";
import { pendingOrder } from "../support/orders";
import { ADMIN, api, auditBalances, db, eventually, putSku, unique } from "../support/worker";

const MINUTE = 60_000;

/** Other test files share this database: a condition is judged against what was there before this test. */
async function baseline(): Promise<Thresholds> {
  const [drift, letters] = await db((d) => Promise.all([openDrift(d), openDeadLetters(d)]));
  return { ...thresholdsOf(env), drift, deadLetters: letters };
}

const about = (changes: AlertChange[], condition: AlertChange["condition"]) =>
  changes.filter((c) => c.condition === condition).map((c) => c.state);

/** The ops.alert events the consumer landed for this condition and run time. */
const alertLanded = (condition: string, state: string, at: number) =>
  eventually(
    async () =>
      (
        await db((d) =>
          d
            .select()
            .from(processedEvents)
            .where(eq(processedEvents.eventId, `alert:${condition}:${state}:${at}`)),
        )
      )[0],
    30_000,
    `ops.alert ${condition} ${state} landed`,
  );

describe("alert hooks", () => {
  afterEach(() => vi.restoreAllMocks());

  it("fires the drift alert once for a corrupted audit row, until the reconciliation repairs it", async () => {
    const sku = await putSku(unique("drift"), { stock: 7 });
    await eventually(() => auditBalances(sku), 30_000, "audit landed");
    const limits = await baseline();
    const t = Date.now();
    await checkAlerts(env, t, limits);
    const errors = vi.spyOn(console, "error");

    const [row] = await db((d) => d.select().from(inventoryAudit).where(eq(inventoryAudit.skuId, sku)));
    await db((d) =>
      d
        .update(inventoryAudit)
        .set({ onHandDelta: sql`${inventoryAudit.onHandDelta} + 3` })
        .where(eq(inventoryAudit.id, row!.id)),
    );
    expect((await reconcileInventory(env)).drifting.map((d) => d.skuId)).toContain(sku);

    expect(about(await checkAlerts(env, t + 1, limits), "drift")).toEqual(["firing"]);
    expect(about(await checkAlerts(env, t + 2, limits), "drift")).toEqual([]);
    expect(errors.mock.calls.filter(([line]) => /ALERT drift/.test(String(line)))).toHaveLength(1);
    await alertLanded("drift", "firing", t + 1);

    // The next run sees the same drift on an unchanged actor and repairs the audit from it.
    const again = await reconcileInventory(env);
    expect(again.drifting.find((d) => d.skuId === sku)?.repaired).toBe(true);
    expect(about(await checkAlerts(env, t + 3, limits), "drift")).toEqual(["cleared"]);
    expect(about(await checkAlerts(env, t + 4, limits), "drift")).toEqual([]);
    await alertLanded("drift", "cleared", t + 3);
    expect(await auditBalances(sku)).toBe(true);
  });

  it("fires the dead-letter alert once for a poisoned event, until it is discarded", async () => {
    const limits = await baseline();
    const t = Date.now();
    await checkAlerts(env, t, limits);
    const errors = vi.spyOn(console, "error");

    const orderId = `ord_${crypto.randomUUID().replaceAll("-", "")}`;
    const base = pendingOrder({ orderId });
    const poisoned = envelope("order.created", orderId, 1, {
      ...base,
      items: [{ ...base.items[0]!, name: "NUL\u0000" }],
    });
    await env.ORDER_EVENTS.send(poisoned, { contentType: "json" });
    const letter = await eventually(
      async () =>
        (await api("/v1/admin/dead-letters", { headers: ADMIN })).body.deadLetters.find(
          (l: { eventId: string }) => l.eventId === poisoned.id,
        ),
      30_000,
      "dead letter",
    );

    expect(about(await checkAlerts(env, t + 1, limits), "dead_letters")).toEqual(["firing"]);
    expect(about(await checkAlerts(env, t + 2, limits), "dead_letters")).toEqual([]);
    expect(errors.mock.calls.filter(([line]) => /ALERT dead_letters/.test(String(line)))).toHaveLength(1);
    await alertLanded("dead_letters", "firing", t + 1);

    const discarded = await api(`/v1/admin/dead-letters/${encodeURIComponent(letter.id)}/discard`, {
      method: "POST",
      headers: ADMIN,
    });
    expect(discarded.status).toBe(200);
    expect(about(await checkAlerts(env, t + 3, limits), "dead_letters")).toEqual(["cleared"]);
    await alertLanded("dead_letters", "cleared", t + 3);
  });

  it("fires the queue-lag alert once while the consumer's writes are held by a lock, until they land", async () => {
    const limits = { ...(await baseline()), queueLagMs: 2 * MINUTE };
    const t = Date.now();
    const errors = vi.spyOn(console, "error");
    let changes: AlertChange[][] = [];
    // The consumer claims every event in processed_events: a lock that lets reads through but no
    // write holds every batch, heartbeats included, as a stuck consumer or Postgres would.
    await db((d) =>
      d.transaction(async (tx) => {
        await tx.execute(sql`lock table processed_events in share row exclusive mode`);
        await checkAlerts(env, t, limits);
        // The consumer has this run's heartbeats and waits for the lock (seen from Postgres itself).
        await eventually(
          () =>
            db(async (other) => {
              const waiting = await other.execute<{ n: number }>(
                sql`select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and query ilike '%processed_events%'`,
              );
              return waiting.rows[0]!.n > 0;
            }),
          30_000,
          "the consumer waiting on the lock",
        );
        changes = [await checkAlerts(env, t + 5 * MINUTE, limits), await checkAlerts(env, t + 6 * MINUTE, limits)];
      }),
    );
    expect(changes.map((c) => about(c, "queue_lag"))).toEqual([["firing"], []]);
    expect(errors.mock.calls.filter(([line]) => /ALERT queue_lag/.test(String(line)))).toHaveLength(1);

    // Released: the held batches land, heartbeats with them.
    await eventually(
      async () => Object.values(await db((d) => queueLag(d, t + 7 * MINUTE))).every((ms) => ms === 0),
      30_000,
      "heartbeats landed",
    );
    expect(about(await checkAlerts(env, t + 7 * MINUTE, limits), "queue_lag")).toEqual(["cleared"]);
    await alertLanded("queue_lag", "firing", t + 5 * MINUTE);
    await alertLanded("queue_lag", "cleared", t + 7 * MINUTE);
  });
});
