/**
 * The Worker's logger: every line is one JSON object (Workers Logs and
 * Logpush index its fields) with `level`, `msg`, the request id and actor of
 * the current log context (context.ts), then the line's own fields: `eventId`,
 * `outcome`, `durationMs` where they apply. Nothing reaches the console before
 * redact.ts took tokens, secrets and signatures out. LOG_LEVEL (debug, info,
 * warn, error; default info) drops the lines below it.
 */
import { env } from "cloudflare:workers";
import { logContext } from "./context";
import { redact } from "./redact";

export type LogLevel = "debug" | "info" | "warn" | "error";

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** The fields a line may carry besides its level and message; an Error value is logged as its message. */
export interface LogFields {
  requestId?: string;
  actor?: string;
  eventId?: string;
  outcome?: string;
  durationMs?: number;
  [field: string]: unknown;
}

/** The settings whose values never appear in a line, even inside free text. */
const SECRET_SETTINGS = [
  "JWT_SECRET",
  "ADMIN_TOKEN",
  "PAYMENT_WEBHOOK_SECRET",
  "STRIPE_WEBHOOK_SECRET",
  "STRIPE_SECRET_KEY",
  "UPSTASH_REDIS_REST_TOKEN",
] as const;

interface Settings {
  threshold: number;
  secrets: string[];
}

let settings: Settings | null = null;

/** Read once per isolate: the environment does not change under a running Worker. */
function current(): Settings {
  if (settings) return settings;
  const vars = (env ?? {}) as unknown as Partial<Record<string, unknown>>;
  const level = String(vars.LOG_LEVEL ?? "info").toLowerCase();
  const secrets = SECRET_SETTINGS.map((name) => vars[name]).filter(
    (v): v is string => typeof v === "string" && v.length >= 6,
  );
  settings = { threshold: RANK[level as LogLevel] ?? RANK.info, secrets };
  return settings;
}

/** Whether a line at this level is written (skip building costly fields for a dropped one). */
export function logs(level: LogLevel): boolean {
  return RANK[level] >= current().threshold;
}

function write(level: LogLevel, msg: string, fields?: LogFields): void {
  const { threshold, secrets } = current();
  if (RANK[level] < threshold) return;
  const context = logContext();
  const text = JSON.stringify(
    redact({ level, msg, requestId: context?.requestId, actor: context?.actor, ...fields }, secrets),
  );
  if (level === "error") console.error(text);
  else if (level === "warn") console.warn(text);
  else console.log(text);
}

export const log = {
  debug: (msg: string, fields?: LogFields) => write("debug", msg, fields),
  info: (msg: string, fields?: LogFields) => write("info", msg, fields),
  warn: (msg: string, fields?: LogFields) => write("warn", msg, fields),
  error: (msg: string, fields?: LogFields) => write("error", msg, fields),
};
