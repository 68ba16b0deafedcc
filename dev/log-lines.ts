// The Worker's log lines made readable for the local stack: each is one JSON object
// (src/log/logger.ts); this prints it as `LEVEL msg  field=value ...`, coloured by level,
// the request id, actor and event id first, the outcome and duration last. `LOG_FORMAT=json` keeps
// the raw lines (to pipe into jq); a line that is not one of ours (wrangler's own) passes as is.

export type LogFormat = "pretty" | "json";

export interface PrintOptions {
  format: LogFormat;
  /** ANSI colours (a terminal). */
  color: boolean;
}

const LEVEL_COLOR: Record<string, string> = { debug: "90", info: "36", warn: "33", error: "31" };
/** Fields shown first, under short names; the outcome and duration close the line. */
const LEADING: [field: string, label: string][] = [
  ["requestId", "req"],
  ["actor", "actor"],
  ["eventId", "event"],
];

export function logFormat(env: NodeJS.ProcessEnv = process.env): LogFormat {
  return env.LOG_FORMAT?.toLowerCase() === "json" ? "json" : "pretty";
}

/** A Worker line as JSON fields, or null when it is not one of ours. */
export function parseLogLine(line: string): Record<string, unknown> | null {
  const start = line.indexOf("{");
  if (start < 0) return null;
  try {
    const value: unknown = JSON.parse(line.slice(start));
    if (value === null || typeof value !== "object" || Array.isArray(value)) return null;
    const fields = value as Record<string, unknown>;
    return typeof fields.level === "string" && typeof fields.msg === "string" ? fields : null;
  } catch {
    return null;
  }
}

function paint(text: string, code: string, color: boolean): string {
  return color ? `\x1b[${code}m${text}\x1b[0m` : text;
}

function show(value: unknown): string {
  if (typeof value === "string") return /[\s"=]/.test(value) || value === "" ? JSON.stringify(value) : value;
  return JSON.stringify(value);
}

/** One line as printed: readable (pretty) or untouched (json, or not a log line of ours). */
export function formatLogLine(line: string, options: PrintOptions): string {
  if (options.format === "json") return line;
  const fields = parseLogLine(line);
  if (!fields) return line;
  const { level, msg, outcome, durationMs, ...rest } = fields as Record<string, unknown> & {
    level: string;
    msg: string;
  };
  const color = LEVEL_COLOR[level] ?? "0";
  const parts = [paint(level.toUpperCase().padEnd(5), color, options.color), paint(msg, color, options.color)];
  const pairs: string[] = [];
  for (const [field, label] of LEADING) {
    if (rest[field] === undefined) continue;
    pairs.push(`${paint(`${label}=`, "2", options.color)}${show(rest[field])}`);
    delete rest[field];
  }
  for (const [field, value] of Object.entries(rest))
    pairs.push(`${paint(`${field}=`, "2", options.color)}${show(value)}`);
  if (outcome !== undefined) pairs.push(`${paint("outcome=", "2", options.color)}${show(outcome)}`);
  if (typeof durationMs === "number") pairs.push(`${durationMs}ms`);
  return pairs.length ? `${parts.join(" ")}  ${pairs.join(" ")}` : parts.join(" ");
}
