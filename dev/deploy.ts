// `npm run deploy [-- --env staging] [-- --dry-run] [-- --secrets-file FILE] [-- --url URL]`:
// a deployment, from a fresh Cloudflare account on, every step safe to repeat, in this order:
//   1. checks before anything changes: wrangler.toml (placeholders, the rate-limit namespace
//      ids, an environment lacking a binding), the pending Postgres migrations (they must leave
//      the running version working), the account (wrangler whoami), the secrets the Worker
//      lacks (none exists before its first upload) and a usable value for each;
//   2. the queues and dead-letter queues of wrangler.toml that do not exist yet;
//   3. the pending Postgres migrations, applied to DATABASE_URL;
//   4. wrangler deploy (its build step builds the static assets); until its secrets exist the
//      Worker refuses admin and webhook calls (docs/API.md, Identity);
//   5. the missing secrets, in one `wrangler secret bulk` (one new version);
//   6. verification: every required secret listed, and the Worker's own /healthz.
// --dry-run does every check that needs no account, builds the bundle (`wrangler deploy
// --dry-run`), says what the rest would do and lists the placeholders a real deploy refuses.
// docs/operations.md is the runbook around it.
import path from "node:path";
import { parseArgs } from "node:util";
import { checkConfig, envLabel, planNeeds, readEnvironment } from "./deploy/config-checks.ts";
import { checkHealth, deployedUrl } from "./deploy/health.ts";
import { checkMigrations } from "./deploy/migration-check.ts";
import type { SecretValues } from "./deploy/secrets.ts";
import { secretValueProblem, secretValues } from "./deploy/secrets.ts";
import type { WranglerRunner } from "./deploy/wrangler.ts";
import { ensureQueues, failureOf, runWrangler, secretNames } from "./deploy/wrangler.ts";
import { DEFAULT_MIGRATIONS, appliedMigrations, migrateDatabase, migrationPlan } from "./migrate.ts";
import { ROOT, isMain, sleep } from "./util.ts";

export type { WranglerRunner } from "./deploy/wrangler.ts";
export { queueNamesIn, runWrangler } from "./deploy/wrangler.ts";
export { pendingMigrations } from "./migrate.ts";

const DEFAULT_CONFIG = path.join(ROOT, "wrangler.toml");

export interface DeployPlan {
  workerName: string;
  /** Secrets that must be set; missing ones stop the deploy. */
  requiredSecrets: string[];
  /** Secrets the Worker degrades without (a warning). */
  optionalSecrets: string[];
  /** Every queue wrangler.toml names: producers, consumers and their dead-letter queues. */
  queues: string[];
  /** What the bindings ask of the Cloudflare plan. */
  needs: string[];
}

/** What wrangler.toml asks for, for the top level (production) or [env.<env>]. */
export function deployPlan(configPath = DEFAULT_CONFIG, env?: string): DeployPlan {
  const config = readEnvironment(configPath, env);
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
    needs: planNeeds(config),
  };
}

function step(title: string): void {
  console.log(`\n==> ${title}`);
}

function list(items: string[]): string {
  return items.map((i) => `\n  - ${i}`).join("");
}

export interface DeployOptions {
  dryRun: boolean;
  /** [env.<env>] of wrangler.toml (e.g. "staging"); undefined: the top level, production. */
  env?: string;
  configPath?: string;
  run?: WranglerRunner;
  /** The database the migrations go to (default: the DATABASE_URL secret's value given here). */
  databaseUrl?: string;
  /** A file of secret values (KEY=value lines or JSON); it wins over `secrets`. */
  secretsFile?: string;
  /** Secret values by name (default: the environment). */
  secrets?: SecretValues;
  /** Base URL whose /healthz verifies the deploy (default: the address wrangler deploy prints). */
  url?: string;
  migrationsFolder?: string;
  fetch?: typeof fetch;
  pause?: (ms: number) => Promise<void>;
}

