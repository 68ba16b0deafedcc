// The flash-sale suite: the same burst of `POST /v1/flash/{skuId}/orders` against every
// target (one SKU, a per-buyer limit, more demand than stock), then the checks: the client's
// view (exactly N orders, distinct ids, nobody above the limit, every refusal a clean 409)
// and each server's own records (Target.verify). Run by bench/run.ts.
import { check, concurrency, int, jsonOf, prng, runId, tokenFor, warmup, type Check } from "./config.ts";
import type { FlashRun } from "./lib/flash-checks.ts";
import { probeHealth, type HealthProbe } from "./lib/health.ts";
import { runLoad, type BenchRequest, type BenchResponse, type LoadResult } from "./lib/load.ts";
import { cpuUse } from "./lib/cpu.ts";
import { cpuMeter } from "./lib/machine.ts";
import { sampleRss, type PeakRss } from "./lib/memory.ts";
import { progress } from "./lib/progress.ts";
import { summarize, type Outcome, type TargetResult } from "./lib/report.ts";
import { type Running, type Target, withTarget } from "./targets/target.ts";

export interface FlashScenario {
  units: number;
  requests: number;
  buyers: number;
  perBuyer: number;
  purchaseLimit: number;
  concurrency: number;
  warmupRequests: number;
  spread: number;
  seed: number;
}

const perBuyer = Math.max(1, int("BENCH_PER_BUYER", 2));
const requested = process.env.BENCH_REQUESTS ? int("BENCH_REQUESTS", 0) : null;
const buyers = Math.max(1, requested !== null ? Math.floor(requested / perBuyer) : int("BENCH_BUYERS", 5_000));
const purchaseLimit = Math.max(1, int("BENCH_LIMIT", 1));
export const flashScenario: FlashScenario = {
  buyers,
  perBuyer,
  requests: buyers * perBuyer,
  purchaseLimit,
  // Half the buyers can be served: the limit bites first, then the stock runs out.
  units: int("BENCH_UNITS", Math.max(1, Math.min(2_500, Math.floor((buyers * purchaseLimit) / 2)))),
  concurrency,
  warmupRequests: warmup,
  spread: Math.max(1, int("BENCH_SPREAD", 2 * concurrency)),
  seed: int("BENCH_SEED", 42),
};
const S = flashScenario;

export interface FlashResult extends TargetResult {
  peakRss: PeakRss | null;
  health: HealthProbe;
  /** Units the server holds as taken beyond the stock (server's records); null: not applicable. */
  oversell: number | null;
  ordersInPostgres: number | null;
  lastOrderSeconds: number | null;
  /** A reference Worker (floor, ceiling): not checked. */
  reference: boolean;
}

interface Planned {
  userId: string;
  round: number;
}

/**
 * Buyers in order, each buyer's requests jittered over ~`spread` positions: a buyer's
 * requests overlap in flight (the limit is tested under concurrency) and the limit bites
 * before the stock runs out.
 */
function plan(prefix: string, count: number, rounds: number, seed: number): Planned[] {
  const rand = prng(seed);
  const keyed: { key: number; p: Planned }[] = [];
  for (let b = 0; b < count; b++) {
    for (let r = 0; r < rounds; r++)
      keyed.push({ key: b * rounds + rand() * S.spread, p: { userId: `${prefix}${b}`, round: r } });
  }
  return keyed.sort((x, y) => x.key - y.key).map((k) => k.p);
}

async function requestsFor(planned: Planned[], skuId: string, keyPrefix: string): Promise<BenchRequest[]> {
  const body = JSON.stringify({ quantity: 1 });
  const out: BenchRequest[] = [];
  for (const p of planned) {
    out.push({
      path: `/v1/flash/${skuId}/orders`,
      headers: {
        authorization: `Bearer ${await tokenFor(p.userId)}`,
        "idempotency-key": `${keyPrefix}-${p.userId}-${p.round}`,
        "content-type": "application/json",
      },
      body,
      meta: `user:${p.userId}`,
    });
  }
  return out;
}

function classify(res: BenchResponse, req: BenchRequest, _i: number, retried: boolean): Outcome {
  const ownerId = req.meta ?? "?";
  const body = jsonOf<{ orderId?: unknown; code?: unknown }>(res.contentType, res.text);
  // A 200 replay counts as the success only when the first send was dropped in transit.
  if ((res.status === 201 || (res.status === 200 && retried)) && typeof body?.orderId === "string")
    return { kind: "created", ownerId, orderId: body.orderId };
  if (res.status === 409 && (body?.code === "SOLD_OUT" || body?.code === "LIMIT_EXCEEDED"))
    return { kind: body.code, ownerId };
  const code = typeof body?.code === "string" ? body.code : res.text.slice(0, 60).replace(/\s+/g, " ");
  return { kind: "other", ownerId, detail: `${res.status} ${code}` };
}

/** A connection error: a client would send it again with the same Idempotency-Key. */
const retryable = (res: BenchResponse) => res.status === 0;

