// dev/deploy.ts (`npm run deploy`): each step against a scripted wrangler, and the
// migrations against a real (embedded) Postgres, twice, to show it is idempotent.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { WranglerRunner } from "../../dev/deploy.ts";
import { deploy, deployPlan, pendingMigrations, queueNamesIn } from "../../dev/deploy.ts";
import type { EmbeddedPostgres } from "../../dev/embedded-postgres.ts";
import { startEmbeddedPostgres } from "../../dev/embedded-postgres.ts";

const LISTING = (names: string[]) =>
  [
    "┌──────────────────────────────────┬──────────────┬─────────────────────────────┐",
    "│ id                               │ name         │ created_on                  │",
    ...names.map((n) => `│ 0123456789abcdef0123456789abcdef │ ${n} │ 2026-01-01T00:00:00.000Z │`),
    "└──────────────────────────────────┴──────────────┴─────────────────────────────┘",
  ].join("\n");

/** A wrangler that knows some queues and secrets and records what it is asked. */
function fakeWrangler(state: { queues: string[]; secrets: string[] }) {
  const calls: string[][] = [];
  const run: WranglerRunner = (args) => {
    calls.push(args);
    const [cmd, sub, arg] = args;
    if (cmd === "whoami")
      return {
        status: 0,
        stdout: "You are logged in with an API Token, associated with the email ops@example.com.",
        stderr: "",
      };
    if (cmd === "secret" && sub === "list")
      return {
        status: 0,
        stdout: JSON.stringify(state.secrets.map((name) => ({ name, type: "secret_text" }))),
        stderr: "",
      };
    if (cmd === "queues" && sub === "list") return { status: 0, stdout: LISTING(state.queues), stderr: "" };
    if (cmd === "queues" && sub === "create") {
      state.queues.push(arg!);
      return { status: 0, stdout: `Created queue ${arg}`, stderr: "" };
    }
    if (cmd === "deploy") return { status: 0, stdout: "", stderr: "" };
    return { status: 1, stdout: "", stderr: `unexpected: wrangler ${args.join(" ")}` };
  };
  return { run, calls };
}

const ALL_SECRETS = [
  "JWT_SECRET",
  "ADMIN_TOKEN",
  "PAYMENT_WEBHOOK_SECRET",
  "DATABASE_URL",
  "UPSTASH_REDIS_REST_URL",
  "UPSTASH_REDIS_REST_TOKEN",
];

let pgServer: EmbeddedPostgres;
beforeAll(async () => {
  pgServer = await startEmbeddedPostgres();
  vi.spyOn(console, "log").mockImplementation(() => {});
});
afterAll(async () => {
  vi.restoreAllMocks();
  await pgServer?.close();
});

describe("npm run deploy", () => {
  it("takes the queues, dead-letter queues and secrets from wrangler.toml", () => {
    const plan = deployPlan();
    expect(plan.queues).toEqual([
      "cart-alerts",
      "cart-alerts-dlq",
      "cart-events",
      "cart-events-dlq",
      "order-events",
      "order-events-dlq",
    ]);
    expect(plan.requiredSecrets).toEqual(["JWT_SECRET", "ADMIN_TOKEN", "PAYMENT_WEBHOOK_SECRET", "DATABASE_URL"]);
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

  it("creates only the missing queues, applies the migrations, deploys; a second run changes nothing", async () => {
    expect((await pendingMigrations(pgServer.url)).length).toBeGreaterThan(0);
    const state = { queues: ["cart-events", "order-events", "someone-elses-queue"], secrets: [...ALL_SECRETS] };
    const first = fakeWrangler(state);
    await deploy({ dryRun: false, run: first.run, databaseUrl: pgServer.url });
    const creates = first.calls.filter((c) => c[0] === "queues" && c[1] === "create").map((c) => c[2]);
    expect(creates).toEqual(["cart-alerts", "cart-alerts-dlq", "cart-events-dlq", "order-events-dlq"]);
    expect(first.calls.at(-1)).toEqual(["deploy"]);
    expect(await pendingMigrations(pgServer.url)).toEqual([]);

    const second = fakeWrangler(state);
    await deploy({ dryRun: false, run: second.run, databaseUrl: pgServer.url });
    expect(second.calls.filter((c) => c[1] === "create")).toEqual([]);
    expect(second.calls.at(-1)).toEqual(["deploy"]);
  });

  it("stops before touching anything when a required secret is missing, naming the command", async () => {
    const { run, calls } = fakeWrangler({ queues: [], secrets: ["JWT_SECRET", "DATABASE_URL"] });
    await expect(deploy({ dryRun: false, run, databaseUrl: pgServer.url })).rejects.toThrow(
      "secrets not set: ADMIN_TOKEN, PAYMENT_WEBHOOK_SECRET. Set each with: npx wrangler secret put ADMIN_TOKEN; npx wrangler secret put PAYMENT_WEBHOOK_SECRET",
    );
    expect(calls.map((c) => c[0])).toEqual(["whoami", "secret"]);
  });

  it("--dry-run needs no account: only the bundle is built (wrangler deploy --dry-run)", async () => {
    const { run, calls } = fakeWrangler({ queues: [], secrets: [] });
    await deploy({ dryRun: true, run, databaseUrl: pgServer.url });
    expect(calls).toEqual([["deploy", "--dry-run", "--outdir", ".wrangler/dry-run"]]);
  });
});
