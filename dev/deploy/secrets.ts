// The secret values `npm run deploy` puts on the Worker after the upload: where they come
// from (a secrets file, else the environment) and which values it refuses to send.
import fs from "node:fs";
import path from "node:path";
import { parseEnv } from "node:util";
import { ROOT } from "../util.ts";
import { PLACEHOLDER } from "./config-checks.ts";

export type SecretValues = Record<string, string | undefined>;

/** A secrets file: KEY=value lines (as .dev.vars) or a JSON object of strings. */
export function readSecretsFile(file: string): SecretValues {
  const text = fs.readFileSync(file, "utf8");
  if (!text.trimStart().startsWith("{")) return parseEnv(text);
  const json = JSON.parse(text) as Record<string, unknown>;
  for (const [name, value] of Object.entries(json))
    if (typeof value !== "string") throw new Error(`${file}: ${name} is not a string`);
  return json as SecretValues;
}

/** The values `names` take: the secrets file's first, then the environment's. */
export function secretValues(names: string[], file: string | undefined, env: SecretValues = process.env): SecretValues {
  const fromFile = file ? readSecretsFile(file) : {};
  return Object.fromEntries(names.map((n) => [n, fromFile[n] ?? env[n]]));
}

/** The local development defaults (.dev.vars.example): published, so never a deployed secret. */
function developmentDefaults(): Set<string> {
  const file = path.join(ROOT, ".dev.vars.example");
  const values = fs.existsSync(file) ? Object.values(parseEnv(fs.readFileSync(file, "utf8"))) : [];
  return new Set(values.filter((v): v is string => typeof v === "string" && v.length > 0));
}

const LOOPBACK = /^(localhost|127\.[0-9.]+|\[?::1\]?|0\.0\.0\.0)$/i;

/** Why `value` must not be deployed as the secret `name` ("is empty", ...), or null when it may. */
export function secretValueProblem(name: string, value: string): string | null {
  if (value.trim() === "") return "is empty";
  if (value.includes(PLACEHOLDER)) return `is a placeholder (${PLACEHOLDER})`;
  if (developmentDefaults().has(value)) return "is the local development default from .dev.vars.example";
  if (name === "DATABASE_URL") {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return "is not a postgres:// connection string";
    }
    if (!/^postgres(ql)?:$/.test(url.protocol)) return "is not a postgres:// connection string";
    if (LOOPBACK.test(url.hostname)) return `points at this machine (${url.hostname}), which the Worker cannot reach`;
  }
  return null;
}
