// The summary the local stack prints once it is up: where the API, docs, cron, Postgres, proxy
// and Redis are, what this stack keeps to itself (its scope), and the admin token.
import path from "node:path";
import { readDevVars } from "../dev-vars.ts";
import type { LocalStack, StackMode } from "./types.ts";
import { ROOT } from "../util.ts";
import { DEFAULT_PORT } from "./scope.ts";

const DOCS_PATH = "/docs";

export interface Summary {
  stack: LocalStack;
  mode: StackMode;
  redisUrl: string | null;
  proxy: string;
  pgLabel: string;
  inspectorPort?: number;
  crons: string[];
  scope: StackScope;
}

export interface StackScope {
  port: number;
  testMode: boolean;
  /** e.g. "database edge_cart_dev_8788". */
  database: string;
  /** e.g. "Redis database 1". */
  redis: string;
  stateDir: string;
}

/** One line: whether this stack is the default one, and its database, Redis key space and state. */
export function scopeLine(s: StackScope): string {
  const rel = path.relative(ROOT, s.stateDir);
  const what = `${s.database}, ${s.redis}, state ${rel.startsWith("..") ? s.stateDir : rel}`;
  if (s.testMode) return `port ${s.port} (test stack): ${what}`;
  if (s.port === DEFAULT_PORT) return `port ${s.port} (the default): ${what}; a stack on another port gets its own`;
  return `port ${s.port}, kept apart from other stacks: ${what}`;
}

export function printSummary({ stack: s, mode, redisUrl, proxy, pgLabel, inspectorPort, crons, scope }: Summary): void {
  const adminToken = readDevVars().ADMIN_TOKEN ?? "(see .dev.vars)";
  const rows = [
    [
      "Worker",
      mode === "dev" ? "wrangler dev (live reload)" : "built once, served by workerd via Miniflare (no reload)",
    ],
    ["API", s.baseUrl],
    ["Docs", s.baseUrl + DOCS_PATH],
    [
      "Cron",
      mode === "dev" ? `${s.baseUrl}/__scheduled?cron=*+*+*+*+*` : `on schedule (UTC): ${crons.join(", ") || "none"}`,
    ],
    ["Postgres", `${s.databaseUrl}  (${pgLabel})`],
    ["Neon proxy", `ws://${proxy}/v1  (NEON_WS_PROXY=${proxy})`],
    [
      "Redis REST",
      s.upstashUrl
        ? `${s.upstashUrl}  (token ${s.upstashToken}) -> ${redisUrl}`
        : "none: no Redis, the Worker runs with snapshots OFF",
    ],
    ["Scope", scopeLine(scope)],
    ["Admin token", `${adminToken}  (.dev.vars)`],
    ...(inspectorPort ? [["Debugger", `chrome://inspect -> 127.0.0.1:${inspectorPort}`]] : []),
  ];
  console.log("\n  edge-cart local stack is up\n");
  for (const [k, v] of rows) console.log(`  ${k!.padEnd(12)} ${v}`);
  console.log("");
}
