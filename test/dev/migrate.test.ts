// dev/migrate.ts against the real Postgres of this machine with a temporary migrations folder.
import fs from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import pg from "pg";
import { pendingMigrations } from "../../dev/deploy.ts";
import {
  appliedMigrations,
  dropDatabase,
  ensureDatabase,
  migrateDatabase,
  migrationPlan,
  randomDatabaseName,
  serverAnswers,
  testServerUrl,
} from "../../dev/migrate.ts";
import { SAMPLE_MIGRATIONS, writeMigrations } from "./fixtures.ts";

const SERVER_URL = testServerUrl();
// Creating and dropping databases needs a Postgres server; without one (embedded PGlite path) there is nothing to test.
const HAS_SERVER = await serverAnswers(SERVER_URL);
const name = randomDatabaseName("edge_cart_migratetest");
const folders: string[] = [];

afterAll(async () => {
  if (HAS_SERVER) await dropDatabase(SERVER_URL, name);
  for (const f of folders) fs.rmSync(f, { recursive: true, force: true });
});

async function query(url: string, sql: string) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql)).rows;
  } finally {
    await c.end();
  }
}

describe.runIf(HAS_SERVER)(`migrate (on the Postgres server at ${new URL(SERVER_URL).host})`, () => {
  it("ensureDatabase creates once and returns the database URL", async () => {
    const url = await ensureDatabase(SERVER_URL, name);
    expect(new URL(url).pathname).toBe(`/${name}`);
    // Concurrent calls race on CREATE DATABASE; all must succeed.
    await Promise.all([ensureDatabase(SERVER_URL, name), ensureDatabase(SERVER_URL, name)]);
    expect(await query(url, "select current_database() as db")).toEqual([{ db: name }]);
    await expect(ensureDatabase(SERVER_URL, 'x"; drop')).rejects.toThrow(/Invalid database name/);
  });

  it("applies drizzle-kit migrations once, in order, and is idempotent", async () => {
    const url = await ensureDatabase(SERVER_URL, name);
    const dir = writeMigrations(SAMPLE_MIGRATIONS.slice(0, 1));
    folders.push(dir);
    await migrateDatabase(url, dir);
    const cols = async () =>
      (
        await query(
          url,
          "select column_name from information_schema.columns where table_name = 'skus' order by ordinal_position",
        )
      ).map((r) => r.column_name);
    expect(await cols()).toEqual(["id", "name", "price"]);

    // A later migration added to the journal is applied on the next run; the first is not re-run.
    const dir2 = writeMigrations(SAMPLE_MIGRATIONS);
    folders.push(dir2);
    await Promise.all([migrateDatabase(url, dir2), migrateDatabase(url, dir2)]);
    expect(await cols()).toEqual(["id", "name", "price", "stock"]);
    const applied = await query(url, "select count(*)::int as n from drizzle.__drizzle_migrations");
    expect(applied).toEqual([{ n: 2 }]);
  });

  it("counts as pending what drizzle's migrator applies: newer than the last applied, whatever the row count", async () => {
    const url = await ensureDatabase(SERVER_URL, `${name}_plan`);
    try {
      const T = 1_700_000_000_000;
      const init = { ...SAMPLE_MIGRATIONS[0]!, when: T };
      const stock = { ...SAMPLE_MIGRATIONS[1]!, when: T + 2000 };
      const released = writeMigrations([init, stock]);
      // A branch's migration, generated before 0001_stock but merged after it went out, then a new one.
      const merged = writeMigrations([
        init,
        { tag: "0001_branch", sql: [`CREATE TABLE "labels" ("id" text PRIMARY KEY NOT NULL);`], when: T + 1000 },
        stock,
        { tag: "0002_note", sql: [`ALTER TABLE "skus" ADD COLUMN "note" text;`], when: T + 3000 },
      ]);
      folders.push(released, merged);
      await migrateDatabase(url, released);
      // Two rows recorded, but 0001_stock is applied and 0001_branch never will be.
      expect(await pendingMigrations(url, merged)).toEqual(["0002_note"]);
      expect(migrationPlan(merged, await appliedMigrations(url))).toEqual({
        pending: ["0002_note"],
        skipped: ["0001_branch"],
      });
      await migrateDatabase(url, merged);
      expect(await pendingMigrations(url, merged)).toEqual([]);
      const tables = await query(url, "select to_regclass('labels') is not null as labels");
      expect(tables).toEqual([{ labels: false }]);
    } finally {
      await dropDatabase(SERVER_URL, `${name}_plan`);
    }
  });

  it("does nothing for a folder without a journal", async () => {
    const url = await ensureDatabase(SERVER_URL, name);
    await expect(migrateDatabase(url, "/nonexistent-migrations")).resolves.toBeUndefined();
  });

  it("dropDatabase removes it even with open connections", async () => {
    const url = await ensureDatabase(SERVER_URL, name);
    const open = new pg.Client({ connectionString: url });
    await open.connect();
    open.on("error", () => {});
    await dropDatabase(SERVER_URL, name);
    expect(await query(SERVER_URL, `select count(*)::int as n from pg_database where datname = '${name}'`)).toEqual([
      { n: 0 },
    ]);
    await open.end().catch(() => {});
  });
});
