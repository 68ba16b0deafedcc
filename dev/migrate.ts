// Applies the drizzle-kit SQL migrations (migrations/*.sql + migrations/meta/_journal.json)
// with drizzle-orm's node-postgres migrator, and creates/drops databases for dev and tests.
import fs from "node:fs";
import path from "node:path";
import pg from "pg";
import { drizzle } from "drizzle-orm/node-postgres";
import { readMigrationFiles } from "drizzle-orm/migrator";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import { ROOT, isMain, tcpAnswers } from "./util.ts";
import { devDatabaseName, requestedPort } from "./stack/scope.ts";

export const DEFAULT_MIGRATIONS = path.join(ROOT, "migrations");
export const DEV_SERVER_URL = "postgres://postgres@127.0.0.1:5432/postgres";

/**
 * The Postgres server the tests create their databases on: TEST_PG_SERVER_URL, else
 * 127.0.0.1:5432. Where nothing answers, tests and their stacks use an embedded PGlite;
 * `TEST_PG_SERVER_URL=postgres://postgres@127.0.0.1:1/postgres npm test` tries that path
 * on a machine whose Postgres keeps running.
 */
export function testServerUrl(): string {
  return process.env.TEST_PG_SERVER_URL ?? DEV_SERVER_URL;
}

/** True if something accepts connections where `serverUrl` points. */
export function serverAnswers(serverUrl: string, timeoutMs = 1000): Promise<boolean> {
  const url = new URL(serverUrl);
  return tcpAnswers(url.hostname.replace(/^\[|\]$/g, ""), Number(url.port || 5432), timeoutMs);
}

// Any constant works; it only has to be the same for every migrating process.
const MIGRATION_LOCK = 0x65646765; // "edge"

export async function migrateDatabase(databaseUrl: string, migrationsFolder = DEFAULT_MIGRATIONS): Promise<void> {
  const folder = path.resolve(ROOT, migrationsFolder);
  if (!fs.existsSync(path.join(folder, "meta", "_journal.json"))) {
    // Until the first `npm run db:generate` there is nothing to apply.
    console.warn(`[migrate] no migrations in ${folder} (meta/_journal.json missing); nothing applied`);
    return;
  }
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    // Two processes migrating the same database (dev stack + a test) take turns.
    await client.query("select pg_advisory_lock($1)", [MIGRATION_LOCK]);
    await migrate(drizzle(client), { migrationsFolder: folder });
  } finally {
    await client.query("select pg_advisory_unlock($1)", [MIGRATION_LOCK]).catch(() => {});
    await client.end();
  }
}

/** A migration drizzle's migrator recorded as applied (its journal table, drizzle.__drizzle_migrations). */
export interface AppliedMigration {
  hash: string;
  /** The migration's journal time (`when`), in ms. */
  createdAt: number;
}

/** What the database's drizzle journal records as applied; none before the first migration. */
export async function appliedMigrations(databaseUrl: string): Promise<AppliedMigration[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const exists = await client.query("select to_regclass('drizzle.__drizzle_migrations') is not null as ok");
    if (!exists.rows[0].ok) return [];
    const { rows } = await client.query<{ hash: string; created_at: string }>(
      "select hash, created_at from drizzle.__drizzle_migrations",
    );
    return rows.map((r) => ({ hash: r.hash, createdAt: Number(r.created_at) }));
  } finally {
    await client.end();
  }
}

export interface MigrationPlan {
  /** Tags drizzle's migrator applies on its next run, in journal order. */
  pending: string[];
  /**
   * Tags it never applies: not recorded (by their hash) yet dated before the last one recorded:
   * merged after a newer migration was applied, or edited after they were applied.
   */
  skipped: string[];
}

/**
 * What drizzle's migrator does with `folder` on a database that recorded `applied`: it applies, in
 * journal order, each migration whose journal time is after that of the last one recorded, however
 * many rows there are (drizzle-orm's pg dialect, `migrate`).
 */
export function migrationPlan(migrationsFolder: string, applied: AppliedMigration[]): MigrationPlan {
  const folder = path.resolve(ROOT, migrationsFolder);
  const entries = (
    JSON.parse(fs.readFileSync(path.join(folder, "meta", "_journal.json"), "utf8")) as { entries: { tag: string }[] }
  ).entries;
  const last = Math.max(...applied.map((m) => m.createdAt));
  const recorded = new Set(applied.map((m) => m.hash));
  const plan: MigrationPlan = { pending: [], skipped: [] };
  // readMigrationFiles reads the same journal, in the same order, and hashes each file as the migrator does.
  readMigrationFiles({ migrationsFolder: folder }).forEach((m, i) => {
    const tag = entries[i]!.tag;
    if (!(m.folderMillis <= last)) plan.pending.push(tag);
    else if (!recorded.has(m.hash)) plan.skipped.push(tag);
  });
  return plan;
}

/** Migrations of `folder` drizzle's migrator would apply to `databaseUrl`. */
export async function pendingMigrations(databaseUrl: string, folder = DEFAULT_MIGRATIONS): Promise<string[]> {
  return migrationPlan(folder, await appliedMigrations(databaseUrl)).pending;
}

function quoteIdent(name: string): string {
  // Names come from code, not users; still refuse anything that would need escaping.
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(name)) throw new Error(`Invalid database name: ${name}`);
  return `"${name}"`;
}

/** URL of database `name` on the server of `serverUrl`. */
export function databaseUrlFor(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function withServer<T>(serverUrl: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Creates database `name` if missing; returns its URL. `serverUrl` is any database on that server. */
export async function ensureDatabase(serverUrl: string, name: string): Promise<string> {
  await withServer(serverUrl, async (c) => {
    const { rowCount } = await c.query("select 1 from pg_database where datname = $1", [name]);
    if (rowCount) return;
    try {
      await c.query(`create database ${quoteIdent(name)}`);
    } catch (err) {
      // Lost a race with another process creating it: that is fine.
      const code = (err as { code?: string }).code;
      if (code !== "42P04" && code !== "23505") throw err;
    }
  });
  return databaseUrlFor(serverUrl, name);
}

/** Drops database `name`, disconnecting whoever still uses it (Postgres 13+). */
export async function dropDatabase(serverUrl: string, name: string): Promise<void> {
  await withServer(serverUrl, (c) => c.query(`drop database if exists ${quoteIdent(name)} with (force)`));
}

/** A name no concurrent run will pick, e.g. edge_cart_e2e_k3j9x2ab. */
export function randomDatabaseName(prefix: string): string {
  return `${prefix}_${Math.random().toString(36).slice(2, 10)}`;
}

/** A new empty database on the server, named `<prefix>_<random>` so no concurrent run picks it; `drop` removes it. */
export async function freshDatabase(
  serverUrl: string,
  prefix: string,
): Promise<{ name: string; url: string; drop: () => Promise<void> }> {
  const name = randomDatabaseName(prefix);
  const url = await ensureDatabase(serverUrl, name);
  return { name, url, drop: () => dropDatabase(serverUrl, name) };
}

if (isMain(import.meta.url)) {
  // The database of the stack on $PORT (edge_cart_dev for 8787, edge_cart_dev_<port> for others).
  const url = process.env.DATABASE_URL ?? (await ensureDatabase(DEV_SERVER_URL, devDatabaseName(requestedPort())));
  await migrateDatabase(url, process.env.MIGRATIONS_DIR ?? DEFAULT_MIGRATIONS);
  console.log(`[migrate] ${new URL(url).pathname.slice(1)} is up to date`);
}