/** The Postgres check: pending migrations, and whether each leaves the running version working. */
async function checkDatabase(opts: DeployOptions, databaseUrl: string | undefined, folder: string): Promise<string[]> {
  step("Postgres migrations: pending, and compatible with the version running");
  if (!databaseUrl && !opts.dryRun)
    throw new Error(
      "DATABASE_URL is not given: export it (the same connection string as the secret), or put it in --secrets-file",
    );
  const applied = databaseUrl
    ? await appliedMigrations(databaseUrl).catch((err: unknown) => {
        const why = err instanceof Error ? err.message : String(err);
        throw new Error(`cannot read the migrations applied to ${new URL(databaseUrl).host} (DATABASE_URL): ${why}`);
      })
    : [];
  const { pending, skipped } = migrationPlan(folder, applied);
  if (!databaseUrl) console.log(`no DATABASE_URL given: checking all ${pending.length} migrations`);
  else console.log(pending.length ? `pending on ${new URL(databaseUrl).host}: ${pending.join(", ")}` : "none pending");
  if (skipped.length)
    console.warn(
      `warning: drizzle's migrator never applies these: not in the database, yet older than the last one applied (merged late, or edited after they were applied); fold their changes into a new migration:${list(skipped)}`,
    );
  if (databaseUrl && applied.length === 0) {
    console.log("fresh database: no running version to stay compatible with");
    return pending;
  }
  const { breaking, contracts } = checkMigrations(folder, pending);
  for (const c of contracts) console.log(`contract step, acknowledged: ${c}`);
  if (breaking.length)
    throw new Error(
      `these migrations would break the version still running until the new code is up (docs/operations.md, Migrations): expand first, contract in a later release, or say why it is safe with a "-- contract: <why>" line:${list(breaking)}`,
    );
  return pending;
}

interface SecretsToPut {
  values: Record<string, string>;
  /** Names the Worker lacks with no usable value here, with the reason. */
  refused: string[];
}

/** Which secrets the Worker lacks (all of them before its first upload) and the values to put. */
function secretsToPut(
  plan: DeployPlan,
  existing: string[] | null,
  values: SecretValues,
  rotateHint: (name: string) => string,
): SecretsToPut {
  const out: SecretsToPut = { values: {}, refused: [] };
  for (const name of [...plan.requiredSecrets, ...plan.optionalSecrets]) {
    const required = plan.requiredSecrets.includes(name);
    const value = values[name];
    if (existing?.includes(name)) {
      if (value !== undefined) console.log(`${name} is already set: not changed (to rotate it: ${rotateHint(name)})`);
      continue;
    }
    if (value === undefined) {
      if (required) out.refused.push(`${name}: no value given`);
      else console.warn(`warning: ${name} is not set and no value is given: the Worker runs without it`);
      continue;
    }
    const problem = secretValueProblem(name, value);
    if (problem) out.refused.push(`${name}: the value given ${problem}`);
    else out.values[name] = value;
  }
  return out;
}

