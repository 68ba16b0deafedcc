// What `npm run deploy` checks in wrangler.toml before anything goes out: placeholders, the
// rate-limit namespace ids, and environments that lack a binding the top level has (wrangler
// does not inherit vars or bindings into [env.<name>], so each must be repeated there).
import type { Unstable_Config } from "wrangler";
import { experimental_readRawConfig, unstable_readConfig } from "wrangler";

/** The marker for a value to fill in before a real deploy (wrangler.toml, secret values). */
export const PLACEHOLDER = "REPLACE_ME";
/**
 * Cloudflare's rate-limiting examples use these ids (and so did this repository): a namespace is
 * shared by every binding with its id on the account, so a Worker that copied them shares counters.
 */
const EXAMPLE_NAMESPACE_IDS = new Set(["1001", "1002"]);

export interface ConfigFindings {
  /** Values a real deploy refuses to send; a dry run lists them. */
  placeholders: string[];
  /** Mistakes neither a dry run nor a real deploy goes on with. */
  problems: string[];
}

/** The environments wrangler.toml defines ([env.<name>]); the top level is production. */
export function environmentsOf(configPath: string): string[] {
  return Object.keys(experimental_readRawConfig({ config: configPath }).rawConfig.env ?? {});
}

/** The configuration wrangler deploys for `env` (undefined: the top level). */
export function readEnvironment(configPath: string, env: string | undefined): Unstable_Config {
  return unstable_readConfig({ config: configPath, env });
}

export function envLabel(env: string | undefined): string {
  return env === undefined ? "the top level (production)" : `[env.${env}]`;
}

/** Every string under `value` containing the placeholder, as "path = value". */
function placeholdersIn(value: unknown, at: string, found: string[]): string[] {
  if (typeof value === "string" && value.includes(PLACEHOLDER)) found.push(`${at} = "${value}"`);
  else if (Array.isArray(value)) value.forEach((v, i) => placeholdersIn(v, `${at}[${i}]`, found));
  else if (value !== null && typeof value === "object")
    for (const [k, v] of Object.entries(value)) placeholdersIn(v, at ? `${at}.${k}` : k, found);
  return found;
}

/** Binding names per kind: what an environment must repeat from the top level. */
const BINDING_KINDS: [string, (c: Unstable_Config) => string[]][] = [
  ["vars", (c) => Object.keys(c.vars)],
  ["durable_objects.bindings", (c) => c.durable_objects.bindings.map((b) => b.name)],
  ["queues.producers", (c) => (c.queues.producers ?? []).map((p) => p.binding)],
  ["ratelimits", (c) => c.ratelimits.map((r) => r.name)],
  ["analytics_engine_datasets", (c) => c.analytics_engine_datasets.map((d) => d.binding)],
  ["kv_namespaces", (c) => c.kv_namespaces.map((b) => b.binding)],
  ["r2_buckets", (c) => c.r2_buckets.map((b) => b.binding)],
  ["d1_databases", (c) => c.d1_databases.map((b) => b.binding)],
  ["hyperdrive", (c) => c.hyperdrive.map((b) => b.binding)],
  ["services", (c) => (c.services ?? []).map((b) => b.binding)],
];

function queuesOf(c: Unstable_Config): string[] {
  const names = (c.queues.producers ?? []).map((p) => p.queue);
  for (const q of c.queues.consumers ?? []) names.push(q.queue, ...(q.dead_letter_queue ? [q.dead_letter_queue] : []));
  return [...new Set(names)];
}

/** What [env.<name>] misses or adds compared with the top level, and what it would share with production. */
function environmentDrift(name: string, top: Unstable_Config, env: Unstable_Config): string[] {
  const problems: string[] = [];
  for (const [kind, namesOf] of BINDING_KINDS) {
    const want = new Set(namesOf(top));
    const have = new Set(namesOf(env));
    const missing = [...want].filter((n) => !have.has(n));
    const extra = [...have].filter((n) => !want.has(n));
    if (missing.length)
      problems.push(
        `[env.${name}] lacks ${kind} ${missing.join(", ")}: environments do not inherit them, repeat each under [env.${name}]`,
      );
    if (extra.length) problems.push(`[env.${name}] has ${kind} ${extra.join(", ")} that the top level lacks`);
  }
  const consumers = [top, env].map((c) => (c.queues.consumers ?? []).length);
  if (consumers[0] !== consumers[1])
    problems.push(`queue consumers: ${consumers[0]} at the top level, ${consumers[1]} in [env.${name}]`);
  const production = new Set(queuesOf(top));
  const shared = queuesOf(env).filter((q) => production.has(q));
  if (shared.length)
    problems.push(
      `[env.${name}] uses production's queue(s) ${shared.join(", ")}: give it its own (e.g. ${name}-${shared[0]})`,
    );
  for (const b of env.durable_objects.bindings)
    if (b.script_name === top.name)
      problems.push(`[env.${name}] binds ${b.name} to production's Durable Objects (script_name = "${top.name}")`);
  return problems;
}

