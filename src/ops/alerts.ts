/**
 * Alert hooks (docs/operations.md, Alerts), run by the cron every minute: inventory drift, open
 * dead letters past a threshold, queue lag past a threshold. A condition that starts sends one
 * `ops.alert` event (state "firing") to the queue and logs one line at level error; while it
 * lasts nothing more is sent; when it clears, one `ops.alert` (state "cleared"). The state is a
 * row per condition in Postgres (ops_alerts), flipped in the same transaction that sends the
 * event, so two overlapping cron runs cannot both send it, and a send that fails is tried again.
 */
import { eq } from "drizzle-orm";
import type { Database } from "../db/client";
import { withDatabase } from "../db/client";
import { opsAlerts } from "../db/tables";
import type { Envelope, OpsAlertData } from "../events/envelope";
import { openDrift } from "../db/reconciliations";
import { openDeadLetters } from "./dead-letters";
import { queueLag, sendHeartbeats } from "./queue-lag";
import { log } from "../log/logger";

export type AlertCondition = OpsAlertData["condition"];

export interface Thresholds {
  /** Alert when more SKUs than this drift (default 0). */
  drift: number;
  /** Alert when more dead letters than this are open (ALERT_DEAD_LETTERS, default 0). */
  deadLetters: number;
  /** Alert when a queue lags more than this many ms (ALERT_QUEUE_LAG_MS, default 120000: two cron runs). */
  queueLagMs: number;
}

export interface AlertChange {
  condition: AlertCondition;
  state: "firing" | "cleared";
  value: number;
  threshold: number;
  detail: string;
}

function setting(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return value !== undefined && value.trim() !== "" && Number.isFinite(n) && n >= 0 ? n : fallback;
}

export function thresholdsOf(env: Env): Thresholds {
  return {
    drift: 0,
    deadLetters: setting(env.ALERT_DEAD_LETTERS, 0),
    queueLagMs: setting(env.ALERT_QUEUE_LAG_MS, 120_000),
  };
}

interface Reading {
  condition: AlertCondition;
  value: number;
  threshold: number;
  detail: string;
}

async function read(db: Database, thresholds: Thresholds, now: number): Promise<Reading[]> {
  const [drifting, letters, lag] = await Promise.all([openDrift(db), openDeadLetters(db), queueLag(db, now)]);
  const [slowest, lagMs] = Object.entries(lag).sort((a, b) => b[1] - a[1])[0] ?? ["-", 0];
  return [
    {
      condition: "drift",
      value: drifting,
      threshold: thresholds.drift,
      detail: `${drifting} SKU(s) drift between their actor and inventory_audit (GET /v1/admin/stock, POST /v1/admin/reconcile)`,
    },
    {
      condition: "dead_letters",
      value: letters,
      threshold: thresholds.deadLetters,
      detail: `${letters} open dead letter(s) (GET /v1/admin/dead-letters)`,
    },
    {
      condition: "queue_lag",
      value: lagMs,
      threshold: thresholds.queueLagMs,
      detail:
        lagMs > 0
          ? `${slowest}: its oldest heartbeat has not landed in Postgres for ${Math.round(lagMs / 1000)} s`
          : "every heartbeat landed",
    },
  ];
}

/**
 * Flips a condition's state when it changed, sending its `ops.alert` in the same transaction.
 * Returns the change, or null when the state was already this one (or another run flipped it).
 */
async function transition(
  env: Env,
  db: Database,
  r: Reading,
  firing: boolean,
  now: number,
): Promise<AlertChange | null> {
  const since = new Date(now).toISOString();
  const detail = { value: r.value, threshold: r.threshold, detail: r.detail };
  return db.transaction(async (tx) => {
    const [row] = await tx.select().from(opsAlerts).where(eq(opsAlerts.condition, r.condition)).for("update");
    if (row?.firing === firing) return null;
    if (row) await tx.update(opsAlerts).set({ firing, since, detail }).where(eq(opsAlerts.condition, r.condition));
    else {
      const inserted = await tx
        .insert(opsAlerts)
        .values({ condition: r.condition, firing, since, detail })
        .onConflictDoNothing()
        .returning({ condition: opsAlerts.condition });
      // A first reading that is clear only starts the record; another run's first insert won.
      if (!firing || inserted.length === 0) return null;
    }
    const change: AlertChange = { condition: r.condition, state: firing ? "firing" : "cleared", ...detail };
    const event: Envelope<"ops.alert"> = {
      id: `alert:${r.condition}:${change.state}:${now}`,
      type: "ops.alert",
      occurredAt: since,
      aggregateId: `ops:${r.condition}`,
      version: Math.floor(now / 1000),
      data: change,
    };
    await env.ORDER_EVENTS.send(event, { contentType: "json" });
    return change;
  });
}

/**
 * One cron run's check: reads each condition, flips the ones that changed (each sent once), then
 * sends this run's heartbeats (the next run measures them).
 */
export async function checkAlerts(
  env: Env,
  now = Date.now(),
  thresholds: Thresholds = thresholdsOf(env),
): Promise<AlertChange[]> {
  return withDatabase(env, async (db) => {
    const changes: AlertChange[] = [];
    for (const r of await read(db, thresholds, now)) {
      const change = await transition(env, db, r, r.value > r.threshold, now);
      if (!change) continue;
      changes.push(change);
      if (change.state === "firing")
        log.error(`ALERT ${change.condition}`, { detail: change.detail, outcome: "firing" });
      else log.info("alert cleared", { condition: change.condition, detail: change.detail, outcome: "cleared" });
    }
    await sendHeartbeats(env, db, now);
    return changes;
  });
}
