/**
 * Scheduled work: the hourly cart sync, the expiry sweep of unpaid orders and
 * the inventory reconciliation.
 */
import { orderActor } from "../actors/order/order-routing";
import { and, eq, gt, lt } from "drizzle-orm";
import { DIRTY_CARTS_SET } from "../cache/cart-snapshots";
import { redisClient, WRITE_TIMEOUT_MS } from "../cache/redis";
import { withDatabase } from "../db/client";
import { carts, orders } from "../db/tables";
import { checkAlerts } from "../ops/alerts";
import { metricsSink } from "../ops/metrics";
import { deleteOldMetrics } from "../ops/metrics-retention";
import { reconcileInventory } from "./reconcile";
import { log } from "../log/logger";
import { errorText } from "../log/redact";

export const HOURLY_SYNC_CRON = "0 * * * *";
const SWEEP_BATCH = 500;
const SYNC_BATCH = 500;
const FAN_OUT = 50;

async function inChunks<T>(items: T[], size: number, work: (item: T) => Promise<void>): Promise<string[]> {
  const failed: string[] = [];
  for (let i = 0; i < items.length; i += size) {
    const results = await Promise.allSettled(items.slice(i, i + size).map(work));
    results.forEach((r, j) => {
      if (r.status === "rejected") failed.push(String(items[i + j]));
    });
  }
  return failed;
}

/**
 * Reservation-expiry sweep, the backstop for the order actors' own alarms:
 * every PENDING order past `expiresAt` in Postgres is told to expire (a no-op
 * when its alarm already did).
 */
export async function sweepExpiredOrders(env: Env, now = new Date()): Promise<{ checked: number; expired: number }> {
  const due = await withDatabase(env, (db) =>
    db
      .select({ orderId: orders.orderId })
      .from(orders)
      .where(and(eq(orders.status, "PENDING"), lt(orders.expiresAt, now.toISOString())))
      .limit(SWEEP_BATCH),
  );
  let expired = 0;
  await inChunks(due, FAN_OUT, async ({ orderId }) => {
    const actor = orderActor(env, orderId);
    if (actor && (await actor.expireIfDue()).expired) expired += 1;
  });
  return { checked: due.length, expired };
}

/**
 * Hourly cart sync: every cart changed since the last run (the Redis "dirty"
 * set, filled atomically with each snapshot write; or, with Redis down, the
 * carts Postgres saw change in the last two hours) emits a full snapshot
 * through the queue, reconciling anything an event may have missed.
 */
export async function syncChangedCarts(env: Env): Promise<{ carts: number; source: "redis" | "postgres" }> {
  const redis = redisClient(env, WRITE_TIMEOUT_MS);
  if (redis) {
    try {
      let total = 0;
      for (;;) {
        const keys = ((await redis.spop<string[]>(DIRTY_CARTS_SET, SYNC_BATCH)) ?? []).map(String);
        if (keys.length === 0) break;
        total += keys.length;
        const failed = await inChunks(keys, FAN_OUT, (key) => env.CARTS.getByName(key).emitSnapshot());
        if (failed.length > 0) await redis.sadd(DIRTY_CARTS_SET, failed[0]!, ...failed.slice(1));
        if (keys.length < SYNC_BATCH) break;
      }
      return { carts: total, source: "redis" };
    } catch (err) {
      log.warn("hourly sync: Redis unavailable, using Postgres", { error: errorText(err) });
    }
  }
  const since = new Date(Date.now() - 2 * 3600_000).toISOString();
  const changed = await withDatabase(env, (db) =>
    db.select({ cartKey: carts.cartKey }).from(carts).where(gt(carts.updatedAt, since)).limit(10_000),
  );
  await inChunks(changed, FAN_OUT, ({ cartKey }) => env.CARTS.getByName(cartKey).emitSnapshot());
  return { carts: changed.length, source: "postgres" };
}

/** `now`: the trigger's scheduled time (the cron's clock; tests give a later one to find overdue orders). */
export async function runScheduled(cron: string, env: Env, now = new Date()): Promise<void> {
  if (cron === HOURLY_SYNC_CRON) {
    const result = await syncChangedCarts(env);
    log.info("hourly sync", { carts: result.carts, source: result.source, outcome: "ok" });
    const checked = await reconcileInventory(env);
    log.info("reconciliation", {
      skus: checked.checked,
      drifting: checked.drifting.length,
      repaired: checked.repaired,
      outcome: checked.drifting.length === 0 ? "ok" : "drift",
    });
    // Housekeeping: a failure must not keep the sweep below from running.
    if (metricsSink(env) === "postgres")
      await deleteOldMetrics(env, now.getTime()).catch((err) =>
        log.warn("metrics cleanup failed", { error: errorText(err) }),
      );
  }
  // The sweep runs on every trigger (the hourly one included): it is cheap and idempotent.
  const swept = await sweepExpiredOrders(env, now);
  if (swept.checked > 0) log.info("expiry sweep", { overdue: swept.checked, expired: swept.expired });
  // After the reconciliation, so its drift is seen in the same run.
  await checkAlerts(env, now.getTime());
}
