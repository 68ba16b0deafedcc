import { runAlertJobs } from "../alerts/fanout";
import { withSkuAlerts } from "../alerts/plan";
import type { Database } from "../db/client";
import { withDatabase } from "../db/client";
import type { ProjectionSettings } from "../db/projections/batch";
import { applyEvent, applyEvents } from "../db/projections/batch";
import { deadLetters } from "../db/tables";
import { guestCartTtlMs } from "../env";
import type { Envelope } from "../events/envelope";
import { parseEnvelope } from "../events/types";
import { log } from "../log/logger";
import { errorText } from "../log/redact";
import { flushDue, flushMetrics, flushSoon, record } from "../ops/metrics";
import { recordBatch, recordLanded } from "../ops/pipeline-metrics";
import { isPermanentFailure, sqlStateOf, storableJson, storableText, unstorableTextAt } from "../db/failures";

/** A message parked in a dead-letter queue by us (never processable), as opposed to one that ran out of retries. */
export interface DeadLetter {
  deadLetter: true;
  queue: string;
  messageId: string;
  error: string;
  body: unknown;
}

const MAX_RETRY_DELAY_SECONDS = 300;

export function retryDelaySeconds(attempts: number): number {
  return Math.min(MAX_RETRY_DELAY_SECONDS, 2 ** Math.min(attempts, 9));
}

function isDlq(queue: string): boolean {
  return queue.endsWith("-dlq");
}

/**
 * The queue consumer: events -> Postgres, idempotently.
 *  - A message that fails validation, or holds text Postgres can never store
 *    (a NUL byte), goes to the dead-letter queue at once and is acked:
 *    retrying cannot fix it, and it must not block the batch.
 *  - Valid messages are applied in one transaction, a few multi-row
 *    statements for the whole batch (db/projections/batch.ts applyEvents); if that
 *    fails, each is retried in its own transaction so one bad message cannot
 *    hold back the others. A message Postgres can never accept (failures.ts:
 *    invalid bytes, out of range, too long...) is dead-lettered at once; only
 *    transient failures are retried (with backoff). After max_retries the
 *    queue itself moves a message to its DLQ.
 */
export async function consumeBatch(
  batch: MessageBatch,
  env: Env,
  waitUntil: (work: Promise<unknown>) => void = () => undefined,
): Promise<void> {
  const started = Date.now();
  if (isDlq(batch.queue)) {
    await recordDeadLetters(batch, env);
    record(env, { metric: "dead_letter", dim1: batch.queue.replace(/-dlq$/, ""), count: batch.messages.length });
  } else if (batch.queue.endsWith("cart-alerts")) {
    // Queues are told apart by how their names end: an environment prefixes them (staging-cart-events).
    await runAlertJobs(batch, env);
  } else {
    const outcome = await applyBatch(batch, env);
    recordBatch(env, batch.queue, outcome, batch.messages.length, Date.now() - started);
  }
  flushSoon(env, waitUntil);
}

/** Applies an event batch; answers how it went for the metrics: ok, retried (some wait for a retry) or dead_letter (some were parked). */
async function applyBatch(batch: MessageBatch, env: Env): Promise<"ok" | "retried" | "dead_letter"> {
  let parked = false;
  const dlq = batch.queue.endsWith("cart-events") ? env.CART_EVENTS_DLQ : env.ORDER_EVENTS_DLQ;
  const valid: { message: Message; event: Envelope }[] = [];
  for (const message of batch.messages) {
    const parsed = parseEnvelope(message.body);
    const unstorable = parsed.ok ? unstorableTextAt(parsed.event) : null;
    if (!parsed.ok) {
      parked = true;
      await deadLetter(dlq, batch.queue, message, parsed.error);
    } else if (unstorable) {
      parked = true;
      await deadLetter(
        dlq,
        batch.queue,
        message,
        `${parsed.event.type} ${parsed.event.id}: ${unstorable} holds text Postgres cannot store (a NUL byte or an unpaired surrogate); not written`,
      );
    } else valid.push({ message, event: parsed.event });
  }
  if (valid.length === 0) return parked ? "dead_letter" : "ok";
  const settings: ProjectionSettings = { guestCartTtlMs: guestCartTtlMs(env) };
  const started = Date.now();

  try {
    return await withDatabase(env, async (db) => {
      try {
        await db.transaction((tx) =>
          withSkuAlerts(
            tx,
            env,
            valid.map((v) => v.event),
            async () => {
              await applyEvents(
                tx,
                valid.map((v) => v.event),
                settings,
              );
            },
          ),
        );
        const durationMs = Date.now() - started;
        for (const { message, event } of valid) {
          message.ack();
          logApplied(event, durationMs);
        }
        recordLanded(
          env,
          batch.queue,
          valid.map((v) => v.event),
        );
        // On the connection this batch holds: the metrics need no connection of their own.
        if (flushDue()) await flushMetrics(env, db);
      } catch (err) {
        log.warn("batch failed; applying one by one", {
          queue: batch.queue,
          size: valid.length,
          outcome: "retry",
          error: errorText(err),
        });
        const landed = await applyOneByOne(db, valid, settings, (message, error) => {
          parked = true;
          return deadLetter(dlq, batch.queue, message, error);
        });
        recordLanded(env, batch.queue, landed);
        if (landed.length < valid.length && !parked) return "retried";
      }
      return parked ? "dead_letter" : "ok";
    });
  } catch (err) {
    // No database at all (not configured or unreachable): everything waits for a retry.
    log.error("database unavailable", {
      queue: batch.queue,
      size: valid.length,
      outcome: "retry",
      error: errorText(err),
    });
    for (const { message } of valid) message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
    return "retried";
  }
}

