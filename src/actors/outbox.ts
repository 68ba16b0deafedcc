/**
 * The transactional outbox every actor shares (docs/events.md): events and
 * commands for other actors are written in the same storage transaction as
 * the state change, then relayed afterwards and retried with backoff until
 * delivered. Events go to the queues in batches; commands run per target in
 * order, so e.g. "commit" always reaches a SKU before a later "restock".
 */
import type { Envelope, QueueName } from "../events/envelope";
import { queueOf } from "../events/envelope";
import { KeptEvents } from "./outbox-kept";
import { ActorSchema } from "./sqlite";
import { log } from "../log/logger";

export interface Command {
  /** Who receives it, e.g. `sku:{skuId}` or `cart:{cartKey}`; commands to one target run in order. */
  target: string;
  name: string;
  args: unknown;
}

export interface OutboxSinks {
  sendEvents(queue: QueueName, events: Envelope[]): Promise<void>;
  runCommand(command: Command): Promise<void>;
}

const MAX_BATCH_MESSAGES = 100;
/** Queues accept 256 KB a batch; stay below it with headroom for framing. */
const MAX_BATCH_BYTES = 200_000;
/** A queue outage is retried at least once a minute once it is over. */
const MAX_BACKOFF_MS = 60_000;

export function backoffMs(attempts: number): number {
  const base = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.min(attempts, 16));
  return Math.round(base * (0.75 + Math.random() * 0.5));
}

interface Row extends Record<string, SqlStorageValue> {
  seq: number;
  kind: string;
  target: string;
  payload: string;
  attempts: number;
}

export interface OutboxOptions {
  /** Keep sent events this long, to send them again after the runtime restarts (outbox-kept.ts); 0 = off. */
  keepSentMs?: number;
  /** Tests only: when this run of the runtime started (default: this isolate's first actor start). */
  runStartedAt?: number;
}

export class Outbox {
  /**
   * Rows delivered but not yet deleted: the delete rides along with the
   * actor's next transaction (or its alarm) instead of costing a storage
   * commit of its own after every relay. Not sent again meanwhile; after a
   * restart they are (delivery is at least once, consumers deduplicate by id).
   */
  private readonly delivered = new Set<number>();
  /** Sent events kept for a replay after a restart of the runtime; null where a sent event is durable. */
  private readonly kept: KeptEvents | null;

  constructor(
    private readonly sql: SqlStorage,
    private readonly sinks: OutboxSinks,
    schema = new ActorSchema(sql),
    options: OutboxOptions = {},
  ) {
    schema.ensure(`CREATE TABLE IF NOT EXISTS outbox (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      kind TEXT NOT NULL,             -- 'event' | 'command'
      target TEXT NOT NULL,           -- queue name or command target
      payload TEXT NOT NULL,
      attempts INTEGER NOT NULL DEFAULT 0,
      next_attempt_at INTEGER NOT NULL DEFAULT 0,
      last_error TEXT
    )`);
    const keepMs = options.keepSentMs ?? 0;
    this.kept = keepMs > 0 ? new KeptEvents(sql, schema, keepMs, options.runStartedAt) : null;
  }

  /** Whether this start put back events an earlier run of the runtime sent (they wait for the next relay). */
  get replayedOnStart(): boolean {
    return this.kept?.replayed ?? false;
  }

  /** Call inside the state change's transaction. */
  addEvent(event: Envelope): void {
    this.sql.exec(
      "INSERT INTO outbox (kind, target, payload) VALUES ('event', ?, ?)",
      queueOf(event.type),
      JSON.stringify(event),
    );
  }

  /** Call inside the state change's transaction. */
  addCommand(command: Command): void {
    this.sql.exec(
      "INSERT INTO outbox (kind, target, payload) VALUES ('command', ?, ?)",
      command.target,
      JSON.stringify(command),
    );
  }

  /** Rows still to be delivered. */
  pendingCount(): number {
    return this.sql
      .exec<{ n: number }>(`SELECT count(*) AS n FROM outbox WHERE ${this.undelivered()}`, this.deliveredJson())
      .one().n;
  }

  /** When the next delivery attempt is due, or null when nothing waits. */
  nextAttemptAt(): number | null {
    return this.sql
      .exec<{ at: number | null }>(
        `SELECT min(next_attempt_at) AS at FROM outbox WHERE ${this.undelivered()}`,
        this.deliveredJson(),
      )
      .one().at;
  }

  /** Delivered rows whose delete is still to be written (see `delivered`). */
  deliveredRows(): number[] {
    return [...this.delivered];
  }

  /**
   * Deletes delivered rows (keeping their events a while, where sent events are
   * kept) and kept events whose time is up; call inside a transaction, and
   * `forget` the rows once it committed (a rolled-back delete leaves them to the next one).
   */
  deleteDelivered(seqs: readonly number[], now = Date.now()): void {
    if (seqs.length > 0) {
      this.kept?.keep(seqs, now);
      this.deleteRows(seqs);
    }
    this.kept?.purge(now);
  }

