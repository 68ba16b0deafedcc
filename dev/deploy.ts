// `npm run deploy [-- --dry-run]`: everything a deployment needs, in order, each step
// idempotent:
//   1. the account (wrangler whoami);
//   2. the secrets the Worker refuses to work without (wrangler secret list);
//   3. the queues and dead-letter queues of wrangler.toml (wrangler queues list, then
//      create only the missing ones);
//   4. the Postgres migrations, applied to DATABASE_URL (the same value as the secret);
//   5. wrangler deploy (its build step also builds the API reference assets).
// --dry-run does every step that needs no account (config, migrations folder, a
// DATABASE_URL's pending migrations when one is given, the bundle via
// `wrangler deploy --dry-run`) and says what it would check or create for the others.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import pg from "pg";
import { unstable_readConfig } from "wrangler";
import { DEFAULT_MIGRATIONS, migrateDatabase } from "./migrate.ts";
import { ROOT, isMain } from "./util.ts";

/** Runs wrangler with arguments; returns its exit status and output. Injected by the tests. */
export type WranglerRunner = (
  args: string[],
  opts?: { inherit?: boolean },
) => { status: number; stdout: string; stderr: string };

export const runWrangler: WranglerRunner = (args, opts = {}) => {
  const bin = path.join(ROOT, "node_modules", ".bin", "wrangler");
  const res = spawnSync(bin, args, {
    cwd: ROOT,
    encoding: "utf8",
    stdio: opts.inherit ? "inherit" : "pipe",
    env: process.env,
  });
  return { status: res.status ?? 1, stdout: res.stdout ?? "", stderr: res.stderr ?? "" };
};

export interface DeployPlan {
  workerName: string;
  /** Secrets that must be set; missing ones stop the deploy. */
  requiredSecrets: string[];
  /** Secrets the Worker degrades without (a warning). */
  optionalSecrets: string[];
  /** Every queue wrangler.toml names: producers, consumers and their dead-letter queues. */
  queues: string[];
}

/** What wrangler.toml asks for. */
export function deployPlan(configPath = path.join(ROOT, "wrangler.toml")): DeployPlan {
  const config = unstable_readConfig({ config: configPath });
  const queues = new Set<string>();
  for (const p of config.queues.producers ?? []) queues.add(p.queue);
  for (const c of config.queues.consumers ?? []) {
    queues.add(c.queue);
    if (c.dead_letter_queue) queues.add(c.dead_letter_queue);
  }
  const isSet = (name: string) => typeof config.vars[name] === "string" && (config.vars[name] as string).trim() !== "";
  const jwks = isSet("JWT_JWKS_URL");
  // With a key set, the Worker refuses every user token until JWT_ISSUER and JWT_AUDIENCE are set (in [vars] or as secrets).
  const identity = jwks ? ["JWT_ISSUER", "JWT_AUDIENCE"].filter((name) => !isSet(name)) : ["JWT_SECRET"];
  return {
    workerName: config.name ?? "edge-cart",
    requiredSecrets: [...identity, "ADMIN_TOKEN", "PAYMENT_WEBHOOK_SECRET", "DATABASE_URL"],
    optionalSecrets: ["UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN"],
    queues: [...queues].sort(),
  };
}

/** Queue names in `wrangler queues list` output (a table; any cell that is exactly a name counts). */
export function queueNamesIn(listing: string): Set<string> {
  const names = new Set<string>();
  for (const line of listing.split("\n")) {
    for (const cell of line.split(/[│|]/)) {
      const name = cell.trim();
      if (/^[a-z0-9][a-z0-9-]{0,62}$/.test(name)) names.add(name);
    }
  }
  return names;
}

/** Lists every page of queues (until a page adds no name). */
export function existingQueues(run: WranglerRunner): Set<string> {
  const all = new Set<string>();
  for (let page = 1; page <= 50; page++) {
    const res = run(["queues", "list", "--page", String(page)]);
    if (res.status !== 0)
      throw new Error(`wrangler queues list failed: ${(res.stderr || res.stdout).trim().split("\n").pop()}`);
    const before = all.size;
    for (const name of queueNamesIn(res.stdout)) all.add(name);
    if (all.size === before) break;
  }
  return all;
}

/** Creates the queues that do not exist yet; returns the ones it created. */
export function ensureQueues(run: WranglerRunner, wanted: string[]): string[] {
  const existing = existingQueues(run);
  const missing = wanted.filter((q) => !existing.has(q));
  for (const queue of missing) {
    const res = run(["queues", "create", queue]);
    if (res.status !== 0)
      throw new Error(`wrangler queues create ${queue} failed: ${(res.stderr || res.stdout).trim().split("\n").pop()}`);
  }
  return missing;
}

/** Names of the Worker's secrets, or null when the Worker does not exist yet. */
export function secretNames(run: WranglerRunner, workerName: string): string[] | null {
  const res = run(["secret", "list", "--name", workerName, "--format", "json"]);
  if (res.status !== 0) {
    if (/does not exist|not found|10007/i.test(res.stderr + res.stdout)) return null;
    throw new Error(`wrangler secret list failed: ${(res.stderr || res.stdout).trim().split("\n").pop()}`);
  }
  const json = res.stdout.slice(res.stdout.indexOf("["));
  return (JSON.parse(json) as { name: string }[]).map((s) => s.name);
}

