import { ActorSchema } from "./sqlite";

/**
 * The actors' clock: real time plus an offset that only a test or development
 * environment may set (`advanceClock` on any actor), so tests move time by
 * advancing it instead of rewriting stored rows. The offset is kept in the
 * actor's storage, so it holds across eviction; in production it is never read.
 */

/** Whether this environment lets an actor's clock be moved (ENVIRONMENT "test" or "development"). */
export function clockAdjustable(env: Env): boolean {
  return env.ENVIRONMENT === "test" || env.ENVIRONMENT === "development";
}

/** The stored offset (ms ahead of real time); 0 when none was set. */
export function readClockOffset(sql: SqlStorage, schema = new ActorSchema(sql)): number {
  // The table exists only once a clock was moved: a plain start writes nothing.
  if (!schema.has("actor_clock")) return 0;
  return sql.exec<{ offset_ms: number }>("SELECT offset_ms FROM actor_clock WHERE id = 1").toArray()[0]?.offset_ms ?? 0;
}

export function writeClockOffset(sql: SqlStorage, schema: ActorSchema, offsetMs: number): void {
  schema.ensure(
    "CREATE TABLE IF NOT EXISTS actor_clock (id INTEGER PRIMARY KEY CHECK (id = 1), offset_ms INTEGER NOT NULL)",
  );
  sql.exec(
    "INSERT INTO actor_clock (id, offset_ms) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET offset_ms = excluded.offset_ms",
    offsetMs,
  );
}
