// dev/deploy.ts (`npm run deploy`) against a recording stand-in for the wrangler CLI, which
// plays a Cloudflare account (queues, Workers, their secrets), records every command in order
// and fails the test if a placeholder goes out; the migrations go to a real Postgres.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { unstable_readConfig } from "wrangler";
import type { DeployOptions, WranglerRunner } from "../../dev/deploy.ts";
import { deploy, deployPlan, pendingMigrations, queueNamesIn } from "../../dev/deploy.ts";
import { checkConfig } from "../../dev/deploy/config-checks.ts";
import { checkMigrations } from "../../dev/deploy/migration-check.ts";
import type { EmbeddedPostgres } from "../../dev/embedded-postgres.ts";
import { startEmbeddedPostgres } from "../../dev/embedded-postgres.ts";
import { DEFAULT_MIGRATIONS, freshDatabase, migrateDatabase, serverAnswers, testServerUrl } from "../../dev/migrate.ts";
import { ROOT } from "../../dev/util.ts";
import { writeMigrations } from "./fixtures.ts";

const REPO_CONFIG = path.join(ROOT, "wrangler.toml");
const SERVER = testServerUrl();
const HAS_SERVER = await serverAnswers(SERVER);
const databases: (() => Promise<void>)[] = [];
const embedded: EmbeddedPostgres[] = [];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "edge-cart-deploy-"));

/** An empty database on this machine's Postgres (an embedded one where none answers). */
async function emptyDatabase(): Promise<string> {
  if (!HAS_SERVER) {
    const db = await startEmbeddedPostgres();
    embedded.push(db);
    return db.url;
  }
  const fresh = await freshDatabase(SERVER, "edge_cart_deploytest");
  databases.push(fresh.drop);
  return fresh.url;
}

let nextId = 71_000;
/** The repository's wrangler.toml with its placeholders filled (each namespace id unique), then `edit`ed. */
function configFile(edit: (toml: string) => string = (t) => t): string {
  const toml = fs.readFileSync(REPO_CONFIG, "utf8").replace(/"REPLACE_ME"/g, () => `"${nextId++}"`);
  const file = path.join(tmp, `wrangler-${nextId++}.toml`);
  fs.writeFileSync(file, edit(toml));
  return file;
}

const LISTING = (names: string[]) =>
  [
    "┌──────────────────────────────────┬──────────────┬─────────────────────────────┐",
    "│ id                               │ name         │ created_on                  │",
    ...names.map((n) => `│ 0123456789abcdef0123456789abcdef │ ${n} │ 2026-01-01T00:00:00.000Z │`),
    "└──────────────────────────────────┴──────────────┴─────────────────────────────┘",
  ].join("\n");

/** A Cloudflare account as the stand-in sees it: its queues, and each Worker's secrets (a Worker exists once uploaded). */
interface Account {
  queues: string[];
  workers: Map<string, { secrets: Map<string, string> }>;
}

const DEV_DEFAULTS = ["dev-jwt-secret", "dev-admin-token", "dev-webhook-secret"];

/** Anything that must never leave this machine: wrangler.toml placeholders, example ids, local defaults. */
function placeholderIn(value: string): boolean {
  return value.includes("REPLACE_ME") || DEV_DEFAULTS.includes(value);
}

/**
 * The recording stand-in for `wrangler`: answers like the CLI does against `account`, records
 * each command (without `--config`) on `timeline` next to the script's own step lines, and
 * collects `violations`: a placeholder in what `deploy` uploads or in a secret value, or a
 * secret put on a Worker that does not exist yet.
 */