/** Parks a message that can never be processed in the dead-letter queue and acks it (retried only if the DLQ is unreachable). */
async function deadLetter(dlq: Queue, queue: string, message: Message, error: string): Promise<void> {
  log.error("dead-lettered", { queue, messageId: message.id, outcome: "dead_letter", error });
  try {
    const letter: DeadLetter = { deadLetter: true, queue, messageId: message.id, error, body: message.body };
    await dlq.send(letter, { contentType: "json" });
    message.ack();
  } catch (err) {
    log.error("dead-letter queue unavailable", {
      queue,
      messageId: message.id,
      outcome: "retry",
      error: errorText(err),
    });
    message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
  }
}

async function applyOneByOne(
  db: Database,
  items: { message: Message; event: Envelope }[],
  settings: ProjectionSettings,
  park: (message: Message, error: string) => Promise<void>,
): Promise<Envelope[]> {
  const landed: Envelope[] = [];
  for (const { message, event } of items) {
    const started = Date.now();
    try {
      await db.transaction((tx) => applyEvent(tx, event, settings));
      message.ack();
      landed.push(event);
      logApplied(event, Date.now() - started);
    } catch (err) {
      if (isPermanentFailure(err)) {
        await park(
          message,
          `Postgres refused ${event.type} ${event.id} (SQLSTATE ${sqlStateOf(err)}): ${errorText(err)}`,
        );
        continue;
      }
      log.error("event failed", {
        ...eventFields(event),
        outcome: "retry",
        attempt: message.attempts,
        error: errorText(err),
      });
      message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
    }
  }
  return landed;
}

/** Dead letters land in Postgres for inspection and replay; while Postgres is down they wait in the DLQ. */
async function recordDeadLetters(batch: MessageBatch, env: Env): Promise<void> {
  const origin = batch.queue.replace(/-dlq$/, "");
  try {
    await withDatabase(env, async (db) => {
      for (const message of batch.messages) {
        const body = message.body as Partial<DeadLetter> | null;
        const ours = body !== null && typeof body === "object" && body.deadLetter === true;
        // Stored as it came, except what Postgres cannot hold (a NUL is why some letters are here).
        await db
          .insert(deadLetters)
          .values({
            messageId: storableText(ours ? String(body.messageId) : message.id),
            queue: storableText(ours ? String(body.queue) : origin),
            body: storableJson((ours ? body.body : message.body) ?? null),
            error: storableText(ours ? String(body.error) : "retries exhausted"),
          })
          .onConflictDoNothing();
        message.ack();
      }
    });
  } catch (err) {
    log.error("dead letters not recorded: database unavailable", {
      queue: batch.queue,
      outcome: "retry",
      error: errorText(err),
    });
    batch.retryAll({ delaySeconds: 60 });
  }
}

/** The fields that tie an event's line to the request and the actor that wrote it. */
function eventFields(event: Envelope): Record<string, string | undefined> {
  return { requestId: event.requestId, actor: actorOf(event), eventId: event.id, type: event.type };
}

/** The actor that wrote the event, named as in its own lines (`order:…`, `cart:…`; a SKU event's stripe is not in it). */
function actorOf(event: Envelope): string {
  const kind = event.type.slice(0, event.type.indexOf("."));
  if (kind === "inventory") return `sku:${event.aggregateId}`;
  if (kind === "payment") return `order:${event.aggregateId}`;
  return `${kind}:${event.aggregateId}`;
}

/** One line per applied event; `durationMs` is its transaction's (the batch's when applied together). */
function logApplied(event: Envelope, durationMs: number): void {
  log.info("event applied", { ...eventFields(event), outcome: "applied", durationMs });
}
