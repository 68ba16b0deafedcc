// The cart-traffic suite: BENCH_CARTS guest carts (warmed with one add each), BENCH_CONCURRENCY
// clients, a mix of 60% `GET /v1/cart`, 30% add (`POST /v1/cart/items`) and 10% quantity
// change (`PATCH /v1/cart/items/{skuId}`). Each client owns its share of the carts and edits
// them one request at a time, so the final carts are known: afterwards every cart is read
// from its actor and each line must equal what the client's successful adds and sets make
// (no edit lost, none doubled). `/healthz` is probed every second meanwhile. Run by bench/run.ts.
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import { check, concurrency, int, prng, runId, type Check } from "./config.ts";
import { cpuUse, type CpuUse } from "./lib/cpu.ts";
import { probeHealth, type HealthProbe } from "./lib/health.ts";
import { percentile, runLoad, type BenchRequest, type BenchResponse, type Sample } from "./lib/load.ts";
import { sampleRss, type PeakRss } from "./lib/memory.ts";
import { progress } from "./lib/progress.ts";
import { editChecks, type Edit, type LatencyStats, type Op, OPS, type Result, stats } from "./lib/cart-checks.ts";
import { type Target, withTarget } from "./targets/target.ts";

export interface CartScenario {
  carts: number;
  clients: number;
  ops: number;
  skus: number;
  mix: Record<Op, number>;
  seed: number;
}

export const cartScenario: CartScenario = {
  carts: Math.max(1, int("BENCH_CARTS", 2_000)),
  clients: concurrency,
  ops: Math.max(1, int("BENCH_CART_OPS", process.env.BENCH_REQUESTS ? int("BENCH_REQUESTS", 10_000) : 10_000)),
  skus: Math.max(1, int("BENCH_CART_SKUS", 20)),
  mix: { get: 0.6, add: 0.3, set: 0.1 },
  seed: int("BENCH_SEED", 42),
};
const C = cartScenario;

export interface CartResult {
  target: string;
  description: string;
  seconds: number;
  rps: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  byOp: Record<Op, LatencyStats>;
  failures: Record<string, number>;
  /** GETs answered from the cart's snapshot (X-Cart-Source: snapshot) rather than its actor. */
  getsFromSnapshot: number;
  /** A reference Worker (floor, ceiling): not checked. */
  reference: boolean;
  health: HealthProbe;
  peakRss: PeakRss | null;
  cpu: CpuUse | null;
  verified: boolean;
  checks: Check[];
}

const skuIds = Array.from({ length: C.skus }, (_, i) => `bench-cart-${runId}-${i}`);

/**
 * What each client has seen of its carts: the version (ETag) of the last answer it got for each cart.
 * A GET sends it as `X-Cart-Version`, as a client that keeps its last answer does, so edge-cart may
 * answer from the cart's snapshot at the edge (docs/API.md, Cart reads) rather than ask the actor.
 */
type SeenVersions = Map<number, string>;

/** BENCH_CART_READ=actor: GETs say nothing of what the client has seen (the actor answers), to compare with the edge read. */
const sendsVersion = process.env.BENCH_CART_READ !== "actor";

function request(edit: Edit, cartIds: string[], seen: SeenVersions): BenchRequest {
  const headers: Record<string, string> = { "x-cart-id": cartIds[edit.cart]!, "content-type": "application/json" };
  const meta = JSON.stringify(edit);
  switch (edit.op) {
    case "get": {
      const headersAtSend = (): Record<string, string> => {
        const version = sendsVersion ? seen.get(edit.cart) : undefined;
        return version === undefined ? {} : { "x-cart-version": version };
      };
      return { method: "GET", path: "/v1/cart", headers, headersAtSend, meta };
    }
    case "read": // from the actor: a version newer than any snapshot skips Redis
      return { method: "GET", path: "/v1/cart", headers: { ...headers, "x-cart-version": "1000000000" }, meta };
    case "set":
      return {
        method: "PATCH",
        path: `/v1/cart/items/${edit.skuId}`,
        headers,
        body: JSON.stringify({ quantity: edit.quantity }),
        meta,
      };
    default:
      return {
        method: "POST",
        path: "/v1/cart/items",
        headers,
        body: JSON.stringify({ skuId: edit.skuId, quantity: edit.quantity }),
        meta,
      };
  }
}