function clientChecks(created: string[], unitsByOwner: Map<string, number>, other: number, units: number): Check[] {
  const maxPerOwner = Math.max(0, ...unitsByOwner.values());
  return [
    check(
      "201s == units (no oversell, no undersell)",
      created.length === units,
      `${created.length} orders for ${units} units`,
    ),
    check(
      "every 201 has a distinct orderId",
      new Set(created).size === created.length,
      `${new Set(created).size} distinct`,
    ),
    check("no buyer above the limit (client view)", maxPerOwner <= S.purchaseLimit, `max ${maxPerOwner} per buyer`),
    check("every refusal is SOLD_OUT or LIMIT_EXCEEDED", other === 0, `${other} other`),
  ];
}

/** Sends the buy requests at the scenario's concurrency, with a progress line under `label`. */
async function buyAll(baseUrl: string, requests: BenchRequest[], label: string): Promise<LoadResult<Outcome>> {
  const p = progress(label);
  const res = await runLoad({
    baseUrl,
    requests,
    concurrency: S.concurrency,
    classify,
    retryable,
    onProgress: p.onProgress,
  });
  p.end();
  return res;
}

async function warmUp(t: Running, label: string): Promise<void> {
  if (S.warmupRequests === 0) return;
  const count = Math.max(1, Math.floor(S.warmupRequests / S.perBuyer));
  const skuId = `bench-warm-${runId}`;
  await t.seed({ skuId, units: Math.max(1, Math.floor(count / 2)), limit: S.purchaseLimit });
  const reqs = await requestsFor(plan(`warm-${label}-`, count, S.perBuyer, S.seed + 1), skuId, `warm-${runId}`);
  const res = await buyAll(t.baseUrl, reqs, `${label} warm-up`);
  const bad = res.samples.filter((s) => s.outcome.kind === "other");
  console.log(
    `  warm-up: ${reqs.length} requests in ${res.seconds.toFixed(1)} s${bad.length ? `, ${bad.length} unexpected (${bad[0]!.outcome.detail})` : ""}`,
  );
}

export function runFlash(target: Target): Promise<FlashResult> {
  return withTarget(target, async (t) => {
    await warmUp(t, target.name);
    const skuId = `bench-flash-${runId}`;
    await t.seed({ skuId, units: S.units, limit: S.purchaseLimit });
    const reqs = await requestsFor(plan("buyer-", S.buyers, S.perBuyer, S.seed), skuId, `${runId}-${target.name}`);

    const cpu = cpuMeter();
    const perProcess = cpuUse();
    const rss = sampleRss(t.pids);
    const health = probeHealth(t.baseUrl);
    const load = await buyAll(t.baseUrl, reqs, target.name);
    const endedAt = performance.now();
    const summary = { ...summarize(target.name, target.description, S.concurrency, load, cpu()), cpu: perProcess() };
    const healthResult = await health();

    const orderIds: string[] = [];
    const unitsByOwner = new Map<string, number>();
    for (const { outcome } of load.samples) {
      if (outcome.kind !== "created") continue;
      orderIds.push(outcome.orderId!);
      unitsByOwner.set(outcome.ownerId, (unitsByOwner.get(outcome.ownerId) ?? 0) + 1);
    }
    const c = summary.counts;
    console.log(
      `  ${summary.requests} attempts in ${summary.seconds} s: ${summary.rps}/s, p50 ${summary.latencyMs.p50} ms, p99 ${summary.latencyMs.p99} ms; ` +
        `201 ${c.created}, SOLD_OUT ${c.soldOut}, LIMIT_EXCEEDED ${c.limitExceeded}, other ${c.other}${c.other ? ` ${JSON.stringify(summary.otherBreakdown)}` : ""}`,
    );
    const reference = target.reference === true;
    const run: FlashRun = { skuId, units: S.units, limit: S.purchaseLimit, orderIds, unitsByOwner, endedAt };
    const verdict = await t.verify(run);
    const peakRss = rss();
    const checks = reference ? [] : [...clientChecks(orderIds, unitsByOwner, c.other, S.units), ...verdict.checks];
    if (verdict.lastOrderSeconds !== null)
      console.log(
        `  orders in Postgres: ${verdict.ordersInPostgres}, the last ${verdict.lastOrderSeconds} s after the load`,
      );
    console.log(
      `  peak RSS ${peakRss?.totalMiB ?? "?"} MiB; /healthz max ${healthResult.maxMs} ms over ${healthResult.probes} probes`,
    );
    return {
      ...summary,
      peakRss,
      health: healthResult,
      oversell: verdict.unitsTaken === null ? null : Math.max(0, verdict.unitsTaken - S.units),
      ordersInPostgres: verdict.ordersInPostgres,
      lastOrderSeconds: verdict.lastOrderSeconds,
      reference,
      verified: checks.every((x) => x.ok),
      checks,
    };
  });
}
