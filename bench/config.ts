// The benchmark's knobs (environment variables, see bench/README.md), the dev secrets the
// Worker runs with, and small helpers every suite uses.
import path from "node:path";
import { sign } from "hono/jwt";
import { DEV_SERVER_URL } from "../dev/migrate.ts";
import { readDevVars } from "../dev/stack.ts";
import { ROOT } from "../dev/util.ts";

export function int(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${raw}`);
  return n;
}

function list<T extends string>(name: string, all: readonly T[]): T[] {
  const picked = (process.env[name] ?? all.join(","))
    .split(",")
    .map((t) => t.trim())
    .filter(Boolean);
  for (const t of picked)
    if (!all.includes(t as T)) throw new Error(`${name}: unknown ${t} (known: ${all.join(", ")})`);
  return picked as T[];
}

export const SUITES = ["flash", "cart", "promotion", "overload"] as const;
export type SuiteName = (typeof SUITES)[number];
export const TARGETS = [
  "postgres",
  "redis-lua",
  "edge-cart",
  "edge-cart-metrics-off",
  "edge-cart-striped",
  "floor",
  "actor-rpc",
  "actor-write",
  "cart-actors",
] as const;
export type TargetName = (typeof TARGETS)[number];

export const suites = list("BENCH_SUITES", SUITES);
export const targets = list("BENCH_TARGETS", TARGETS);
export const concurrency = Math.max(1, int("BENCH_CONCURRENCY", 100));
export const warmup = int("BENCH_WARMUP", 1_000);
export const pgServerUrl = process.env.BENCH_PG_URL ?? DEV_SERVER_URL;
export const redisUrl = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";
export const pgPoolSize = Math.max(1, int("BENCH_PG_POOL", 20));
export const drainTimeoutMs = int("BENCH_DRAIN_TIMEOUT_S", 180) * 1000;
export const outDir = path.resolve(ROOT, process.env.BENCH_OUT ?? "bench/results");
export const runId = Date.now().toString(36);

const secrets = readDevVars();
export const JWT_SECRET = secrets.JWT_SECRET ?? "dev-jwt-secret";
export const ADMIN_TOKEN = secrets.ADMIN_TOKEN ?? "dev-admin-token";

const tokens = new Map<string, string>();
/** A user JWT as a login service would issue it (cached: signing 5,000 is not free). */
export async function tokenFor(userId: string): Promise<string> {
  let t = tokens.get(userId);
  if (!t) {
    const now = Math.floor(Date.now() / 1000);
    t = await sign({ sub: userId, iat: now, exp: now + 4 * 3600 }, JWT_SECRET, "HS256");
    tokens.set(userId, t);
  }
  return t;
}

/** mulberry32: a small seeded PRNG, so every target (and every run) gets the same order. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export function check(name: string, ok: boolean, detail: string): Check {
  return { name, ok, detail };
}

/** JSON body of a response text, or null. */
export function jsonOf<T = any>(contentType: string, text: string): T | null {
  if (!/json/.test(contentType)) return null;
  try {
    return JSON.parse(text) as T;
  } catch {
    return null;
  }
}
