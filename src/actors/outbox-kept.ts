/**
 * Events the queue already took, kept by the actor for a while and sent again when it
 * starts in a later run of the runtime (docs/decisions.md 15). Needed only where a
 * resolved send is not durable: the local runtime's queue (Miniflare's queue broker)
 * holds the messages it accepted in memory until its consumer acks them, so killing the
 * runtime loses them. On Cloudflare a resolved send is on disk (OUTBOX_KEEP_SENT_MS
 * unset: off). Rows move here with the delete that already rides on the actor's next
 * transaction, and go with its first transaction or alarm after the window: no storage
 * commit and no alarm of their own.
 */
import type { ActorSchema } from "./sqlite";

/**
 * When this isolate started its first actor: rows kept before then were sent by an
 * earlier run of the runtime, whose queue may have died with them.
 */
let runStartedAt: number | null = null;

function thisRunStartedAt(): number {
  runStartedAt ??= Date.now();
  return runStartedAt;
}

export class KeptEvents {
  /** When the oldest kept row was kept (null: none), so a transaction knows without a query whether to purge. */
  private oldestAt: number | null;
  /** Whether rows an earlier run of the runtime sent were put back into the outbox when this actor started. */
  readonly replayed: boolean;

  constructor(
    private readonly sql: SqlStorage,
    private readonly schema: ActorSchema,
    private readonly keepMs: number,
    startedAt = thisRunStartedAt(),
  ) {
    // The table comes with the first kept row, so a new actor starts without DDL (docs/decisions.md 13).
    this.oldestAt = schema.has("outbox_sent") ? this.readOldest() : null;
    this.replayed = this.oldestAt !== null && this.oldestAt < startedAt;
    if (this.replayed) this.replay(startedAt);
  }

  /** Keeps the events among delivered outbox rows; call in the transaction that deletes them from the outbox. */
  keep(seqs: readonly number[], now: number): void {
    this.schema.ensure(`CREATE TABLE IF NOT EXISTS outbox_sent (
      id INTEGER PRIMARY KEY,         -- in the order rows were kept
      target TEXT NOT NULL,           -- queue name
      payload TEXT NOT NULL,
      kept_at INTEGER NOT NULL
    )`);
    this.sql.exec(
      "INSERT INTO outbox_sent (target, payload, kept_at) SELECT target, payload, ? FROM outbox WHERE kind = 'event' AND seq IN (SELECT value FROM json_each(?)) ORDER BY seq",
      now,
      JSON.stringify(seqs),
    );
    this.oldestAt ??= now;
  }

  /** When the oldest kept row is due to go (null: none kept). */
  purgeAt(): number | null {
    return this.oldestAt === null ? null : this.oldestAt + this.keepMs;
  }

  /** Drops rows kept for the whole window, if any are due; call inside a transaction. */
  purge(now: number): void {
    const at = this.purgeAt();
    if (at === null || at > now) return;
    // Rows are kept in time order: the ones due are the first ids, found without reading the rest.
    this.sql.exec(
      "DELETE FROM outbox_sent WHERE id < coalesce((SELECT id FROM outbox_sent WHERE kept_at > ? ORDER BY id LIMIT 1), (SELECT max(id) + 1 FROM outbox_sent))",
      now - this.keepMs,
    );
    this.oldestAt = this.readOldest();
  }

  /** Puts the rows an earlier run sent back into the outbox (duplicates are fine: consumers deduplicate by event id). */
  private replay(startedAt: number): void {
    this.sql.exec(
      "INSERT INTO outbox (kind, target, payload) SELECT 'event', target, payload FROM outbox_sent WHERE kept_at < ? ORDER BY id",
      startedAt,
    );
    this.sql.exec("DELETE FROM outbox_sent WHERE kept_at < ?", startedAt);
    this.oldestAt = this.readOldest();
  }

  private readOldest(): number | null {
    return (
      this.sql.exec<{ kept_at: number }>("SELECT kept_at FROM outbox_sent ORDER BY id LIMIT 1").toArray()[0]?.kept_at ??
      null
    );
  }
}
