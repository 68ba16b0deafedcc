// The summary the local stack prints once it is up: where the API, docs, cron, Postgres, proxy
// and Redis are, and the admin token.
import { readDevVars } from "../dev-vars.ts";
import type { LocalStack, StackMode } from "../stack.ts";

const DOCS_PATH = "/docs";

export interface Summary {
  stack: LocalStack;
  mode: StackMode;
  redisUrl: string | null;
  proxy: string;
  pgLabel: string;
  inspectorPort?: number;
  crons: string[];
}

export function printSummary({ stack: s, mode, redisUrl, proxy, pgLabel, inspectorPort, crons }: Summary): void {
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
    ["Admin token", `${adminToken}  (.dev.vars)`],
    ...(inspectorPort ? [["Debugger", `chrome://inspect -> 127.0.0.1:${inspectorPort}`]] : []),
  ];
  console.log("\n  edge-cart local stack is up\n");
  for (const [k, v] of rows) console.log(`  ${k!.padEnd(12)} ${v}`);
  console.log("");
}
