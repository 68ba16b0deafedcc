// Postgres migrations are applied before the new code goes out, so for a while the version
// still running reads and writes the migrated schema: every pending migration must leave that
// version working (expand now, contract in a later release; docs/operations.md, Migrations).
// This flags the statements that obviously break it.
import fs from "node:fs";
import path from "node:path";

/** A migration that says why its breaking statements are safe now, e.g. `-- contract: skus.legacy unused since 2026-05`. */
const CONTRACT = /^\s*--\s*contract:\s*(\S.*)$/im;

const BREAKING: [RegExp, string][] = [
  [/\bdrop\s+table\b/i, "drops a table the running version may still use"],
  [/\bdrop\s+column\b/i, "drops a column the running version may still read or write"],
  [/^alter\s+table\b.*\brename\s+(column\b|to\b|\S+\s+to\b)/i, "renames what the running version uses by its old name"],
  [/\balter\s+column\s+\S+\s+set\s+not\s+null\b/i, "makes a column NOT NULL that the running version may leave empty"],
];

/** ADD COLUMN ... NOT NULL without a DEFAULT: the running version's inserts do not name the column. */
function addsRequiredColumn(statement: string): boolean {
  return /\badd\s+column\b/i.test(statement) && /\bnot\s+null\b/i.test(statement) && !/\bdefault\b/i.test(statement);
}

/** SQL statements without comments (drizzle-kit's `--> statement-breakpoint` is a comment too). */
function statementsOf(sql: string): string[] {
  return sql
    .replace(/--[^\n]*/g, "")
    .split(";")
    .map((s) => s.replace(/\s+/g, " ").trim())
    .filter(Boolean);
}

export interface MigrationCheck {
  /** "0004_x: DROP ... (drops a column ...)" for each breaking statement of an unacknowledged migration. */
  breaking: string[];
  /** Migrations with breaking statements that say why they are safe (`-- contract: ...`). */
  contracts: string[];
}

/** Checks the migrations `tags` of `folder` (drizzle-kit's `<tag>.sql` files). */
export function checkMigrations(folder: string, tags: string[]): MigrationCheck {
  const result: MigrationCheck = { breaking: [], contracts: [] };
  for (const tag of tags) {
    const sql = fs.readFileSync(path.join(folder, `${tag}.sql`), "utf8");
    const found: string[] = [];
    for (const statement of statementsOf(sql)) {
      const why = BREAKING.find(([pattern]) => pattern.test(statement))?.[1];
      const reason = why ?? (addsRequiredColumn(statement) ? "adds a NOT NULL column without a DEFAULT" : undefined);
      if (reason) found.push(`${tag}: ${statement.slice(0, 160)} (${reason})`);
    }
    if (!found.length) continue;
    const contract = CONTRACT.exec(sql)?.[1];
    if (contract) result.contracts.push(`${tag} (contract: ${contract.trim()})`);
    else result.breaking.push(...found);
  }
  return result;
}
