// Flash-sale benchmark: the same load against three implementations of "reserve one unit
// for a buyer under a per-buyer limit and create a PENDING order", each behind HTTP:
//   edge-cart          the real Worker under `wrangler dev` (local stack, fresh database)
//   edge-cart-striped  the same, the SKU split into BENCH_STRIPES stock stripes
//   postgres           bench/baselines/postgres.ts: a pg Pool, one row-lock transaction
//   redis-lua          bench/baselines/redis-lua.ts: one EVALSHA per buy
// then checks each server's own records (no oversell, no undersell, nobody above the limit)
// and writes bench/results/latest.{json,md}. `npm run bench`; knobs in bench/README.md.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import pg from "pg";
import { sign } from "hono/jwt";
import { DEV_SERVER_URL, dropDatabase, ensureDatabase, randomDatabaseName } from "../dev/migrate.ts";
import { RespConnection, RespError } from "../dev/resp.ts";
import { readDevVars } from "../dev/stack.ts";
import { ROOT, sleep } from "../dev/util.ts";
import { SCHEMA_SQL, seedSku as seedPostgresSku } from "./baselines/postgres.ts";
import { redisKeys, seedSku as seedRedisSku } from "./baselines/redis-lua.ts";
import { percentile, runLoad, type BenchRequest, type BenchResponse } from "./lib/load.ts";
import { cpuUse } from "./lib/cpu.ts";
import { cpuMeter, machineInfo } from "./lib/machine.ts";
import { consoleTable, markdown, summarize, type Check, type Outcome, type Scenario, type TargetResult } from "./lib/report.ts";

// ---- knobs -----------------------------------------------------------------------------------

