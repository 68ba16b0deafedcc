/**
 * Dead letters for the operator (docs/operations.md, Dead letters): listed with their reason and
 * payload, replayed (the event applied to Postgres exactly as the consumer would: its id is
 * claimed once in processed_events, so a replay of an event that already landed writes nothing),
 * or discarded. A resolved letter keeps its row, with its status and time, for the audit trail.
 */
import { and, asc, desc, eq, sql } from "drizzle-orm";
import { z } from "zod";
import { SkuAlertJobSchema } from "../alerts/plan";
import type { Database } from "../db/client";
import { applyEvent } from "../db/projections/batch";
import { deadLetters } from "../db/tables";
import { DomainError } from "../domain/errors";
import { guestCartTtlMs } from "../env";
import { parseEnvelope } from "../events/types";
import { isPermanentFailure, sqlStateOf, unstorableTextAt } from "../db/failures";
import { log } from "../log/logger";
import { errorText } from "../log/redact";

export type DeadLetterStatus = "open" | "replayed" | "discarded";

export interface DeadLetterView {
  id: string;
  queue: string;
  eventId: string | null;
  type: string | null;
  reason: string;
  payload: unknown;
  receivedAt: string;
  status: DeadLetterStatus;
  resolvedAt: string | null;
}

const MAX_LISTED = 500;

type Row = typeof deadLetters.$inferSelect;

function field(payload: unknown, name: "id" | "type"): string | null {
  if (payload === null || typeof payload !== "object") return null;
  const value = (payload as Record<string, unknown>)[name];
  return typeof value === "string" ? value : null;
}

function viewOf(row: Row): DeadLetterView {
  return {
    id: row.messageId,
    queue: row.queue,
    eventId: field(row.body, "id"),
    type: field(row.body, "type"),
    reason: row.error ?? "",
    payload: row.body,
    receivedAt: new Date(row.receivedAt).toISOString(),
    status: row.status as DeadLetterStatus,
    resolvedAt: row.resolvedAt === null ? null : new Date(row.resolvedAt).toISOString(),
  };
}

/** The newest letters first, at most 500. */
export async function listDeadLetters(db: Database, status: DeadLetterStatus | "all"): Promise<DeadLetterView[]> {
  const rows = await db
    .select()
    .from(deadLetters)
    .where(status === "all" ? undefined : eq(deadLetters.status, status))
    .orderBy(desc(deadLetters.receivedAt))
    .limit(MAX_LISTED);
  return rows.map(viewOf);
}

export async function openDeadLetters(db: Database): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(deadLetters)
    .where(eq(deadLetters.status, "open"));
  return row?.n ?? 0;
}

async function find(db: Database, id: string): Promise<Row> {
  const [row] = await db.select().from(deadLetters).where(eq(deadLetters.messageId, id));
  if (!row) throw new DomainError("NOT_FOUND", `no dead letter ${id}`);
  return row;
}

/**
 * Replays one letter. An event is validated and applied to Postgres in one transaction (its id
 * claimed once: `applied` is false when it had already landed, which is still a success); a page of
 * cart alerts goes back to its queue. `payload` replaces the stored one first (the data fixed).
 */
export async function replayDeadLetter(
  env: Env,
  db: Database,
  id: string,
  payload?: unknown,
): Promise<{ id: string; status: "replayed"; applied: boolean }> {
  const row = await find(db, id);
  if (row.status === "discarded")
    throw new DomainError("DEAD_LETTER_RESOLVED", `dead letter ${id} was discarded; it is kept for the record only`);
  const body = payload === undefined ? row.body : payload;
  let applied: boolean;
  if (row.queue.endsWith("cart-alerts")) {
    // A page of the alert fan-out, not an event: it runs again (its alerts are idempotent per cart and SKU version).
    const job = SkuAlertJobSchema.safeParse(body);
    if (!job.success)
      throw new DomainError(
        "VALIDATION_FAILED",
        `dead letter ${id} does not hold a cart-alerts page: ${z.prettifyError(job.error).replaceAll("\n", "; ")}`,
      );
    applied = row.status === "open";
    if (applied) await env.CART_ALERTS.send(job.data, { contentType: "json" });
  } else {
    applied = await applyReplayed(env, db, id, body);
  }
  await db
    .update(deadLetters)
    .set({
      status: "replayed",
      resolvedAt: row.resolvedAt ?? new Date().toISOString(),
      ...(payload === undefined ? {} : { body: payload }),
    })
    .where(eq(deadLetters.messageId, id));
  return { id, status: "replayed", applied };
}

async function applyReplayed(env: Env, db: Database, id: string, body: unknown): Promise<boolean> {
  const parsed = parseEnvelope(body);
  if (!parsed.ok)
    throw new DomainError("VALIDATION_FAILED", `dead letter ${id} does not hold a valid event: ${parsed.error}`);
  const unstorable = unstorableTextAt(parsed.event);
  if (unstorable)
    throw new DomainError(
      "VALIDATION_FAILED",
      `dead letter ${id}: ${unstorable} still holds text Postgres cannot store; replay it with the data fixed`,
    );
  try {
    return await db.transaction((tx) => applyEvent(tx, parsed.event, { guestCartTtlMs: guestCartTtlMs(env) }));
  } catch (err) {
    if (!isPermanentFailure(err)) throw err;
    throw new DomainError(
      "VALIDATION_FAILED",
      `Postgres refuses dead letter ${id} (SQLSTATE ${sqlStateOf(err)}); replay it with the data fixed`,
    );
  }
}

/** Replays every open letter, oldest first; a letter that cannot be replayed stays open (and is logged). */
export async function replayOpenDeadLetters(env: Env, db: Database): Promise<{ replayed: number }> {
  const open = await db
    .select({ id: deadLetters.messageId })
    .from(deadLetters)
    .where(eq(deadLetters.status, "open"))
    .orderBy(asc(deadLetters.receivedAt))
    .limit(MAX_LISTED);
  let replayed = 0;
  for (const { id } of open) {
    try {
      await replayDeadLetter(env, db, id);
      replayed += 1;
    } catch (err) {
      log.warn("dead letter not replayed", { deadLetterId: id, error: errorText(err) });
    }
  }
  return { replayed };
}

/** Marks a letter discarded: it is never replayed, and its row stays for the audit trail. */
export async function discardDeadLetter(db: Database, id: string): Promise<{ id: string; status: "discarded" }> {
  const row = await find(db, id);
  if (row.status === "replayed")
    throw new DomainError("DEAD_LETTER_RESOLVED", `dead letter ${id} was replayed already`);
  if (row.status === "open")
    await db
      .update(deadLetters)
      .set({ status: "discarded", resolvedAt: new Date().toISOString() })
      .where(and(eq(deadLetters.messageId, id), eq(deadLetters.status, "open")));
  return { id, status: "discarded" };
}
