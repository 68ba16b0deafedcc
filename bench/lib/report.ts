// Summaries of one measured phase (the flash suite's per-target result).
import { percentile, type LoadResult } from "./load.ts";
import type { Check } from "../config.ts";
import type { CpuUse } from "./cpu.ts";

/** What one response was, for the counts. */
export interface Outcome {
  kind: "created" | "SOLD_OUT" | "LIMIT_EXCEEDED" | "other";
  ownerId: string;
  orderId?: string;
  /** For `other`: status and code (or the start of the text). */
  detail?: string;
}

export interface TargetResult {
  target: string;
  description: string;
  requests: number;
  concurrency: number;
  seconds: number;
  rps: number;
  latencyMs: { mean: number; p50: number; p95: number; p99: number; max: number };
  /** p50 / p99 per answer kind: a refusal may be much cheaper than a created order. */
  latencyByOutcome: Record<string, { n: number; p50: number; p99: number }>;
  /** Per second of the phase (by send time): requests sent, their p50 and max latency. Shows stalls. */
  timeline: { second: number; sent: number; p50: number; max: number }[];
  counts: { created: number; soldOut: number; limitExceeded: number; other: number };
  otherBreakdown: Record<string, number>;
  /** Requests sent again with the same key after a transport-level drop. */
  retries: number;
  clientCpuSeconds: number;
  /** Busy share of all cores during the measured phase (0..1), null without /proc. */
  machineCpuBusy: number | null;
  /** Cores used per component and the busiest thread during the measured phase (Linux). */
  cpu?: CpuUse | null;
  verified: boolean;
  checks: Check[];
}

export function summarize(
  target: string,
  description: string,
  concurrency: number,
  load: LoadResult<Outcome>,
  machineCpuBusy: number | null,
): Omit<TargetResult, "verified" | "checks"> {
  const lat = Float64Array.from(load.samples.map((s) => s.latencyMs)).sort();
  const counts = { created: 0, soldOut: 0, limitExceeded: 0, other: 0 };
  const otherBreakdown: Record<string, number> = {};
  for (const { outcome } of load.samples) {
    if (outcome.kind === "created") counts.created++;
    else if (outcome.kind === "SOLD_OUT") counts.soldOut++;
    else if (outcome.kind === "LIMIT_EXCEEDED") counts.limitExceeded++;
    else {
      counts.other++;
      otherBreakdown[outcome.detail ?? "?"] = (otherBreakdown[outcome.detail ?? "?"] ?? 0) + 1;
    }
  }
  const round = (n: number) => Math.round(n * 100) / 100;
  const latencyByOutcome: TargetResult["latencyByOutcome"] = {};
  for (const kind of ["created", "SOLD_OUT", "LIMIT_EXCEEDED", "other"]) {
    const l = Float64Array.from(load.samples.filter((s) => s.outcome.kind === kind).map((s) => s.latencyMs)).sort();
    if (l.length)
      latencyByOutcome[kind] = { n: l.length, p50: round(percentile(l, 50)), p99: round(percentile(l, 99)) };
  }
  const buckets: number[][] = [];
  for (const s of load.samples) (buckets[Math.floor(s.startMs / 1000)] ??= []).push(s.latencyMs);
  const timeline = Array.from(buckets, (b, second) => {
    const l = Float64Array.from(b ?? []).sort();
    return {
      second,
      sent: l.length,
      p50: l.length ? Math.round(percentile(l, 50)) : 0,
      max: l.length ? Math.round(l[l.length - 1]!) : 0,
    };
  });
  return {
    target,
    description,
    requests: load.samples.length,
    concurrency,
    seconds: round(load.seconds),
    rps: Math.round(load.samples.length / load.seconds),
    latencyMs: {
      mean: round(lat.reduce((a, b) => a + b, 0) / lat.length),
      p50: round(percentile(lat, 50)),
      p95: round(percentile(lat, 95)),
      p99: round(percentile(lat, 99)),
      max: round(lat[lat.length - 1] ?? Number.NaN),
    },
    latencyByOutcome,
    timeline,
    counts,
    otherBreakdown,
    retries: load.samples.reduce((n, s) => n + s.retries, 0),
    clientCpuSeconds: round(load.clientCpuSeconds),
    machineCpuBusy: machineCpuBusy === null ? null : round(machineCpuBusy),
  };
}
