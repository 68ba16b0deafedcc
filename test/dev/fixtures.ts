// A throwaway drizzle-kit style migrations folder (SQL files + meta/_journal.json).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/** A drizzle-kit migrations folder; each migration is dated a second after the one before unless `when` says. */
export function writeMigrations(migrations: { tag: string; sql: string[]; when?: number }[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "edge-cart-migrations-"));
  fs.mkdirSync(path.join(dir, "meta"));
  const entries = migrations.map((m, idx) => {
    fs.writeFileSync(path.join(dir, `${m.tag}.sql`), m.sql.join("\n--> statement-breakpoint\n"));
    return { idx, version: "7", when: m.when ?? 1_700_000_000_000 + idx * 1000, tag: m.tag, breakpoints: true };
  });
  fs.writeFileSync(
    path.join(dir, "meta", "_journal.json"),
    JSON.stringify({ version: "7", dialect: "postgresql", entries }, null, 2),
  );
  return dir;
}

export const SAMPLE_MIGRATIONS = [
  {
    tag: "0000_init",
    sql: [
      `CREATE TABLE "skus" ("id" text PRIMARY KEY NOT NULL, "name" text NOT NULL, "price" integer NOT NULL);`,
      `CREATE INDEX "skus_name_idx" ON "skus" ("name");`,
    ],
  },
  {
    tag: "0001_stock",
    sql: [`ALTER TABLE "skus" ADD COLUMN "stock" integer DEFAULT 0 NOT NULL;`],
  },
];