function int(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${raw}`);
  return n;
}

const ALL_TARGETS = ["postgres", "redis-lua", "edge-cart", "edge-cart-striped"] as const;
type TargetName = (typeof ALL_TARGETS)[number];

const concurrency = Math.max(1, int("BENCH_CONCURRENCY", 64));
const perBuyer = Math.max(1, int("BENCH_PER_BUYER", 4));
const requestsWanted = Math.max(perBuyer, int("BENCH_REQUESTS", 10_000));
const scenario: Scenario = {
  units: int("BENCH_UNITS", 2_500),
  requests: Math.floor(requestsWanted / perBuyer) * perBuyer,
  buyers: Math.floor(requestsWanted / perBuyer),
  perBuyer,
  purchaseLimit: Math.max(1, int("BENCH_LIMIT", 2)),
  quantity: 1,
  concurrency,
  warmupRequests: int("BENCH_WARMUP", 1_000),
  stripes: Math.min(64, Math.max(2, int("BENCH_STRIPES", 8))),
  spread: Math.max(1, int("BENCH_SPREAD", 2 * concurrency)),
  seed: int("BENCH_SEED", 42),
};
const targets = (process.env.BENCH_TARGETS ?? ALL_TARGETS.join(","))
  .split(",")
  .map((t) => t.trim())
  .filter(Boolean) as TargetName[];
for (const t of targets) if (!ALL_TARGETS.includes(t)) throw new Error(`BENCH_TARGETS: unknown target ${t} (known: ${ALL_TARGETS.join(", ")})`);
const pgServerUrl = process.env.BENCH_PG_URL ?? DEV_SERVER_URL;
const redisUrl = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";
const pgPoolSize = Math.max(1, int("BENCH_PG_POOL", 20));
const drainTimeoutMs = int("BENCH_DRAIN_TIMEOUT_S", 180) * 1000;
const outDir = path.resolve(ROOT, process.env.BENCH_OUT ?? "bench/results");
const runId = Date.now().toString(36);

const secrets = readDevVars();
const JWT_SECRET = secrets.JWT_SECRET ?? "dev-jwt-secret";
const ADMIN_TOKEN = secrets.ADMIN_TOKEN ?? "dev-admin-token";

// ---- the load: who sends what, in which order (the same for every target) ----------------------

/** mulberry32: a small seeded PRNG, so every target (and every run) gets the same order. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Planned {
  userId: string;
  round: number;
}

/**
 * Buyers in order, each buyer's requests jittered over ~`spread` positions: a buyer's
 * requests overlap in flight (the limit is tested under concurrency) and the limit bites
 * (early buyers take their 2, their 3rd and 4th are refused) before the stock runs out.
 */
function plan(prefix: string, buyers: number, rounds: number, spread: number, seed: number): Planned[] {
  const rand = prng(seed);
  const keyed: { key: number; p: Planned }[] = [];
  for (let b = 0; b < buyers; b++) {
    for (let r = 0; r < rounds; r++) keyed.push({ key: b * rounds + rand() * spread, p: { userId: `${prefix}${b}`, round: r } });
  }
  return keyed.sort((x, y) => x.key - y.key).map((k) => k.p);
}

const tokens = new Map<string, string>();
async function tokenFor(userId: string): Promise<string> {
  let t = tokens.get(userId);
  if (!t) {
    const now = Math.floor(Date.now() / 1000);
    t = await sign({ sub: userId, iat: now, exp: now + 4 * 3600 }, JWT_SECRET, "HS256");
    tokens.set(userId, t);
  }
  return t;
}

async function requestsFor(planned: Planned[], skuId: string, keyPrefix: string): Promise<BenchRequest[]> {
  const body = JSON.stringify({ quantity: scenario.quantity });
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
  let body: { orderId?: unknown; code?: unknown } | null = null;
  if (/json/.test(res.contentType)) {
    try {
      body = JSON.parse(res.text);
    } catch {
      body = null;
    }
  }
  // A 200 replay counts as the success only when the first send was dropped in transit.
  if ((res.status === 201 || (res.status === 200 && retried)) && typeof body?.orderId === "string") {
    return { kind: "created", ownerId, orderId: body.orderId };
  }
  if (res.status === 409 && (body?.code === "SOLD_OUT" || body?.code === "LIMIT_EXCEEDED")) return { kind: body.code, ownerId };
  const code = typeof body?.code === "string" ? body.code : res.text.slice(0, 60).replace(/\s+/g, " ");
  return { kind: "other", ownerId, detail: `${res.status} ${code}` };
}

/**
 * Drops a client would retry with the same Idempotency-Key: a connection error, or wrangler
 * dev's own proxy answering a plain-text 503 "Your worker restarted mid-request" when its hop
 * to workerd fails (the Worker may or may not have seen the request).
 */
function retryable(res: BenchResponse): boolean {
  return res.status === 0 || (res.status === 503 && !res.contentType.includes("json") && res.text.startsWith("Your worker restarted mid-request"));
}

// ---- the measured phase and the checks shared by every target ------------------------------------

interface Measured {
  summary: Omit<TargetResult, "verified" | "checks">;
  orderIds: string[];
  unitsByOwner: Map<string, number>;
}

async function warmUp(baseUrl: string, skuId: string, label: string): Promise<void> {
  if (scenario.warmupRequests === 0) return;
  const buyers = Math.max(1, Math.floor(scenario.warmupRequests / scenario.perBuyer));
  const reqs = await requestsFor(plan(`warm-${label}-`, buyers, scenario.perBuyer, scenario.spread, scenario.seed + 1), skuId, `warm-${runId}-${label}`);
  const res = await runLoad({ baseUrl, requests: reqs, concurrency, classify, retryable });
  const bad = res.samples.filter((s) => s.outcome.kind === "other");
  console.log(`  warm-up: ${reqs.length} requests in ${res.seconds.toFixed(1)} s${bad.length ? `, ${bad.length} unexpected (${bad[0]!.outcome.detail})` : ""}`);
}

/**
 * The HTTP floor: the same route with a token whose signature is wrong, answered 401 before
 * any stock or order is touched. Shows how much of a target's cost is the HTTP stack and
 * runtime (for edge-cart: wrangler dev's proxy, workerd, Hono, the JWT check).
 */
async function floor(baseUrl: string): Promise<{ rps: number; p50: number }> {
  const n = int("BENCH_FLOOR_REQUESTS", 2_000);
  if (n === 0) return { rps: 0, p50: 0 };
  const now = Math.floor(Date.now() / 1000);
  const badToken = await sign({ sub: "floor", iat: now, exp: now + 3600 }, `not-${JWT_SECRET}`, "HS256");
  const reqs: BenchRequest[] = Array.from({ length: n }, (_, i) => ({
    path: "/v1/flash/floor/orders",
    headers: { authorization: `Bearer ${badToken}`, "idempotency-key": `floor-${i}`, "content-type": "application/json" },
    body: JSON.stringify({ quantity: 1 }),
  }));
  const res = await runLoad({ baseUrl, requests: reqs, concurrency, classify: (r) => r.status, retryable });
  const wrong = res.samples.filter((s) => s.outcome !== 401).length;
  if (wrong) console.warn(`  floor: ${wrong} answers were not 401`);
  const lat = Float64Array.from(res.samples.map((s) => s.latencyMs)).sort();
  return { rps: Math.round(n / res.seconds), p50: Math.round(percentile(lat, 50) * 10) / 10 };
}

async function measure(target: string, description: string, baseUrl: string, skuId: string): Promise<Measured> {
  const floorResult = await floor(baseUrl);
  const reqs = await requestsFor(plan("buyer-", scenario.buyers, scenario.perBuyer, scenario.spread, scenario.seed), skuId, `${runId}-${target}`);
  const cpu = cpuMeter();
  const perProcess = cpuUse();
  const load = await runLoad({ baseUrl, requests: reqs, concurrency, classify, retryable });
  const summary = { ...summarize(target, description, concurrency, load, cpu()), cpu: perProcess(), floor: floorResult };
  const orderIds: string[] = [];
  const unitsByOwner = new Map<string, number>();
  for (const { outcome } of load.samples) {
    if (outcome.kind !== "created") continue;
    orderIds.push(outcome.orderId!);
    unitsByOwner.set(outcome.ownerId, (unitsByOwner.get(outcome.ownerId) ?? 0) + scenario.quantity);
  }
  const c = summary.counts;
  console.log(`  HTTP floor (401, bad token): ${floorResult.rps} req/s, p50 ${floorResult.p50} ms`);
  console.log(
    `  ${summary.requests} requests in ${summary.seconds} s: ${summary.rps} req/s, p50 ${summary.latencyMs.p50} ms, p99 ${summary.latencyMs.p99} ms; ` +
      `201 ${c.created}, SOLD_OUT ${c.soldOut}, LIMIT_EXCEEDED ${c.limitExceeded}, other ${c.other}${c.other ? ` ${JSON.stringify(summary.otherBreakdown)}` : ""}` +
      (summary.retries ? `; ${summary.retries} retries after transport drops` : ""),
  );
  if (summary.cpu) {
    const parts = Object.entries(summary.cpu.byComponent).map(([k, v]) => `${k} ${v.toFixed(2)}`);
    const threads = summary.cpu.busiestThreads.map((t) => `${t.label} ${t.cores.toFixed(2)}`).join(", ");
    console.log(`  cores used: ${parts.join(", ")}\n  busiest threads: ${threads}`);
    const others = summary.cpu.byComponent["other processes"] ?? 0;
    if (others > 0.25) console.warn(`  WARNING: other processes used ${others.toFixed(2)} cores during the measurement: the numbers are disturbed`);
  }
  return { summary, orderIds, unitsByOwner };
}

function check(name: string, ok: boolean, detail: string): Check {
  return { name, ok, detail };
}

/** What the client saw: exactly N orders, distinct, nobody above the limit, every refusal a clean 409. */
function clientChecks(m: Measured): Check[] {
  const N = scenario.units / scenario.quantity;
  const maxPerOwner = Math.max(0, ...m.unitsByOwner.values());
  return [
    check("201s == units (no oversell, no undersell)", m.orderIds.length === N, `${m.orderIds.length} orders for ${N} units`),
    check("every 201 has a distinct orderId", new Set(m.orderIds).size === m.orderIds.length, `${new Set(m.orderIds).size} distinct`),
    check("no buyer above the limit (client view)", maxPerOwner <= scenario.purchaseLimit, `max ${maxPerOwner} per buyer`),
    check("every refusal is SOLD_OUT or LIMIT_EXCEEDED", m.summary.counts.other === 0, `${m.summary.counts.other} other`),
  ];
}

/** The server's per-owner records against the limit and against what the client was told. */
function ownerChecks(serverUnits: Map<string, number>, m: Measured, source: string): Check[] {
  let above = 0;
  let max = 0;
  let mismatched = 0;
  for (const [owner, units] of serverUnits) {
    max = Math.max(max, units);
    if (units > scenario.purchaseLimit) above++;
    if ((m.unitsByOwner.get(owner) ?? 0) !== units) mismatched++;
  }
  for (const owner of m.unitsByOwner.keys()) if (!serverUnits.has(owner)) mismatched++;
  return [
    check(`no buyer above the limit (${source})`, above === 0, `${above} above, max ${max} per buyer over ${serverUnits.size} buyers`),
    check(`per-buyer units match the 201s (${source})`, mismatched === 0, `${mismatched} buyers differ`),
  ];
}

function sameIds(serverIds: string[], m: Measured): boolean {
  if (serverIds.length !== m.orderIds.length) return false;
  const a = [...serverIds].sort();
  const b = [...m.orderIds].sort();
  return a.every((id, i) => id === b[i]);
}

// ---- processes we start ------------------------------------------------------------------------

const cleanups: (() => Promise<void>)[] = [];
async function cleanupAll(): Promise<void> {
  while (cleanups.length) await cleanups.pop()!().catch((err: Error) => console.warn(`[bench] cleanup failed: ${err.message}`));
}

interface Child {
  /** What the child printed after `READY `. */
  ready: string;
  stop(): Promise<void>;
}

/**
 * Starts `tsx <file>` and waits for its `READY <info>` line. Its stdin is a pipe from us:
 * when this process dies, the child sees end-of-input (the servers here stop on it).
 */
async function startChild(file: string, env: Record<string, string>, opts: { startMs?: number; stopMs?: number } = {}): Promise<Child> {
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, file)], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (d: string) => {
    stderr = (stderr + d).slice(-4000);
  });
  const killNow = () => child.kill("SIGKILL");
  process.once("exit", killNow);
  const stop = async () => {
    process.off("exit", killNow);
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await Promise.race([exited, sleep(opts.stopMs ?? 5000)]);
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  };
  const startMs = opts.startMs ?? 30_000;
  const ready = await new Promise<string>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`${file} did not start within ${startMs / 1000} s\n${stderr}`)), startMs);
    const onData = (d: string) => {
      out += d;
      const m = /READY (.*)\n/.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout!.off("data", onData);
        child.stdout!.resume(); // keep draining whatever else it prints
        resolve(m[1]!);
      }
    };
    child.stdout!.setEncoding("utf8").on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${file} exited (${code}) before it was ready\n${stderr}`));
    });
  }).catch(async (err: unknown) => {
    await stop();
    throw err;
  });
  return { ready, stop };
}