  /** Whether a transaction has outbox rows to delete (`deleteDelivered`). */
  cleanupDue(now = Date.now()): boolean {
    const purgeAt = this.kept?.purgeAt() ?? null;
    return this.delivered.size > 0 || (purgeAt !== null && purgeAt <= now);
  }

  forget(seqs: readonly number[]): void {
    for (const seq of seqs) this.delivered.delete(seq);
  }

  /** SQL condition (one bound parameter: `deliveredJson()`) for rows not yet delivered. */
  private undelivered(): string {
    return "seq NOT IN (SELECT value FROM json_each(?))";
  }

  private deliveredJson(): string {
    return this.delivered.size === 0 ? "[]" : JSON.stringify([...this.delivered]);
  }

  /** Up to `limit` rows of one kind that are due and not yet delivered, oldest first. */
  private due(kind: "event" | "command", now: number, limit: number): Row[] {
    return this.sql
      .exec<Row>(
        `SELECT seq, kind, target, payload, attempts FROM outbox WHERE kind = '${kind}' AND next_attempt_at <= ? AND ${this.undelivered()} ORDER BY seq LIMIT ${limit}`,
        now,
        this.deliveredJson(),
      )
      .toArray();
  }

  /** Delivers everything that is due. Never throws: failures are rescheduled. */
  async relay(now = Date.now()): Promise<void> {
    await Promise.all([this.relayEvents(now), this.relayCommands(now)]);
  }

  private async relayEvents(now: number): Promise<void> {
    for (;;) {
      const rows = this.due("event", now, 500);
      if (rows.length === 0) return;
      let unsent = rows;
      for (const batch of batches(rows)) {
        const queue = batch[0]!.target as QueueName;
        try {
          await this.sinks.sendEvents(
            queue,
            batch.map((r) => JSON.parse(r.payload) as Envelope),
          );
          this.remove(batch);
          unsent = unsent.slice(batch.length);
        } catch (err) {
          // The queue is not taking messages: everything not yet sent waits, so order is kept.
          this.postpone(unsent, err);
          return;
        }
      }
    }
  }

  private async relayCommands(now: number): Promise<void> {
    const rows = this.due("command", now, 200);
    const byTarget = new Map<string, Row[]>();
    for (const row of rows) byTarget.set(row.target, [...(byTarget.get(row.target) ?? []), row]);
    await Promise.all(
      [...byTarget.values()].map(async (queue) => {
        for (const row of queue) {
          // A row postponed by an earlier failure keeps later commands to its target waiting.
          if (this.isBlocked(row, now)) return;
          try {
            await this.sinks.runCommand(JSON.parse(row.payload) as Command);
            this.remove([row]);
          } catch (err) {
            this.postpone([row], err);
            return;
          }
        }
      }),
    );
  }

  private isBlocked(row: Row, now: number): boolean {
    return (
      this.sql
        .exec(
          "SELECT 1 FROM outbox WHERE kind = 'command' AND target = ? AND seq < ? AND next_attempt_at > ? LIMIT 1",
          row.target,
          row.seq,
          now,
        )
        .toArray().length > 0
    );
  }

  /** Delivered: deleted later, with the actor's next write (see `delivered`). */
  private remove(rows: Row[]): void {
    for (const row of rows) this.delivered.add(row.seq);
  }

  /** One statement for many rows (bound parameters are few in a Durable Object). */
  private deleteRows(seqs: readonly number[]): void {
    if (seqs.length === 1) this.sql.exec("DELETE FROM outbox WHERE seq = ?", seqs[0]!);
    else this.sql.exec("DELETE FROM outbox WHERE seq IN (SELECT value FROM json_each(?))", JSON.stringify(seqs));
  }

  private postpone(rows: Row[], err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    log.warn("outbox relay postponed", {
      rows: rows.length,
      kind: rows[0]?.kind,
      target: rows[0]?.target,
      outcome: "retry",
      error: message,
    });
    for (const row of rows) {
      this.sql.exec(
        "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE seq = ?",
        Date.now() + backoffMs(row.attempts),
        message.slice(0, 500),
        row.seq,
      );
    }
  }
}

/** Splits rows into per-queue batches within the queue's count and size limits. */
function batches(rows: Row[]): Row[][] {
  const out: Row[][] = [];
  let current: Row[] = [];
  let bytes = 0;
  for (const row of rows) {
    const size = row.payload.length + 100;
    const full =
      current.length >= MAX_BATCH_MESSAGES ||
      bytes + size > MAX_BATCH_BYTES ||
      (current[0] && current[0].target !== row.target);
    if (full && current.length > 0) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(row);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}
