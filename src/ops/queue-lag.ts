/**
 * How far behind Postgres is, measured through the pipeline itself: each cron run sends one
 * `ops.heartbeat` event through each event queue (recorded in ops_heartbeats); the consumer lands
 * it like any event, by claiming its id in processed_events. The lag is the age of the oldest
 * heartbeat not landed yet: 0 while the consumer keeps up, growing from the moment its writes
 * stop, whatever the reason (the queue, the consumer, Postgres, a lock), and without any metrics.
 */
import { and, lt, sql } from "drizzle-orm";
import type { Database } from "../db/client";
import { opsHeartbeats, processedEvents } from "../db/tables";
import type { Envelope } from "../events/envelope";

/** Landed heartbeats are deleted after this long; unlanded ones are kept while they measure a lag. */
const KEEP_LANDED_MS = 24 * 3600_000;

function queuesOf(env: Env): { name: string; queue: Queue }[] {
  return [
    { name: "cart-events", queue: env.CART_EVENTS },
    { name: "order-events", queue: env.ORDER_EVENTS },
  ];
}

/** The age in ms of the oldest heartbeat not landed at `now`, per queue (0 when all landed). */
export async function queueLag(db: Database, now: number): Promise<Record<string, number>> {
  const rows = await db
    .select({ queue: opsHeartbeats.queue, oldest: sql<string>`min(${opsHeartbeats.sentAt})` })
    .from(opsHeartbeats)
    .where(
      sql`not exists (select 1 from ${processedEvents} where ${processedEvents.eventId} = ${opsHeartbeats.eventId})`,
    )
    .groupBy(opsHeartbeats.queue);
  const lag: Record<string, number> = { "cart-events": 0, "order-events": 0 };
  for (const r of rows) lag[r.queue] = Math.max(0, now - Date.parse(r.oldest));
  return lag;
}

/** Sends one heartbeat through each event queue, recorded first (a heartbeat the queue refused is not waited for). */
export async function sendHeartbeats(env: Env, db: Database, now: number): Promise<void> {
  const sentAt = new Date(now).toISOString();
  await Promise.all(
    queuesOf(env).map(async ({ name, queue }) => {
      const event: Envelope<"ops.heartbeat"> = {
        id: `heartbeat:${name}:${now}`,
        type: "ops.heartbeat",
        occurredAt: sentAt,
        aggregateId: `ops:${name}`,
        version: Math.floor(now / 1000),
        data: { queue: name },
      };
      await db.insert(opsHeartbeats).values({ eventId: event.id, queue: name, sentAt }).onConflictDoNothing();
      try {
        await queue.send(event, { contentType: "json" });
      } catch (err) {
        await db.delete(opsHeartbeats).where(sql`${opsHeartbeats.eventId} = ${event.id}`);
        throw err;
      }
    }),
  );
  await db
    .delete(opsHeartbeats)
    .where(
      and(
        lt(opsHeartbeats.sentAt, new Date(now - KEEP_LANDED_MS).toISOString()),
        sql`exists (select 1 from ${processedEvents} where ${processedEvents.eventId} = ${opsHeartbeats.eventId})`,
      ),
    );
}