interface Server {
  baseUrl: string;
  stop(): Promise<void>;
}

/** A baseline server on a free port. */
async function startServer(file: string, env: Record<string, string>): Promise<Server> {
  const child = await startChild(file, { ...env, PORT: "0", JWT_SECRET });
  return { baseUrl: `http://127.0.0.1:${Number(child.ready)}`, stop: child.stop };
}

// ---- targets -------------------------------------------------------------------------------------

async function benchPostgres(): Promise<TargetResult> {
  const name = randomDatabaseName("edge_cart_bench_pg");
  const databaseUrl = await ensureDatabase(pgServerUrl, name);
  cleanups.push(() => dropDatabase(pgServerUrl, name));
  const db = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  db.on("error", () => undefined);
  cleanups.push(() => db.end());
  await db.query(SCHEMA_SQL);
  const env: Record<string, string> = { DATABASE_URL: databaseUrl, PG_POOL_SIZE: String(pgPoolSize) };
  if (process.env.BENCH_PG_SYNCHRONOUS_COMMIT) env.PG_SYNCHRONOUS_COMMIT = process.env.BENCH_PG_SYNCHRONOUS_COMMIT;
  const server = await startServer("bench/baselines/postgres.ts", env);
  cleanups.push(() => server.stop());

  await seedPostgresSku(db, "warm", Math.floor(scenario.warmupRequests / 4), scenario.purchaseLimit);
  await warmUp(server.baseUrl, "warm", "pg");
  const skuId = `flash-${runId}`;
  await seedPostgresSku(db, skuId, scenario.units, scenario.purchaseLimit);
  const { rows: syncRows } = await db.query<{ synchronous_commit: string }>("show synchronous_commit");
  const m = await measure(
    "postgres",
    `Node http + pg Pool(${pgPoolSize}), one transaction: orders insert, buyer_units upsert, stock row decrement (synchronous_commit=${process.env.BENCH_PG_SYNCHRONOUS_COMMIT ?? syncRows[0]!.synchronous_commit})`,
    server.baseUrl,
    skuId,
  );

  const stock = (await db.query<{ available: number }>("select available from stock where sku_id = $1", [skuId])).rows[0]!;
  const orders = await db.query<{ order_id: string; owner_id: string; quantity: number }>("select order_id, owner_id, quantity from orders where sku_id = $1", [skuId]);
  const fromOrders = new Map<string, number>();
  for (const o of orders.rows) fromOrders.set(o.owner_id, (fromOrders.get(o.owner_id) ?? 0) + o.quantity);
  const units = await db.query<{ owner_id: string; units: number }>("select owner_id, units from buyer_units where sku_id = $1", [skuId]);
  const counted = new Map(units.rows.map((r) => [r.owner_id, r.units] as const));
  const countedMatches = counted.size === fromOrders.size && [...counted].every(([o, u]) => fromOrders.get(o) === u);
  const sold = orders.rows.reduce((n, o) => n + o.quantity, 0);
  const checks = [
    ...clientChecks(m),
    check("stock row: available == 0", stock.available === 0, `available ${stock.available}`),
    check("orders rows: units sold == N", sold === scenario.units, `${orders.rowCount} orders, ${sold} units`),
    check("orders rows are exactly the 201s", sameIds(orders.rows.map((o) => o.order_id), m), `${orders.rowCount} rows`),
    ...ownerChecks(fromOrders, m, "orders rows"),
    check("buyer_units agrees with orders", countedMatches, `${counted.size} buyer_units rows`),
  ];
  await server.stop();
  return { ...m.summary, verified: checks.every((c) => c.ok), checks };
}