function recordingWrangler(account: Account, configPath: string) {
  const timeline: string[] = [];
  const calls: string[][] = [];
  const violations: string[] = [];
  const bulkInputs: Record<string, string>[] = [];
  const run: WranglerRunner = (argv, opts = {}) => {
    const at = argv.indexOf("--config");
    if (at >= 0 && argv[at + 1] !== configPath) violations.push(`--config ${argv[at + 1]}, not ${configPath}`);
    const args = at >= 0 ? [...argv.slice(0, at), ...argv.slice(at + 2)] : [...argv];
    calls.push(args);
    timeline.push(`wrangler ${args.join(" ")}`);
    const envAt = args.indexOf("--env");
    const env = envAt >= 0 && args[envAt + 1] ? args[envAt + 1] : undefined;
    const config = unstable_readConfig({ config: configPath, env });
    const worker = account.workers.get(config.name!);
    const ok = (stdout = "") => ({ status: 0, stdout, stderr: "" });
    const [cmd, sub] = args;
    if (cmd === "whoami") return ok("You are logged in with an API Token, associated with the email ops@example.com.");
    if (cmd === "queues" && sub === "list") return ok(LISTING(account.queues));
    if (cmd === "queues" && sub === "create") {
      account.queues.push(args[2]!);
      return ok(`Created queue ${args[2]}`);
    }
    if (cmd === "secret" && sub === "list") {
      if (!worker)
        return {
          status: 1,
          stdout: "",
          stderr: `✘ [ERROR] Worker "${config.name}" not found.\n\nIf this is a new Worker, run \`wrangler deploy\` first to create it.`,
        };
      return ok(JSON.stringify([...worker.secrets.keys()].map((name) => ({ name, type: "secret_text" }))));
    }
    if (cmd === "secret" && sub === "bulk") {
      const values = JSON.parse(opts.input ?? "{}") as Record<string, string>;
      bulkInputs.push(values);
      if (!worker) violations.push(`secret bulk before ${config.name} exists`);
      for (const [name, value] of Object.entries(values)) {
        if (placeholderIn(value)) violations.push(`secret ${name} = ${value}`);
        worker?.secrets.set(name, value);
      }
      return ok(`✨ ${Object.keys(values).length} secrets successfully uploaded`);
    }
    if (cmd === "deploy" && args.includes("--dry-run")) return ok("--dry-run: exiting now.");
    if (cmd === "deploy") {
      // What the upload sends: every var, binding and rate-limit namespace of that environment.
      if (placeholderIn(JSON.stringify(config))) violations.push(`deploy of ${config.name} sends REPLACE_ME`);
      for (const r of config.ratelimits)
        if (["1001", "1002"].includes(r.namespace_id)) violations.push(`${r.name} namespace ${r.namespace_id}`);
      if (!worker) account.workers.set(config.name!, { secrets: new Map() });
      return ok(
        `Uploaded ${config.name}\nDeployed ${config.name} triggers (1.2 sec)\n  https://${config.name}.shop-ops.workers.dev\n  schedule: * * * * *\n`,
      );
    }
    return { status: 1, stdout: "", stderr: `unexpected: wrangler ${args.join(" ")}` };
  };
  return { run, calls, timeline, violations, bulkInputs };
}

/** A /healthz that answers `checks`, recording each request on `timeline`. */
function healthz(
  timeline: string[],
  checks: Record<string, string> = { postgres: "ok", redis: "ok", inventory: "ok" },
) {
  return (async (url: string | URL | Request) => {
    timeline.push(`GET ${String(url)}`);
    return Response.json({ status: "ok", checks });
  }) as typeof fetch;
}

const SECRETS = {
  JWT_SECRET: "jwt-5f0c2b7e9d",
  ADMIN_TOKEN: "adm-91e4c07a3f",
  PAYMENT_WEBHOOK_SECRET: "whsec-2d8a66b1c4",
  DATABASE_URL: "postgres://shop:pw-7c1f@ep-quiet-cloud-123456.eu-central-1.aws.neon.tech/shop?sslmode=require",
  UPSTASH_REDIS_REST_URL: "https://eu1-quick-fox-12345.upstash.io",
  UPSTASH_REDIS_REST_TOKEN: "AX1kZmVhZ2VuZGluZw",
};

const noPause = async () => {};
/** wrangler.toml's queues and dead-letter queues, sorted. */
const QUEUES = ["cart-alerts", "cart-alerts-dlq", "cart-events", "cart-events-dlq", "order-events", "order-events-dlq"];
let output: string[] = [];