/** Turns an answer into the client's record of it, and remembers the cart version it carried. */
const classifier =
  (seen: SeenVersions) =>
  (res: BenchResponse, req: BenchRequest): Result => {
    const edit = JSON.parse(req.meta!) as Edit;
    const version = /^(?:W\/)?"?(\d+)"?$/.exec(res.etag)?.[1];
    if (res.status >= 200 && res.status < 300 && version !== undefined) seen.set(edit.cart, version);
    return result(res, edit);
  };

function result(res: BenchResponse, edit: Edit): Result {
  const out: Result = {
    edit,
    status: res.status,
    ...(res.status === 0 ? { error: res.text.slice(0, 60) } : {}),
    ...(res.source ? { source: res.source } : {}),
  };
  if (edit.op === "read" && res.status === 200) {
    try {
      const view = JSON.parse(res.text) as { items: { skuId: string; quantity: number }[] };
      out.lines = new Map(view.items.map((i) => [i.skuId, i.quantity]));
    } catch {
      // no lines: counted as a failed read
    }
  }
  return out;
}

/**
 * Lanes of requests, one per client: client k owns carts k, k + clients, k + 2*clients, ... and
 * takes them in turn (the first edit of each of its carts, then the second of each, ...), as a
 * client serving several shoppers would: a cart's next request comes a round of the client's
 * other carts later, not on the heels of its last answer. Each cart's edits stay in order.
 */
function lanesOf(perCart: (cart: number) => Edit[], cartIds: string[], seen: SeenVersions): BenchRequest[][] {
  return Array.from({ length: Math.min(C.clients, C.carts) }, (_, k) => {
    const queues: Edit[][] = [];
    for (let cart = k; cart < C.carts; cart += C.clients) queues.push(perCart(cart));
    const lane: BenchRequest[] = [];
    for (let round = 0; queues.some((q) => round < q.length); round++)
      for (const q of queues) if (round < q.length) lane.push(request(q[round]!, cartIds, seen));
    return lane;
  });
}

/** The measured mix: each client's ops spread round-robin over its carts; sets target lines the cart has. */
function plannedEdits(): Map<number, Edit[]> {
  const rand = prng(C.seed);
  const byCart = new Map<number, Edit[]>();
  const planned = new Map<number, Set<string>>(); // lines each cart will have if every edit succeeds
  for (let cart = 0; cart < C.carts; cart++) {
    byCart.set(cart, []);
    planned.set(cart, new Set([skuIds[cart % C.skus]!]));
  }
  for (let i = 0; i < C.ops; i++) {
    const cart = i % C.carts;
    const r = rand();
    const pick = () => skuIds[Math.floor(rand() * C.skus)]!;
    let edit: Edit;
    if (r < C.mix.get) edit = { op: "get", cart };
    else if (r < C.mix.get + C.mix.add) {
      edit = { op: "add", cart, skuId: pick(), quantity: 1 + Math.floor(rand() * 3) };
      planned.get(cart)!.add(edit.skuId!);
    } else {
      const lines = [...planned.get(cart)!];
      edit = {
        op: "set",
        cart,
        skuId: lines[Math.floor(rand() * lines.length)]!,
        quantity: 1 + Math.floor(rand() * 5),
      };
    }
    byCart.get(cart)!.push(edit);
  }
  return byCart;
}

/** BENCH_TIMELINE=<file>: every measured request as CSV (start ms, latency ms, op, status), to find stalls. */
function writeTimeline(name: string, samples: Sample<Result>[]): void {
  const file = process.env.BENCH_TIMELINE;
  if (!file) return;
  const rows = samples.map(
    (s) => `${name},${s.startMs.toFixed(1)},${s.latencyMs.toFixed(1)},${s.outcome.edit.op},${s.outcome.status}`,
  );
  fs.appendFileSync(file, `${rows.join("\n")}\n`);
}