async function benchRedis(): Promise<TargetResult> {
  const prefix = `bench:${runId}`;
  const conn = await RespConnection.open(redisUrl);
  const skuId = `flash-${runId}`;
  cleanups.push(async () => {
    const keys = [...Object.values(redisKeys(prefix, "warm")), ...Object.values(redisKeys(prefix, skuId))];
    await conn.send([["DEL", ...keys]]);
    conn.close();
  });
  const server = await startServer("bench/baselines/redis-lua.ts", { REDIS_URL: redisUrl, PREFIX: prefix });
  cleanups.push(() => server.stop());

  await seedRedisSku(conn, prefix, "warm", Math.floor(scenario.warmupRequests / 4), scenario.purchaseLimit);
  await warmUp(server.baseUrl, "warm", "redis");
  await seedRedisSku(conn, prefix, skuId, scenario.units, scenario.purchaseLimit);
  const [persistence] = await conn.send([["CONFIG", "GET", "appendonly"]]);
  const aof = Array.isArray(persistence) ? String(persistence[1]) : "?";
  const m = await measure("redis-lua", `Node http + one pipelined RESP connection, one EVALSHA per buy (appendonly=${aof})`, server.baseUrl, skuId);

  const k = redisKeys(prefix, skuId);
  const [available, buyers, orders] = await conn.send([
    ["HGET", k.sku, "available"],
    ["HGETALL", k.buyers],
    ["HVALS", k.orders],
  ]);
  for (const r of [available, buyers, orders]) if (r instanceof RespError) throw r;
  const stored = (orders as Buffer[]).map((b) => JSON.parse(b.toString("utf8")) as { orderId: string; ownerId: string; quantity: number });
  const fromOrders = new Map<string, number>();
  for (const o of stored) fromOrders.set(o.ownerId, (fromOrders.get(o.ownerId) ?? 0) + o.quantity);
  const counted = new Map<string, number>();
  const flat = buyers as Buffer[];
  for (let i = 0; i < flat.length; i += 2) counted.set(flat[i]!.toString(), Number(flat[i + 1]!.toString()));
  const countedMatches = counted.size === fromOrders.size && [...counted].every(([o, u]) => fromOrders.get(o) === u);
  const sold = stored.reduce((n, o) => n + o.quantity, 0);
  const checks = [
    ...clientChecks(m),
    check("sku hash: available == 0", String(available) === "0", `available ${String(available)}`),
    check("orders hash: units sold == N", sold === scenario.units, `${stored.length} orders, ${sold} units`),
    check("orders hash is exactly the 201s", sameIds(stored.map((o) => o.orderId), m), `${stored.length} entries`),
    ...ownerChecks(fromOrders, m, "orders hash"),
    check("buyers hash agrees with orders", countedMatches, `${counted.size} buyers`),
  ];
  await server.stop();
  return { ...m.summary, verified: checks.every((c) => c.ok), checks };
}