beforeAll(() => {
  vi.spyOn(console, "warn").mockImplementation((...a) => output.push(a.join(" ")));
});
afterAll(async () => {
  vi.restoreAllMocks();
  for (const drop of databases) await drop();
  for (const db of embedded) await db.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Captures the script's own lines onto `timeline` as "log ...", next to the wrangler commands. */
function capture(timeline: string[]): void {
  output = [];
  vi.spyOn(console, "log").mockImplementation((...a) => {
    const line = a.join(" ");
    output.push(line);
    timeline.push(`log ${line}`);
  });
}

/** A real (not dry) deploy through the stand-in: SECRETS and a healthy /healthz unless `opts` say otherwise. */
function deployWith(
  wrangler: ReturnType<typeof recordingWrangler>,
  configPath: string,
  opts: Partial<DeployOptions> = {},
) {
  capture(wrangler.timeline);
  return deploy({
    dryRun: false,
    configPath,
    run: wrangler.run,
    secrets: SECRETS,
    fetch: healthz(wrangler.timeline),
    pause: noPause,
    ...opts,
  });
}

describe("npm run deploy", () => {
  it("takes the queues, dead-letter queues and secrets from wrangler.toml, per environment", () => {
    const plan = deployPlan();
    expect(plan.workerName).toBe("edge-cart");
    expect(plan.queues).toEqual(QUEUES);
    expect(plan.requiredSecrets).toEqual(["JWT_SECRET", "ADMIN_TOKEN", "PAYMENT_WEBHOOK_SECRET", "DATABASE_URL"]);
    const staging = deployPlan(REPO_CONFIG, "staging");
    expect(staging.workerName).toBe("edge-cart-staging");
    expect(staging.queues).toEqual(plan.queues.map((q) => `staging-${q}`).sort());
    expect(staging.requiredSecrets).toEqual(plan.requiredSecrets);
    expect(plan.needs.join("\n")).toMatch(/SQLite-backed classes[\s\S]*Queues: 6, 3 of them dead-letter[\s\S]*Cron/);
    const listed = queueNamesIn(LISTING(["cart-events", "order-events"]));
    expect(listed.has("cart-events") && listed.has("order-events") && !listed.has("cart-events-dlq")).toBe(true);
  });

  it("with a key set in [vars], asks for JWT_ISSUER and JWT_AUDIENCE (unless [vars] has them) instead of JWT_SECRET", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "deploy-plan-"));
    const config = (vars: string) => {
      const file = path.join(dir, "wrangler.toml");
      fs.writeFileSync(file, `name = "edge-cart"\nmain = "src/index.ts"\n[vars]\n${vars}\n`);
      return deployPlan(file).requiredSecrets;
    };
    try {
      const jwks = 'JWT_JWKS_URL = "https://tenant.auth0.com/.well-known/jwks.json"';
      expect(config(jwks)).toEqual([
        "JWT_ISSUER",
        "JWT_AUDIENCE",
        "ADMIN_TOKEN",
        "PAYMENT_WEBHOOK_SECRET",
        "DATABASE_URL",
      ]);
      expect(config(`${jwks}\nJWT_ISSUER = "https://tenant.auth0.com/"`)).toEqual([
        "JWT_AUDIENCE",
        "ADMIN_TOKEN",
        "PAYMENT_WEBHOOK_SECRET",
        "DATABASE_URL",
      ]);
      expect(
        config(`${jwks}\nJWT_ISSUER = "https://tenant.auth0.com/"\nJWT_AUDIENCE = "https://api.shop.example"`),
      ).toEqual(["ADMIN_TOKEN", "PAYMENT_WEBHOOK_SECRET", "DATABASE_URL"]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("stops the deploy when staging lacks a top-level binding or var, or shares one of production's", async () => {
    expect(checkConfig(REPO_CONFIG, undefined).problems).toEqual([]);
    // A Durable Object added at the top level only (bindings are not inherited by [env.staging]).
    const drifted = configFile((t) =>
      t.replace(
        '[[migrations]]\ntag = "v1"',
        '[[durable_objects.bindings]]\nname = "WATCHERS"\nclass_name = "SkuWatch"\n\n[[migrations]]\ntag = "v1"',
      ),
    );
    const shared = configFile((t) => t.replace('queue = "staging-cart-alerts"', 'queue = "cart-alerts"'));
    expect(checkConfig(drifted, "staging").problems).toEqual([
      "[env.staging] lacks durable_objects.bindings WATCHERS: environments do not inherit them, repeat each under [env.staging]",
    ]);
    expect(checkConfig(shared, undefined).problems).toContainEqual(
      expect.stringContaining("[env.staging] uses production's queue(s) cart-alerts"),
    );
    const account: Account = { queues: [], workers: new Map() };
    const wrangler = recordingWrangler(account, drifted);
    capture(wrangler.timeline);
    await expect(
      deploy({ dryRun: true, configPath: drifted, run: wrangler.run, secrets: {}, databaseUrl: await emptyDatabase() }),
    ).rejects.toThrow("[env.staging] lacks durable_objects.bindings WATCHERS");
    expect(wrangler.calls).toEqual([]);
  });

  it("sets up a fresh account in order (queues, migrations, upload, secrets, verify), and a second run changes nothing", async () => {
    const databaseUrl = await emptyDatabase();
    const configPath = configFile();
    const account: Account = { queues: ["someone-elses-queue"], workers: new Map() };
    const first = recordingWrangler(account, configPath);
    await deployWith(first, configPath, { databaseUrl });
    expect(first.violations).toEqual([]);
    const migrated = first.timeline.findIndex((l) => l.startsWith("log applied 0000_init"));
    const order = [
      "wrangler whoami",
      "wrangler secret list --env  --format json",
      "wrangler queues list --page 1",
      ...QUEUES.map((q) => `wrangler queues create ${q}`),
      "wrangler deploy --env ",
      "wrangler secret bulk --env ",
      "wrangler secret list --env  --format json",
      "GET https://edge-cart.shop-ops.workers.dev/healthz",
    ];
    const steps = first.timeline.filter((l) => !l.startsWith("log ") && !l.includes("--page 2"));
    expect(steps).toEqual(order);
    // The migrations ran after the queues were created and before the upload.
    expect(migrated).toBeGreaterThan(first.timeline.indexOf("wrangler queues create order-events-dlq"));
    expect(migrated).toBeLessThan(first.timeline.indexOf("wrangler deploy --env "));
    expect(await pendingMigrations(databaseUrl)).toEqual([]);
    // Every secret went on in one bulk call (one new version), after the Worker existed.
    expect(first.bulkInputs).toEqual([SECRETS]);
    expect([...account.workers.get("edge-cart")!.secrets.keys()].sort()).toEqual(Object.keys(SECRETS).sort());

    const second = recordingWrangler(account, configPath);
    await deployWith(second, configPath, { databaseUrl });
    expect(second.violations).toEqual([]);
    expect(second.calls.filter((c) => c[1] === "create" || c[1] === "bulk")).toEqual([]);
    expect(second.calls.filter((c) => c[0] === "deploy")).toEqual([["deploy", "--env", ""]]);
    expect(output).toContain(
      'ADMIN_TOKEN is already set: not changed (to rotate it: npx wrangler secret put ADMIN_TOKEN --env "" --config ' +
        `${configPath})`,
    );
  });

  it("--env staging deploys edge-cart-staging with its own queues and secrets, beside production", async () => {
    const configPath = configFile();
    const account: Account = { queues: [], workers: new Map([["edge-cart", { secrets: new Map() }]]) };
    const wrangler = recordingWrangler(account, configPath);
    await deployWith(wrangler, configPath, { env: "staging", databaseUrl: await emptyDatabase() });
    expect(wrangler.violations).toEqual([]);
    expect(wrangler.calls.filter((c) => c[1] === "create").map((c) => c[2])).toEqual([
      "staging-cart-alerts",
      "staging-cart-alerts-dlq",
      "staging-cart-events",
      "staging-cart-events-dlq",
      "staging-order-events",
      "staging-order-events-dlq",
    ]);
    expect(wrangler.calls.filter((c) => c[0] === "deploy" || c[0] === "secret")).toEqual([
      ["secret", "list", "--env", "staging", "--format", "json"],
      ["deploy", "--env", "staging"],
      ["secret", "bulk", "--env", "staging"],
      ["secret", "list", "--env", "staging", "--format", "json"],
    ]);
    expect(wrangler.timeline).toContain("GET https://edge-cart-staging.shop-ops.workers.dev/healthz");
    expect(account.workers.get("edge-cart-staging")!.secrets.size).toBe(6);
    expect(account.workers.get("edge-cart")!.secrets.size).toBe(0);
  });

  it("refuses to send a placeholder: REPLACE_ME, the documentation's namespace ids, a local default secret", async () => {
    const databaseUrl = await emptyDatabase();
    const refused = async (configPath: string, secrets: Record<string, string>, message: string | RegExp) => {
      const account: Account = { queues: [], workers: new Map() };
      const wrangler = recordingWrangler(account, configPath);
      await expect(deployWith(wrangler, configPath, { databaseUrl, secrets })).rejects.toThrow(message);
      expect(wrangler.violations).toEqual([]);
      // Nothing was created, migrated or uploaded.
      expect(wrangler.calls.filter((c) => c[0] !== "whoami" && !(c[0] === "secret" && c[1] === "list"))).toEqual([]);
      expect(account.queues).toEqual([]);
    };
    // The repository's own wrangler.toml: its rate-limit namespace ids are to be chosen per account.
    const repoCopy = path.join(tmp, "wrangler-repo.toml");
    fs.copyFileSync(REPO_CONFIG, repoCopy);
    await refused(repoCopy, SECRETS, /ratelimits BUY_RATE_LIMITER: namespace_id = "REPLACE_ME"/);
    await refused(
      configFile((t) => t.replace(/namespace_id = "\d+"/, 'namespace_id = "1001"')),
      SECRETS,
      /BUY_RATE_LIMITER: namespace_id = "1001" is an example id/,
    );
    await refused(
      configFile((t) => t.replace('ALLOWED_ORIGINS = ""', 'ALLOWED_ORIGINS = "https://REPLACE_ME.example"')),
      SECRETS,
      'vars.ALLOWED_ORIGINS = "https://REPLACE_ME.example"',
    );
    await refused(
      configFile(),
      { ...SECRETS, ADMIN_TOKEN: "dev-admin-token", PAYMENT_WEBHOOK_SECRET: "REPLACE_ME" },
      /ADMIN_TOKEN: the value given is the local development default[\s\S]*PAYMENT_WEBHOOK_SECRET: the value given is a placeholder/,
    );
    await refused(
      configFile(),
      { ...SECRETS, DATABASE_URL: "postgres://postgres@127.0.0.1:5432/edge_cart_dev" },
      "DATABASE_URL: the value given points at this machine (127.0.0.1)",
    );
    expect(await pendingMigrations(databaseUrl)).not.toEqual([]);
  });

  it("stops before changing anything when a secret the Worker lacks has no value here", async () => {
    const configPath = configFile();
    const account: Account = {
      queues: [],
      workers: new Map([
        [
          "edge-cart",
          {
            secrets: new Map([
              ["JWT_SECRET", "x"],
              ["DATABASE_URL", "y"],
            ]),
          },
        ],
      ]),
    };
    const wrangler = recordingWrangler(account, configPath);
    const { ADMIN_TOKEN: _a, PAYMENT_WEBHOOK_SECRET: _p, ...given } = SECRETS;
    await expect(
      deployWith(wrangler, configPath, { databaseUrl: await emptyDatabase(), secrets: given }),
    ).rejects.toThrow(
      /nothing was changed[\s\S]*ADMIN_TOKEN: no value given\n {2}- PAYMENT_WEBHOOK_SECRET: no value given/,
    );
    expect(wrangler.calls.map((c) => c.slice(0, 2).join(" "))).toEqual(["whoami", "secret list"]);
  });

  it("--dry-run needs no account: it says what it would do, lists the placeholders and only builds the bundle", async () => {
    const timeline: string[] = [];
    const wrangler = recordingWrangler({ queues: [], workers: new Map() }, REPO_CONFIG);
    capture(timeline);
    await deploy({ dryRun: true, run: wrangler.run, databaseUrl: await emptyDatabase(), secrets: {} });
    expect(wrangler.calls).toEqual([["deploy", "--dry-run", "--outdir", ".wrangler/dry-run", "--env", ""]]);
    const said = output.join("\n");
    expect(said).toContain(
      'placeholders a real deploy refuses until they are replaced:\n  - ratelimits BUY_RATE_LIMITER: namespace_id = "REPLACE_ME"',
    );
    expect(said).toContain('ratelimits GUEST_IP_RATE_LIMITER: namespace_id = "REPLACE_ME"');
    expect(said).toMatch(/creates whichever of cart-alerts, .* do not exist/);
    expect(said).toContain("applies 0000_init, 0001_inventory_drift");
    expect(said).toContain('uploads the Worker (npx wrangler deploy --env "")');
    expect(said).toContain("puts the secrets it lacks, after the upload (wrangler secret bulk)");
  });

  it("flags pending migrations that would break the running version, and stops before anything changes", async () => {
    const folder = writeMigrations([
      {
        tag: "0000_init",
        sql: [`CREATE TABLE "skus" ("id" text PRIMARY KEY NOT NULL, "legacy" text, "price" integer NOT NULL);`],
      },
      {
        tag: "0001_expand",
        sql: [
          `ALTER TABLE "skus" ADD COLUMN "note" text;`,
          `ALTER TABLE "skus" ADD COLUMN "stock" integer DEFAULT 0 NOT NULL;`,
          `CREATE TABLE "tags" ("id" text PRIMARY KEY NOT NULL);`,
        ],
      },
      {
        tag: "0002_contract",
        sql: [
          `ALTER TABLE "skus" DROP COLUMN "legacy";`,
          `ALTER TABLE "skus" RENAME COLUMN "note" TO "remark";`,
          `ALTER TABLE "skus" ALTER COLUMN "price" SET NOT NULL;`,
          `ALTER TABLE "skus" ADD COLUMN "sku_code" text NOT NULL;`,
          `ALTER TABLE "tags" RENAME TO "labels";`,
          `DROP TABLE "labels";`,
        ],
      },
    ]);
    const { breaking } = checkMigrations(folder, ["0000_init", "0001_expand", "0002_contract"]);
    expect(breaking.map((b) => b.replace(/:.*\(/, " (").replace(/\)$/, ""))).toEqual([
      "0002_contract (drops a column the running version may still read or write",
      "0002_contract (renames what the running version uses by its old name",
      "0002_contract (makes a column NOT NULL that the running version may leave empty",
      "0002_contract (adds a NOT NULL column without a DEFAULT",
      "0002_contract (renames what the running version uses by its old name",
      "0002_contract (drops a table the running version may still use",
    ]);
    // A contract step that says why the running version no longer needs it passes.
    fs.writeFileSync(
      path.join(folder, "0002_contract.sql"),
      `-- contract: skus.legacy unread since the release before this one\n${fs.readFileSync(path.join(folder, "0002_contract.sql"), "utf8")}`,
    );
    expect(checkMigrations(folder, ["0002_contract"])).toEqual({
      breaking: [],
      contracts: ["0002_contract (contract: skus.legacy unread since the release before this one)"],
    });
    // The repository's migrations are all compatible with the version before them.
    const repo = JSON.parse(fs.readFileSync(path.join(DEFAULT_MIGRATIONS, "meta", "_journal.json"), "utf8")) as {
      entries: { tag: string }[];
    };
    expect(
      checkMigrations(
        DEFAULT_MIGRATIONS,
        repo.entries.map((e) => e.tag),
      ).breaking,
    ).toEqual([]);

    // Against a database running 0000 and 0001: a DROP COLUMN pending stops the deploy, nothing applied.
    const databaseUrl = await emptyDatabase();
    const older = writeMigrations([
      { tag: "0000_init", sql: [`CREATE TABLE "skus" ("id" text PRIMARY KEY NOT NULL, "legacy" text);`] },
      { tag: "0001_expand", sql: [`ALTER TABLE "skus" ADD COLUMN "note" text;`] },
    ]);
    await migrateDatabase(databaseUrl, older);
    const newer = writeMigrations([
      { tag: "0000_init", sql: [`CREATE TABLE "skus" ("id" text PRIMARY KEY NOT NULL, "legacy" text);`] },
      { tag: "0001_expand", sql: [`ALTER TABLE "skus" ADD COLUMN "note" text;`] },
      { tag: "0002_drop", sql: [`ALTER TABLE "skus" DROP COLUMN "legacy";`] },
    ]);
    const configPath = configFile();
    const wrangler = recordingWrangler({ queues: [], workers: new Map() }, configPath);
    capture(wrangler.timeline);
    for (const dryRun of [true, false])
      await expect(
        deploy({ dryRun, configPath, run: wrangler.run, databaseUrl, migrationsFolder: newer, secrets: SECRETS }),
      ).rejects.toThrow(
        /would break the version still running[\s\S]*0002_drop: ALTER TABLE "skus" DROP COLUMN "legacy"/,
      );
    expect(wrangler.calls).toEqual([]);
    expect(await pendingMigrations(databaseUrl, newer)).toEqual(["0002_drop"]);
    for (const dir of [folder, older, newer]) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("a /healthz with a broken dependency after the upload fails the deploy, naming it and the way back", async () => {
    const configPath = configFile();
    const wrangler = recordingWrangler({ queues: [], workers: new Map() }, configPath);
    const broken = { postgres: "unavailable", redis: "ok", inventory: "unknown" };
    await expect(
      deployWith(wrangler, configPath, {
        databaseUrl: await emptyDatabase(),
        fetch: healthz(wrangler.timeline, broken),
      }),
    ).rejects.toThrow(
      /deployed, but https:\/\/edge-cart\.shop-ops\.workers\.dev\/healthz: postgres unavailable.*roll back/,
    );
    // It asked a few times (a new version takes a moment to serve everywhere) before giving up.
    expect(wrangler.timeline.filter((l) => l.startsWith("GET ")).length).toBe(10);
  });
});
