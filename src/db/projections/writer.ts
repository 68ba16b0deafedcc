/**
 * What every projection writes with: the transaction type, the settings read
 * from the environment, and the helpers for versioned, deadlock-free upserts
 * (latest version per row, rows in key order).
 */
import type { SQL } from "drizzle-orm";
import { getTableColumns, sql } from "drizzle-orm";
import type { PgTable } from "drizzle-orm/pg-core";
import type { Database } from "../client";

/** A transaction (or the database itself) that projections write through. */
export type Writer = Parameters<Parameters<Database["transaction"]>[0]>[0];

/** What the projections read from the environment. */
export interface ProjectionSettings {
  /** A guest cart row expires this long after its last change (GUEST_CART_TTL_DAYS, as the actors read it). */
  guestCartTtlMs: number;
}

/**
 * `SET col = excluded.col` for every column but the key, for versioned
 * upserts: the row is overwritten only by a newer version (setWhere).
 */
export function excludedColumns<T extends PgTable>(table: T, except: string[]): Record<string, SQL> {
  const set: Record<string, SQL> = {};
  for (const [key, column] of Object.entries(getTableColumns(table))) {
    if (!except.includes(key)) set[key] = sql.raw(`excluded."${column.name}"`);
  }
  return set;
}

/** Plain code-point order of keys, the order rows are locked in. */
export const byKey = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The latest version of each entity among `items` (one upsert statement may
 * touch a row once), in key order: concurrent batches then lock rows in the
 * same order and cannot deadlock each other.
 */
export function latestBy<T>(items: T[], key: (item: T) => string, version: (item: T) => number): T[] {
  const latest = new Map<string, T>();
  for (const item of items) {
    const seen = latest.get(key(item));
    if (!seen || version(item) > version(seen)) latest.set(key(item), item);
  }
  return [...latest].sort(([a], [b]) => byKey(a, b)).map(([, item]) => item);
}

/** latestBy for versioned records: the highest `version` of each key. */
export function latestVersions<T extends { version: number }>(items: T[], key: (item: T) => string): T[] {
  return latestBy(items, key, (item) => item.version);
}