interface EdgeStack {
  baseUrl: string;
  db: pg.Pool;
}

async function startEdge(): Promise<EdgeStack> {
  const t0 = performance.now();
  const child = await startChild("bench/lib/edge-stack.ts", {}, { startMs: 180_000, stopMs: 60_000 });
  cleanups.push(() => child.stop());
  const { baseUrl, databaseUrl } = JSON.parse(child.ready) as { baseUrl: string; databaseUrl: string };
  const db = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  db.on("error", () => undefined);
  cleanups.push(() => db.end());
  console.log(`  local stack up in ${((performance.now() - t0) / 1000).toFixed(1)} s (${baseUrl})`);
  return { baseUrl, db };
}

async function admin(baseUrl: string, method: string, skuId: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${baseUrl}/v1/admin/skus/${skuId}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch {
    // keep the text
  }
  return { status: res.status, json };
}

async function putEdgeSku(baseUrl: string, skuId: string, stock: number, stripes: number): Promise<void> {
  const res = await admin(baseUrl, "PUT", skuId, {
    productId: "bench-product",
    name: "Bench flash item",
    merchantId: "m-bench",
    price: 500,
    currency: "USD",
    status: "active",
    stock,
    purchaseLimit: scenario.purchaseLimit,
    stripes,
  });
  if (res.status !== 201 && res.status !== 200) throw new Error(`PUT sku ${skuId}: ${res.status} ${JSON.stringify(res.json)}`);
}