interface Journal {
  entries: { tag: string }[];
}

/** Migrations in migrations/ not yet recorded in the database's drizzle journal. */
export async function pendingMigrations(databaseUrl: string, folder = DEFAULT_MIGRATIONS): Promise<string[]> {
  const journal = JSON.parse(fs.readFileSync(path.join(folder, "meta", "_journal.json"), "utf8")) as Journal;
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const exists = await client.query("select to_regclass('drizzle.__drizzle_migrations') is not null as ok");
    const applied = exists.rows[0].ok
      ? (await client.query("select count(*)::int as n from drizzle.__drizzle_migrations")).rows[0].n
      : 0;
    return journal.entries.slice(applied).map((e) => e.tag);
  } finally {
    await client.end();
  }
}

function step(title: string): void {
  console.log(`\n==> ${title}`);
}

export async function deploy(opts: { dryRun: boolean; run?: WranglerRunner; databaseUrl?: string }): Promise<void> {
  const run = opts.run ?? runWrangler;
  const databaseUrl = opts.databaseUrl ?? process.env.DATABASE_URL;
  const plan = deployPlan();
  const journal = path.join(DEFAULT_MIGRATIONS, "meta", "_journal.json");
  const migrations = (JSON.parse(fs.readFileSync(journal, "utf8")) as Journal).entries.map((e) => e.tag);

  step("account");
  if (opts.dryRun) console.log("dry run: not checked (wrangler whoami)");
  else {
    const who = run(["whoami"]);
    if (who.status !== 0 || /not authenticated/i.test(who.stdout))
      throw new Error("not logged in to Cloudflare: run `npx wrangler login` (or set CLOUDFLARE_API_TOKEN)");
    console.log(
      who.stdout
        .split("\n")
        .find((l) => /associated with the email|logged in/i.test(l))
        ?.trim() ?? "logged in",
    );
  }

  step(`secrets of ${plan.workerName}`);
  if (opts.dryRun) {
    console.log(
      `dry run: would check ${plan.requiredSecrets.join(", ")} are set (and warn without ${plan.optionalSecrets.join(", ")})`,
    );
  } else {
    const names = secretNames(run, plan.workerName) ?? [];
    const missing = plan.requiredSecrets.filter((s) => !names.includes(s));
    if (missing.length) {
      throw new Error(
        `secrets not set: ${missing.join(", ")}. Set each with: ${missing.map((s) => `npx wrangler secret put ${s}`).join("; ")}`,
      );
    }
    const missingOptional = plan.optionalSecrets.filter((s) => !names.includes(s));
    if (missingOptional.length)
      console.warn(`warning: ${missingOptional.join(", ")} not set: cart snapshots in Redis are off until they are`);
    console.log(
      `set: ${plan.requiredSecrets.concat(plan.optionalSecrets.filter((s) => names.includes(s))).join(", ")}`,
    );
  }

  step("queues");
  if (opts.dryRun) console.log(`dry run: would create whichever of ${plan.queues.join(", ")} do not exist`);
  else {
    const created = ensureQueues(run, plan.queues);
    console.log(created.length ? `created: ${created.join(", ")}` : `all ${plan.queues.length} exist`);
  }

  step("Postgres migrations");
  if (!databaseUrl) {
    if (!opts.dryRun)
      throw new Error(
        "DATABASE_URL is not set here: export the same connection string as the secret, e.g. DATABASE_URL='postgres://…neon.tech/…?sslmode=require' npm run deploy",
      );
    console.log(
      `dry run: ${migrations.length} migrations in migrations/ (${migrations.join(", ")}); give DATABASE_URL to see which are pending`,
    );
  } else {
    const pending = await pendingMigrations(databaseUrl);
    const where = new URL(databaseUrl).host;
    if (opts.dryRun)
      console.log(pending.length ? `dry run: would apply ${pending.join(", ")} to ${where}` : `${where} is up to date`);
    else {
      await migrateDatabase(databaseUrl);
      console.log(pending.length ? `applied ${pending.join(", ")} to ${where}` : `${where} is up to date`);
    }
  }

  step(opts.dryRun ? "bundle (wrangler deploy --dry-run)" : "deploy (wrangler deploy)");
  const deployed = run(opts.dryRun ? ["deploy", "--dry-run", "--outdir", ".wrangler/dry-run"] : ["deploy"], {
    inherit: true,
  });
  if (deployed.status !== 0)
    throw new Error(`wrangler deploy${opts.dryRun ? " --dry-run" : ""} failed (exit ${deployed.status})`);
}

if (isMain(import.meta.url)) {
  const dryRun = process.argv.includes("--dry-run");
  try {
    await deploy({ dryRun });
    console.log(dryRun ? "\nDry run done: nothing was changed." : "\nDeployed.");
  } catch (err) {
    console.error(`\ndeploy stopped: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}
