/**
 * An actor's tables and indexes, as its modules declare them at start: each is
 * created the first time, and every later start (after eviction, restart or
 * an alarm) reads the catalog once instead of preparing a statement per
 * object: statement preparing was a tenth of workerd's samples in a cart run
 * where evicted carts kept waking up (docs/decisions.md 13).
 */
const DECLARES = /^\s*CREATE\s+(?:TABLE|INDEX)\s+IF\s+NOT\s+EXISTS\s+(\w+)/i;

export class ActorSchema {
  /** Table and index names in this actor's storage, read once per start. */
  private known: Set<string> | null = null;

  constructor(private readonly sql: SqlStorage) {}

  /** Runs a `CREATE TABLE|INDEX IF NOT EXISTS name ...` statement unless `name` exists. */
  ensure(ddl: string): void {
    const name = DECLARES.exec(ddl)?.[1];
    if (!name) throw new Error(`not a CREATE TABLE|INDEX IF NOT EXISTS statement: ${ddl.slice(0, 80)}`);
    if (this.has(name)) return;
    this.sql.exec(ddl);
    this.known!.add(name);
  }

  /** Whether a table or index of that name exists. */
  has(name: string): boolean {
    this.known ??= new Set(
      this.sql
        .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type IN ('table', 'index')")
        .toArray()
        .map((r) => r.name),
    );
    return this.known.has(name);
  }

  /** Storage was wiped (deleteAll) or rolled back: read the catalog again next time. */
  forget(): void {
    this.known = null;
  }
}