/** Orders of `skuId` in Postgres (written by the queue consumer), per owner. */
async function edgeOrdersInPostgres(db: pg.Pool, skuId: string) {
  const { rows } = await db.query<{ order_id: string; owner_id: string; quantity: number; status: string }>(
    "select o.order_id, o.owner_id, oi.quantity, o.status from orders o join order_items oi on oi.order_id = o.order_id where oi.sku_id = $1",
    [skuId],
  );
  return rows;
}

/** Waits until the queue consumer has written `expected` orders of the SKU; the seconds it took, or null on timeout. */
async function waitForDrain(db: pg.Pool, skuId: string, expected: number, timeoutMs: number): Promise<number | null> {
  const t0 = performance.now();
  for (;;) {
    const { rows } = await db.query<{ n: number }>("select count(*)::int as n from order_items where sku_id = $1", [skuId]);
    if (rows[0]!.n >= expected) return Math.round((performance.now() - t0) / 100) / 10;
    if (performance.now() - t0 > timeoutMs) return null;
    await sleep(500);
  }
}

async function benchEdge(edge: EdgeStack, target: "edge-cart" | "edge-cart-striped"): Promise<TargetResult> {
  const baseUrl = edge.baseUrl;
  const stripes = target === "edge-cart" ? 1 : scenario.stripes;
  const tag = stripes > 1 ? `s${stripes}-` : "";
  const warmSku = `bench-warm-${tag}${runId}`;
  const warmUnits = Math.floor(scenario.warmupRequests / 4);
  await putEdgeSku(baseUrl, warmSku, warmUnits, stripes);
  await warmUp(baseUrl, warmSku, `edge-${tag}`);
  // Let the warm-up's orders reach Postgres, so its background work does not overlap the measurement.
  await waitForDrain(edge.db, warmSku, warmUnits, 60_000);

  const skuId = `bench-flash-${tag}${runId}`;
  await putEdgeSku(baseUrl, skuId, scenario.units, stripes);
  const m = await measure(
    target,
    stripes > 1
      ? `the Worker under wrangler dev, POST /v1/flash/{skuId}/orders, SKU split into ${stripes} stripes`
      : "the Worker under wrangler dev, POST /v1/flash/{skuId}/orders (SKU actor + order actor, outbox -> queue -> Postgres)",
    baseUrl,
    skuId,
  );

  const view = await admin(baseUrl, "GET", skuId);
  const v = view.json as { onHand: number; reserved: number; sold: number; available: number };
  const checks = [
    ...clientChecks(m),
    check(
      "admin view: reserved == N, available == 0",
      view.status === 200 && v.reserved === scenario.units && v.available === 0 && v.onHand === scenario.units && v.sold === 0,
      `onHand ${v.onHand}, reserved ${v.reserved}, sold ${v.sold}, available ${v.available}`,
    ),
  ];
  // The orders reach Postgres through the outbox, the queue and the consumer: wait for them.
  const drainSeconds = await waitForDrain(edge.db, skuId, m.orderIds.length, drainTimeoutMs);
  const rows = await edgeOrdersInPostgres(edge.db, skuId);
  const fromOrders = new Map<string, number>();
  for (const r of rows) fromOrders.set(r.owner_id, (fromOrders.get(r.owner_id) ?? 0) + r.quantity);
  checks.push(
    check(
      "Postgres (after the queue drained): orders are exactly the 201s, all PENDING",
      drainSeconds !== null && sameIds(rows.map((r) => r.order_id), m) && rows.every((r) => r.status === "PENDING"),
      drainSeconds === null ? `only ${rows.length} of ${m.orderIds.length} after ${drainTimeoutMs / 1000} s` : `${rows.length} orders after ${drainSeconds} s`,
    ),
    ...ownerChecks(fromOrders, m, "Postgres orders"),
  );
  return { ...m.summary, drainSeconds: drainSeconds ?? undefined, verified: checks.every((c) => c.ok), checks };
}

