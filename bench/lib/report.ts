// Summaries of one measured phase, the console table and the markdown table.
import { percentile, type LoadResult } from "./load.ts";
import type { CpuUse } from "./cpu.ts";
import type { MachineInfo } from "./machine.ts";

/** What one response was, for the counts. */
export interface Outcome {
  kind: "created" | "SOLD_OUT" | "LIMIT_EXCEEDED" | "other";
  ownerId: string;
  orderId?: string;
  /** For `other`: status and code (or the start of the text). */
  detail?: string;
}

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
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
  /** The same route answered 401 (bad token signature) before any stock work: the HTTP stack's own cost. */
  floor?: { rps: number; p50: number };
  /** Seconds after the load until the server's asynchronous work (edge-cart: queue -> Postgres) had caught up. */
  drainSeconds?: number;
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
    if (l.length) latencyByOutcome[kind] = { n: l.length, p50: round(percentile(l, 50)), p99: round(percentile(l, 99)) };
  }
  const buckets: number[][] = [];
  for (const s of load.samples) (buckets[Math.floor(s.startMs / 1000)] ??= []).push(s.latencyMs);
  const timeline = Array.from(buckets, (b, second) => {
    const l = Float64Array.from(b ?? []).sort();
    return { second, sent: l.length, p50: l.length ? Math.round(percentile(l, 50)) : 0, max: l.length ? Math.round(l[l.length - 1]!) : 0 };
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

const HEAD = ["target", "req/s", "vs edge-cart", "p50 ms", "p95 ms", "p99 ms", "201", "SOLD_OUT", "LIMIT_EXCEEDED", "other", "retries", "CPU busy", "verified", "401 floor req/s"];

function rows(results: TargetResult[]): string[][] {
  const ref = results.find((r) => r.target === "edge-cart") ?? results[0];
  return results.map((r) => [
    r.target,
    String(r.rps),
    ref ? `${(r.rps / ref.rps).toFixed(2)}x` : "",
    r.latencyMs.p50.toFixed(1),
    r.latencyMs.p95.toFixed(1),
    r.latencyMs.p99.toFixed(1),
    String(r.counts.created),
    String(r.counts.soldOut),
    String(r.counts.limitExceeded),
    String(r.counts.other),
    String(r.retries),
    r.machineCpuBusy === null ? "n/a" : `${Math.round(r.machineCpuBusy * 100)}%`,
    r.verified ? "yes" : "NO",
    r.floor ? String(r.floor.rps) : "",
  ]);
}

export function consoleTable(results: TargetResult[]): string {
  const all = [HEAD, ...rows(results)];
  const widths = HEAD.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(HEAD), widths.map((w) => "-".repeat(w)).join("  "), ...rows(results).map(line)].join("\n");
}

export interface Scenario {
  units: number;
  requests: number;
  buyers: number;
  perBuyer: number;
  purchaseLimit: number;
  quantity: number;
  concurrency: number;
  warmupRequests: number;
  stripes: number;
  spread: number;
  seed: number;
}

export function markdown(machine: MachineInfo, code: { commit: string; srcDirty: boolean } | null, scenario: Scenario, results: TargetResult[]): string {
  const md: string[] = [];
  md.push(`# Flash-sale benchmark: latest run`, "");
  md.push(
    `${machine.date} · ${machine.cpus} CPUs (${machine.cpuModel}) · ${machine.memoryGiB} GiB · Node ${machine.node} · ${machine.platform}` +
      (code ? ` · edge-cart at ${code.commit}${code.srcDirty ? " + uncommitted src/ changes" : ""}` : ""),
    "",
    `Scenario: one SKU with **${scenario.units}** units, purchase limit **${scenario.purchaseLimit}**; **${scenario.requests}** requests ` +
      `(quantity ${scenario.quantity}) from **${scenario.buyers}** buyers (${scenario.perBuyer} each, each with its own Idempotency-Key), ` +
      `**${scenario.concurrency}** in flight, keep-alive; ${scenario.warmupRequests} warm-up requests per target on a separate SKU. ` +
      `Request order: seed ${scenario.seed}, each buyer's requests within ~${scenario.spread} positions of each other.`,
    "",
  );
  md.push(`| ${HEAD.join(" | ")} |`, `|${HEAD.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`);
  for (const r of rows(results)) md.push(`| ${r.join(" | ")} |`);
  md.push("");
  const by = (r: TargetResult, kind: string) => {
    const l = r.latencyByOutcome[kind];
    return l ? `${Math.round(l.p50)} / ${Math.round(l.p99)}` : "";
  };
  md.push(
    "| target | what | mean ms | max ms | 201 p50 / p99 ms | SOLD_OUT p50 / p99 ms | LIMIT_EXCEEDED p50 / p99 ms | seconds | load generator CPU s | queue drain s |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
  );
  for (const r of results) {
    md.push(
      `| ${r.target} | ${r.description} | ${r.latencyMs.mean} | ${r.latencyMs.max} | ${by(r, "created")} | ${by(r, "SOLD_OUT")} | ${by(r, "LIMIT_EXCEEDED")} | ${r.seconds} | ${r.clientCpuSeconds} | ${r.drainSeconds ?? ""} |`,
    );
  }
  md.push("", "Cores used per component during the measured phase (from /proc; 1.00 = one core all the time), and the busiest threads:", "");
  for (const r of results) {
    if (!r.cpu) continue;
    const parts = Object.entries(r.cpu.byComponent).map(([k, v]) => `${k} ${v.toFixed(2)}`);
    const threads = r.cpu.busiestThreads.map((t) => `${t.label} ${t.cores.toFixed(2)}`).join(", ");
    md.push(`- **${r.target}**: ${parts.join(", ")}. Busiest threads: ${threads}`);
  }
  md.push("", "Checks (from each server's own records after the run):", "");
  for (const r of results) {
    md.push(`- **${r.target}**`);
    for (const c of r.checks) md.push(`  - ${c.ok ? "ok" : "FAILED"}: ${c.name} (${c.detail})`);
    if (r.counts.other) md.push(`  - other answers: ${JSON.stringify(r.otherBreakdown)}`);
  }
  md.push(
    "",
    "CPU busy = share of all cores busy during the measured phase (load generator included). 401 floor = the same route with a bad token signature, " +
      "refused before any stock work: the cost of the HTTP stack alone. See bench/README.md for caveats.",
    "",
  );
  return md.join("\n");
}