export async function deploy(opts: DeployOptions): Promise<void> {
  const run = opts.run ?? runWrangler;
  const configPath = opts.configPath ?? DEFAULT_CONFIG;
  const folder = opts.migrationsFolder ?? DEFAULT_MIGRATIONS;
  const configArgs = configPath === DEFAULT_CONFIG ? [] : ["--config", configPath];
  // Always name the environment: with [env.*] defined, wrangler warns about a bare command.
  const target = ["--env", opts.env ?? "", ...configArgs];
  const shown = (args: string[]) => `npx wrangler ${args.map((a) => (a === "" ? '""' : a)).join(" ")}`;

  const findings = checkConfig(configPath, opts.env);
  const plan = deployPlan(configPath, opts.env);
  const values = secretValues([...plan.requiredSecrets, ...plan.optionalSecrets], opts.secretsFile, opts.secrets);
  const databaseUrl = opts.databaseUrl ?? values.DATABASE_URL;

  step(
    `plan: Worker ${plan.workerName} from ${envLabel(opts.env)} of ${path.relative(ROOT, configPath) || configPath}`,
  );
  console.log(`needs from the Cloudflare plan:${list(plan.needs)}`);
  console.log(`secrets: ${plan.requiredSecrets.join(", ")} (required); ${plan.optionalSecrets.join(", ")} (optional)`);
  if (findings.problems.length) throw new Error(`wrangler.toml needs fixing:${list(findings.problems)}`);
  if (findings.placeholders.length) {
    if (!opts.dryRun)
      throw new Error(
        `placeholders would go out; replace them in wrangler.toml (docs/operations.md, First deploy):${list(findings.placeholders)}`,
      );
    console.log(`placeholders a real deploy refuses until they are replaced:${list(findings.placeholders)}`);
  }

  const pending = await checkDatabase(opts, databaseUrl, folder);

  if (opts.dryRun) {
    step("what a real deploy does next (not done: dry run)");
    const given = Object.keys(values).filter((n) => values[n] !== undefined);
    const refused = given.flatMap((n) => {
      const problem = secretValueProblem(n, values[n]!);
      return problem ? [`${n}: the value given ${problem}`] : [];
    });
    console.log(
      [
        "checks the account (wrangler whoami) and which secrets the Worker lacks (wrangler secret list)",
        `creates whichever of ${plan.queues.join(", ")} do not exist (wrangler queues create)`,
        pending.length ? `applies ${pending.join(", ")}` : "applies no migration",
        `uploads the Worker (${shown(["deploy", ...target])})`,
        `puts the secrets it lacks, after the upload (wrangler secret bulk); values given here for: ${given.join(", ") || "none"}${refused.length ? `; refused:${list(refused)}` : ""}`,
        "verifies: wrangler secret list, then the Worker's /healthz",
      ]
        .map((l, i) => `${i + 1}. ${l}`)
        .join("\n"),
    );
    step("bundle (wrangler deploy --dry-run)");
    const bundled = await run(["deploy", "--dry-run", "--outdir", ".wrangler/dry-run", ...target], { echo: true });
    if (bundled.status !== 0) throw new Error(`wrangler deploy --dry-run failed: ${failureOf(bundled)}`);
    return;
  }

  step("account");
  const who = await run(["whoami", ...configArgs]);
  if (who.status !== 0 || /not authenticated/i.test(who.stdout))
    throw new Error("not logged in to Cloudflare: run `npx wrangler login` (or set CLOUDFLARE_API_TOKEN)");
  console.log(
    who.stdout
      .split("\n")
      .find((l) => /associated with the email|logged in/i.test(l))
      ?.trim() ?? "logged in",
  );

  step(`secrets of ${plan.workerName}`);
  const existing = await secretNames(run, target);
  if (existing === null)
    console.log(
      `${plan.workerName} does not exist yet: its secrets go on right after its first upload (until then it refuses admin and webhook calls)`,
    );
  const put = secretsToPut(plan, existing, values, (n) => shown(["secret", "put", n, ...target]));
  if (put.refused.length)
    throw new Error(
      `no usable value for secrets ${plan.workerName} lacks; nothing was changed. Give each in --secrets-file FILE or the environment (docs/operations.md, First deploy):${list(put.refused)}`,
    );
  const toPut = Object.keys(put.values);
  console.log(toPut.length ? `to put after the upload: ${toPut.join(", ")}` : "all set");

  step("queues");
  const created = await ensureQueues(run, plan.queues, configArgs);
  console.log(created.length ? `created: ${created.join(", ")}` : `all ${plan.queues.length} exist`);

  step("Postgres migrations");
  await migrateDatabase(databaseUrl!, folder);
  console.log(pending.length ? `applied ${pending.join(", ")}` : "up to date");

  step(`upload (${shown(["deploy", ...target])})`);
  const deployed = await run(["deploy", ...target], { echo: true });
  if (deployed.status !== 0) throw new Error(`wrangler deploy failed: ${failureOf(deployed)}`);

  if (toPut.length) {
    step(`secrets (wrangler secret bulk: ${toPut.join(", ")})`);
    const bulk = await run(["secret", "bulk", ...target], { input: JSON.stringify(put.values) });
    if (bulk.status !== 0)
      throw new Error(
        `wrangler secret bulk failed: ${failureOf(bulk)}. The code is up and refuses admin and webhook calls; run npm run deploy again`,
      );
  }

  step("verify");
  const now = (await secretNames(run, target)) ?? [];
  const still = plan.requiredSecrets.filter((s) => !now.includes(s));
  if (still.length) throw new Error(`after the upload ${plan.workerName} still lacks ${still.join(", ")}`);
  console.log(`secrets set: ${now.join(", ")}`);
  const url = opts.url ?? deployedUrl(deployed.stdout);
  if (!url) {
    console.log("no address to check: give --url https://<your host> to check /healthz");
    return;
  }
  const health = await checkHealth(url, { fetch: opts.fetch ?? fetch, pause: opts.pause ?? sleep });
  if (health.failure && !health.checks.length) {
    console.warn(
      `warning: ${health.failure} (a new workers.dev address can take a few minutes): check ${url}/healthz yourself`,
    );
    return;
  }
  if (health.failure)
    throw new Error(
      `deployed, but ${health.failure}. Fix the secret (${shown(["secret", "put", "<NAME>", ...target])}) or roll back (docs/operations.md, Rolling back)`,
    );
  for (const w of health.warnings) console.warn(`warning: /healthz ${w}`);
  console.log(`${url}/healthz: ${health.checks.join(", ")}`);
}

if (isMain(import.meta.url)) {
  const { values: args } = parseArgs({
    options: {
      "dry-run": { type: "boolean", default: false },
      env: { type: "string", short: "e" },
      "secrets-file": { type: "string" },
      url: { type: "string" },
    },
  });
  const dryRun = args["dry-run"] === true;
  try {
    await deploy({ dryRun, env: args.env || undefined, secretsFile: args["secrets-file"], url: args.url });
    console.log(dryRun ? "\nDry run done: nothing was changed." : "\nDeployed.");
  } catch (err) {
    console.error(`\ndeploy stopped: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}
