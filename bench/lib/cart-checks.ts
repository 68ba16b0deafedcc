// How the cart suite judges a run: latency per operation, and the replay of every client's
// successful adds and sets against the carts read back from their actors (no edit lost or doubled).
import { check, type Check } from "../config.ts";
import { percentile, type Sample } from "./load.ts";

export const OPS = ["get", "add", "set"] as const;
export type Op = (typeof OPS)[number];

export interface LatencyStats {
  n: number;
  ok: number;
  rps: number;
  p50: number;
  p95: number;
  p99: number;
}

/** What one request did, to replay the client's view of its carts afterwards. */
export interface Edit {
  op: Op | "warm" | "read";
  cart: number;
  skuId?: string;
  quantity?: number;
}

export interface Result {
  edit: Edit;
  status: number;
  /** For a connection error: what it was. */
  error?: string;
  /** X-Cart-Source of the answer ("snapshot": the edge read), when it said. */
  source?: string;
  /** For the final reads: the cart's lines. */
  lines?: Map<string, number>;
}

export function stats(samples: Sample<Result>[], seconds: number): LatencyStats {
  const lat = Float64Array.from(samples.map((s) => s.latencyMs)).sort();
  const r = (n: number) => Math.round(n * 10) / 10;
  return {
    n: samples.length,
    ok: samples.filter((s) => s.outcome.status >= 200 && s.outcome.status < 300).length,
    rps: Math.round(samples.length / seconds),
    p50: r(percentile(lat, 50) || 0),
    p95: r(percentile(lat, 95) || 0),
    p99: r(percentile(lat, 99) || 0),
  };
}

/**
 * Replays each cart's requests in order (warm-up, then the measured ones) with their answers:
 * 2xx adds sum, 2xx sets replace, a 4xx changed nothing; a transport error or 5xx leaves the
 * line unknown (not checked). Compares with the lines read from the actors.
 */
export function editChecks(history: Result[], finals: Result[]): Check[] {
  const expected = new Map<number, Map<string, number>>();
  const unknown = new Map<number, Set<string>>();
  for (const { edit, status } of history) {
    if (edit.op === "get" || !edit.skuId) continue;
    const lines = expected.get(edit.cart) ?? expected.set(edit.cart, new Map()).get(edit.cart)!;
    if (status >= 200 && status < 300)
      lines.set(edit.skuId, edit.op === "set" ? edit.quantity! : (lines.get(edit.skuId) ?? 0) + edit.quantity!);
    else if (status === 0 || status >= 500)
      (unknown.get(edit.cart) ?? unknown.set(edit.cart, new Set()).get(edit.cart)!).add(edit.skuId);
  }
  let lost = 0;
  let doubled = 0;
  let unread = 0;
  let checked = 0;
  let skipped = 0;
  const unreadBy: Record<string, number> = {};
  for (const f of finals) {
    if (!f.lines) {
      unread++;
      const why = `${f.status}${f.error ? ` ${f.error}` : ""}`;
      unreadBy[why] = (unreadBy[why] ?? 0) + 1;
      continue;
    }
    const want = expected.get(f.edit.cart) ?? new Map<string, number>();
    const skip = unknown.get(f.edit.cart) ?? new Set<string>();
    for (const skuId of new Set([...want.keys(), ...f.lines.keys()])) {
      if (skip.has(skuId)) {
        skipped++;
        continue;
      }
      checked++;
      const a = f.lines.get(skuId) ?? 0;
      const w = want.get(skuId) ?? 0;
      if (a < w) lost++;
      if (a > w) doubled++;
    }
  }
  return [
    check(
      "every cart read back from its actor",
      unread === 0,
      `${finals.length - unread} of ${finals.length} carts${unread ? `; unread: ${JSON.stringify(unreadBy)}` : ""}`,
    ),
    check(
      "no edit lost: no line below the client's successful adds/sets",
      lost === 0,
      `${lost} lines short, ${checked} lines checked${skipped ? `, ${skipped} with an unanswered edit skipped` : ""}`,
    ),
    check("no edit doubled: no line above them", doubled === 0, `${doubled} lines over`),
  ];
}