/** The rate limiters' namespace ids: positive integers, not the documentation's, one per limiter and environment. */
function namespaceFindings(target: Unstable_Config, all: [string, Unstable_Config][], findings: ConfigFindings): void {
  for (const r of target.ratelimits) {
    const id = r.namespace_id;
    if (id.includes(PLACEHOLDER))
      findings.placeholders.push(
        `ratelimits ${r.name}: namespace_id = "${id}" (pick a positive integer no other rate limiter on the account uses)`,
      );
    else if (EXAMPLE_NAMESPACE_IDS.has(id))
      findings.placeholders.push(
        `ratelimits ${r.name}: namespace_id = "${id}" is an example id from Cloudflare's documentation (other Workers on the account may share its counters); pick your own`,
      );
    else if (!/^[1-9][0-9]*$/.test(id))
      findings.problems.push(`ratelimits ${r.name}: namespace_id = "${id}" is not a positive integer`);
  }
  const users = new Map<string, string[]>();
  for (const [where, c] of all)
    for (const r of c.ratelimits)
      if (/^[1-9][0-9]*$/.test(r.namespace_id))
        users.set(r.namespace_id, [...(users.get(r.namespace_id) ?? []), `${where} ${r.name}`]);
  for (const [id, who] of users)
    if (who.length > 1)
      findings.problems.push(
        `rate-limit namespace_id ${id} is shared by ${who.join(" and ")}: they would count together`,
      );
}

/** Checks the configuration `env` deploys, and every environment's drift from the top level. */
export function checkConfig(configPath: string, env: string | undefined): ConfigFindings {
  const names = environmentsOf(configPath);
  if (env !== undefined && !names.includes(env))
    throw new Error(
      `no [env.${env}] in ${configPath}: production is the top level (omit --env)${names.length ? `; environments: ${names.join(", ")}` : ""}`,
    );
  const top = readEnvironment(configPath, undefined);
  const envs = names.map((n): [string, Unstable_Config] => [`[env.${n}]`, readEnvironment(configPath, n)]);
  const target = env === undefined ? top : envs[names.indexOf(env)]![1];
  const findings: ConfigFindings = { placeholders: [], problems: [] };
  // The rate limiters are reported by name below; everything else the config sends, by path.
  const { ratelimits: _limits, ...rest } = target;
  findings.placeholders.push(...placeholdersIn(rest, "", []));
  namespaceFindings(target, [["top level", top], ...envs], findings);
  names.forEach((n, i) => findings.problems.push(...environmentDrift(n, top, envs[i]![1])));
  return findings;
}

/** What the configuration asks of the Cloudflare plan (docs/operations.md, "What it needs"). */
export function planNeeds(c: Unstable_Config): string[] {
  const sqlite = c.migrations.flatMap((m) => m.new_sqlite_classes ?? []);
  const kv = c.migrations.flatMap((m) => m.new_classes ?? []);
  const queues = queuesOf(c);
  const deadLetter = (c.queues.consumers ?? []).filter((q) => q.dead_letter_queue).length;
  const crons = c.triggers.crons?.length ?? 0;
  const needs = [
    `Durable Objects: ${sqlite.length} SQLite-backed classes (Workers Free or Paid)${kv.length ? `; ${kv.length} key-value-backed (Workers Paid only)` : ""}`,
    `Queues: ${queues.length}, ${deadLetter} of them dead-letter queues (Workers Free: 10,000 operations a day, about 3 per message; Paid: 1 million a month included)`,
  ];
  if (c.ratelimits.length) needs.push(`Rate limiting: ${c.ratelimits.length} bindings`);
  if (crons) needs.push(`Cron Triggers: ${crons} (Workers Free: 5 per account; Paid: 250)`);
  if (c.analytics_engine_datasets.length)
    needs.push(`Analytics Engine: ${c.analytics_engine_datasets.length} dataset(s)`);
  return needs;
}