export function runCart(target: Target): Promise<CartResult> {
  return withTarget(target, async (t) => {
    for (const skuId of skuIds) await t.seed({ skuId, units: 1_000_000, limit: null });
    const cartIds = Array.from({ length: C.carts }, () => randomUUID());
    const seen: SeenVersions = new Map();

    // Warm every cart (its actor, its snapshot): one add each.
    const pw = progress(`${target.name} warm ${C.carts} carts`);
    const warm = await runLoad({
      baseUrl: t.baseUrl,
      lanes: lanesOf((cart) => [{ op: "warm", cart, skuId: skuIds[cart % C.skus]!, quantity: 1 }], cartIds, seen),
      concurrency: C.clients,
      classify: classifier(seen),
      onProgress: pw.onProgress,
    });
    pw.end();
    console.log(`  warm-up: ${C.carts} carts in ${warm.seconds.toFixed(1)} s`);

    const edits = plannedEdits();
    const perProcess = cpuUse();
    const rss = sampleRss(t.pids);
    const health = probeHealth(t.baseUrl);
    const p = progress(`${target.name} cart ops`);
    const load = await runLoad({
      baseUrl: t.baseUrl,
      lanes: lanesOf((cart) => edits.get(cart)!, cartIds, seen),
      concurrency: C.clients,
      classify: classifier(seen),
      onProgress: p.onProgress,
    });
    p.end();
    const cpu = perProcess();
    const healthResult = await health();
    writeTimeline(target.name, load.samples);
    const peakRss = rss();

    const all = Float64Array.from(load.samples.map((s) => s.latencyMs)).sort();
    const byOp = Object.fromEntries(
      OPS.map((op) => [
        op,
        stats(
          load.samples.filter((s) => s.outcome.edit.op === op),
          load.seconds,
        ),
      ]),
    ) as Record<Op, LatencyStats>;
    const failures: Record<string, number> = {};
    for (const s of load.samples) {
      if (s.outcome.status >= 200 && s.outcome.status < 300) continue;
      const key = `${s.outcome.edit.op} ${s.outcome.status}${s.outcome.error ? ` ${s.outcome.error}` : ""}`;
      failures[key] = (failures[key] ?? 0) + 1;
    }
    const gets = load.samples.filter((s) => s.outcome.edit.op === "get");
    const getsFromSnapshot = gets.filter((s) => s.outcome.source === "snapshot").length;
    const r = (n: number) => Math.round(n * 10) / 10;
    console.log(
      `  ${load.samples.length} ops in ${load.seconds.toFixed(1)} s: ${Math.round(load.samples.length / load.seconds)}/s; ` +
        OPS.map((op) => `${op} ${byOp[op].rps}/s p50 ${byOp[op].p50} p99 ${byOp[op].p99} ms`).join("; ") +
        `; ${getsFromSnapshot} of ${gets.length} GETs from the snapshot` +
        (Object.keys(failures).length ? `; failures ${JSON.stringify(failures)}` : ""),
    );
    console.log(
      `  /healthz: ${healthResult.probes} probes, p50 ${healthResult.p50Ms} ms, max ${healthResult.maxMs} ms, ${healthResult.over1s} at 1 s or more; peak RSS ${peakRss?.totalMiB ?? "?"} MiB`,
    );

    const checks: Check[] = [
      check(
        "/healthz answered within 1 s every second",
        healthResult.over1s === 0 && healthResult.probes > 0,
        `${healthResult.probes} probes, max ${healthResult.maxMs} ms`,
      ),
    ];
    if (!target.reference) {
      const reads = await runLoad({
        baseUrl: t.baseUrl,
        lanes: lanesOf((cart) => [{ op: "read", cart }], cartIds, seen),
        concurrency: C.clients,
        classify: classifier(seen),
      });
      checks.push(
        ...editChecks(
          [...warm.samples, ...load.samples].map((s) => s.outcome),
          reads.samples.map((s) => s.outcome),
        ),
      );
      for (const c of checks) console.log(`  ${c.ok ? "ok" : "FAILED"}: ${c.name} (${c.detail})`);
    }
    return {
      target: target.name,
      description: target.description,
      seconds: r(load.seconds),
      rps: Math.round(load.samples.length / load.seconds),
      latencyMs: {
        p50: r(percentile(all, 50)),
        p95: r(percentile(all, 95)),
        p99: r(percentile(all, 99)),
        max: r(all[all.length - 1] ?? 0),
      },
      byOp,
      failures,
      getsFromSnapshot,
      reference: target.reference === true,
      health: healthResult,
      peakRss,
      cpu,
      verified: checks.every((c) => c.ok),
      checks,
    };
  });
}