// ---- main ----------------------------------------------------------------------------------------

/** Which code was measured: the commit, and whether src/ had uncommitted changes. */
function codeVersion(): { commit: string; srcDirty: boolean } | null {
  try {
    const git = (args: string[]) => execFileSync("git", args, { cwd: ROOT, encoding: "utf8" }).trim();
    return { commit: git(["rev-parse", "--short", "HEAD"]), srcDirty: git(["status", "--porcelain", "--", "src", "wrangler.toml"]) !== "" };
  } catch {
    return null;
  }
}

async function main(): Promise<void> {
  const machine = machineInfo();
  const code = codeVersion();
  const N = scenario.units;
  console.log(
    `[bench] ${machine.cpus} CPUs, Node ${machine.node}; ${scenario.requests} requests from ${scenario.buyers} buyers (${scenario.perBuyer} each), ` +
      `${N} units, limit ${scenario.purchaseLimit}, ${concurrency} in flight; targets: ${targets.join(", ")}`,
  );
  if (scenario.buyers * scenario.purchaseLimit < N) console.warn(`[bench] WARNING: demand (${scenario.buyers} x ${scenario.purchaseLimit}) is below the ${N} units: some stock must stay unsold`);
  const results: TargetResult[] = [];
  let edge: EdgeStack | null = null;
  for (const target of targets) {
    console.log(`[bench] ${target}`);
    if (target === "postgres") results.push(await benchPostgres());
    else if (target === "redis-lua") results.push(await benchRedis());
    else {
      edge ??= await startEdge();
      results.push(await benchEdge(edge, target));
    }
  }

  console.log(`\n${consoleTable(results)}\n`);
  for (const r of results) for (const c of r.checks) if (!c.ok) console.log(`[bench] ${r.target}: check FAILED: ${c.name} (${c.detail})`);
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, "latest.json"), JSON.stringify({ machine, code, scenario, targets: results }, null, 2) + "\n");
  fs.writeFileSync(path.join(outDir, "latest.md"), markdown(machine, code, scenario, results));
  console.log(`[bench] wrote ${path.relative(ROOT, path.join(outDir, "latest.json"))} and latest.md`);
  if (results.some((r) => !r.verified)) process.exitCode = 1;
}

for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.once(sig, () => {
    console.log(`\n[bench] ${sig}: cleaning up`);
    void cleanupAll().finally(() => process.exit(130));
  });
}

try {
  await main();
} catch (err) {
  console.error(err);
  process.exitCode = 1;
} finally {
  await cleanupAll();
}
// The local stack's child processes keep handles open for a moment; do not wait for them.
process.exit(process.exitCode ?? 0);
