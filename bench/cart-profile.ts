// Cart profiling run (not the official benchmark): the built Worker on bare workerd through
// Miniflare's API (no wrangler dev proxy), the test services (fresh Postgres database, Neon
// WS proxy, Redis behind the Upstash REST adapter) in a child process, and a keep-alive
// HTTP load from this process. Prints req/s and latency percentiles for:
//   floor   a trivial Worker on the same workerd build (the runtime ceiling)
//   healthz GET /healthz
//   get     GET /v1/cart over CARTS warm guest carts (LINES lines each)
//   add     POST /v1/cart/items over the same carts
//   mix     60% get, 40% add (the benchmark's cart mix, with its quantity sets counted as adds)
//   flood   GET /v1/cart at FLOOD_CONCURRENCY in flight: status mix and /healthz latency under overload
// Then checks that no add was lost or doubled. `npx tsx bench/cart-profile.ts`;
// knobs: TIMELINE=<ms> (answers and the slowest one per window) NO_REDIS NO_CONSUMER (unset) MAX_IN_FLIGHT (Worker default) CARTS (2000) LINES (3) CONCURRENCY (100) SECONDS (8) FLOOD_CONCURRENCY (600) PHASES (floor,healthz,get,add,flood)
import { spawn, execFileSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";
import { ROOT } from "../dev/util.ts";
import { fmt, load, type PhaseResult, type Req, type Res, send } from "./lib/keepalive-load.ts";
import { type Profile, cdp, inspectorTarget, report } from "./lib/v8-profile.ts";

const require = createRequire(path.join(ROOT, "package.json"));
const { Miniflare } = require("miniflare") as typeof import("miniflare");
const { unstable_getMiniflareWorkerOptions } = require("wrangler") as typeof import("wrangler");

const num = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const CARTS = num("CARTS", 2000);
const LINES = num("LINES", 3);
const CONCURRENCY = num("CONCURRENCY", 100);
const SECONDS = num("SECONDS", 8);
const FLOOD_CONCURRENCY = num("FLOOD_CONCURRENCY", 600);
const PHASES = (process.env.PHASES ?? "floor,healthz,get,add,flood").split(",");
const ADMIN_TOKEN = "profile-admin-token";
/** INSPECT=<phase>: a V8 CPU profile of the Worker's isolate over that phase (printed, and written next to the log). */
const INSPECT = process.env.INSPECT;
const WORKER_LOG = process.env.WORKER_LOG ?? path.join(os.tmpdir(), "cart-profile-worker.log");

interface Services {
  databaseUrl: string;
  neonWsProxy: string;
  upstashUrl: string;
  upstashToken: string;
}

function startServices(): Promise<{ services: Services; stop: () => void }> {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "bench/cart-profile.ts"), "--services"], {
    cwd: ROOT,
    stdio: ["pipe", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split("\n").find((l) => l.startsWith("READY "));
      if (line) resolve({ services: JSON.parse(line.slice(6)) as Services, stop: () => child.stdin!.end() });
    });
    child.on("exit", (code) => reject(new Error(`services exited (${code})`)));
  });
}

function buildWorker(outdir: string): string {
  execFileSync(
    process.execPath,
    [path.join(ROOT, "node_modules/wrangler/bin/wrangler.js"), "deploy", "--dry-run", "--outdir", outdir],
    { cwd: ROOT, stdio: "ignore" },
  );
  return path.join(outdir, "index.js");
}

/** The cart's lines straight from its actor (a version newer than any snapshot skips Redis). */
async function readCart(agent: http.Agent, port: number, cart: string): Promise<Map<string, number>> {
  const res = await send(agent, port, {
    method: "GET",
    path: "/v1/cart",
    headers: { "x-cart-id": cart, "x-cart-version": String(Number.MAX_SAFE_INTEGER) },
  });
  if (res.status !== 200) throw new Error(`read ${cart}: ${res.status} ${res.text}`);
  const body = JSON.parse(res.text) as { items: { skuId: string; quantity: number }[] };
  return new Map(body.items.map((l) => [l.skuId, l.quantity]));
}

// ---- the run -----------------------------------------------------------------------------------

async function main(): Promise<void> {
  fs.writeFileSync(WORKER_LOG, "");
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), "cart-profile-"));
  const { services, stop } = await startServices();
  const scriptPath = buildWorker(outdir);
  const { workerOptions } = unstable_getMiniflareWorkerOptions(path.join(ROOT, "wrangler.toml"));
  const port = 18787;
  const floorPort = 18788;
  const inspectorPort = 18789;
  const mf = new Miniflare({
    host: "127.0.0.1",
    port,
    ...(INSPECT ? { inspectorPort } : {}),
    ...(workerOptions as object),
    // NO_CONSUMER=1: profile by elimination, events stay in the queues.
    ...(process.env.NO_CONSUMER ? { queueConsumers: {} } : {}),
    // PREVENT_EVICTION=1: diagnostic, cart actors stay in memory (workerd evicts after 10 s idle).
    ...(process.env.PREVENT_EVICTION
      ? {
          durableObjects: Object.fromEntries(
            Object.entries((workerOptions as { durableObjects: Record<string, object> }).durableObjects).map(
              ([k, v]) => [k, { ...(v as object), unsafePreventEviction: true }],
            ),
          ),
        }
      : {}),
    modules: [{ type: "ESModule", path: scriptPath }],
    modulesRoot: outdir,
    scriptPath: undefined,
    bindings: {
      ...((workerOptions as { bindings?: Record<string, unknown> }).bindings ?? {}),
      JWT_SECRET: "profile-jwt-secret",
      ADMIN_TOKEN,
      PAYMENT_WEBHOOK_SECRET: "profile-webhook-secret",
      DATABASE_URL: services.databaseUrl,
      NEON_WS_PROXY: services.neonWsProxy,
      // NO_REDIS=1: profile by elimination, without the Upstash adapter.
      ...(process.env.NO_REDIS
        ? {}
        : { UPSTASH_REDIS_REST_URL: services.upstashUrl, UPSTASH_REDIS_REST_TOKEN: services.upstashToken }),
      ...(process.env.MAX_IN_FLIGHT ? { MAX_IN_FLIGHT: process.env.MAX_IN_FLIGHT } : {}),
    },
    durableObjectsPersist: path.join(outdir, "do"),
    handleRuntimeStdio(stdout: NodeJS.ReadableStream, stderr: NodeJS.ReadableStream) {
      const log = fs.createWriteStream(WORKER_LOG, { flags: "a" });
      stdout.pipe(log);
      stderr.pipe(log);
    },
  } as ConstructorParameters<typeof Miniflare>[0]);
  const floor = new Miniflare({
    host: "127.0.0.1",
    port: floorPort,
    modules: true,
    script: `export default { fetch() { return new Response('{"ok":true}', { headers: { "content-type": "application/json" } }); } };`,
    compatibilityDate: "2026-04-01",
  });
  await Promise.all([mf.ready, floor.ready]);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 50 });
  try {
    // Catalog: LINES * 4 SKUs, plenty of stock, no purchase limit.
    const skus = Array.from({ length: LINES * 4 }, (_, i) => `prof-sku-${i}`);
    for (const skuId of skus) {
      const res = await send(agent, port, {
        method: "PUT",
        path: `/v1/admin/skus/${skuId}`,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        body: JSON.stringify({
          productId: `p-${skuId}`,
          merchantId: "m1",
          name: skuId,
          price: 1000,
          status: "active",
          stock: 10_000_000,
        }),
      });
      if (res.status !== 200 && res.status !== 201) throw new Error(`PUT sku ${res.status} ${res.text}`);
    }
    // Warm carts: each gets LINES lines.
    const carts = Array.from({ length: CARTS }, () => crypto.randomUUID());
    const expected = new Map<string, number>(); // `${cart} ${sku}` -> quantity
    const addReq = (cart: string, skuId: string): Req => ({
      method: "POST",
      path: "/v1/cart/items",
      headers: { "x-cart-id": cart },
      body: JSON.stringify({ skuId, quantity: 1 }),
    });
    const countAdd = (req: Req, res: Res) => {
      if (res.status !== 200) return;
      const key = `${req.headers["x-cart-id"]} ${(JSON.parse(req.body!) as { skuId: string }).skuId}`;
      expected.set(key, (expected.get(key) ?? 0) + 1);
    };
    const warmups = Array.from({ length: CARTS * LINES }, (_, i) =>
      addReq(carts[i % CARTS]!, skus[Math.floor(i / CARTS) % skus.length]!),
    );
    let w = 0;
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        for (let req = warmups[w++]; req; req = warmups[w++]) {
          let res = await send(agent, port, req);
          // 0 = no answer in 30 s: a first add may still have landed, so count it only from the final read.
          while (res.status === 429 || res.status === 503 || res.status === 0) res = await send(agent, port, req);
          if (res.status !== 200) throw new Error(`warm-up add ${res.status} ${res.text}`);
        }
      }),
    );
    // What the carts hold now is the baseline the measured adds are counted on.
    for (const cart of carts) {
      for (const [skuId, quantity] of await readCart(agent, port, cart)) expected.set(`${cart} ${skuId}`, quantity);
    }
    await new Promise((r) => setTimeout(r, num("SETTLE_S", 3) * 1000));
    console.log(`${CARTS} carts x ${LINES} lines warm; ${CONCURRENCY} in flight, ${SECONDS} s per phase`);

    const results: Record<string, PhaseResult> = {};
    const getReq = (i: number): Req => ({
      method: "GET",
      path: "/v1/cart",
      headers: { "x-cart-id": carts[(i * 7919) % CARTS]! },
    });
    for (const phase of PHASES) {
      await new Promise((r) => setTimeout(r, 2_000));
      fs.appendFileSync(WORKER_LOG, `=== phase ${phase}\n`);
      const inspector = phase === INSPECT ? await cdp(await inspectorTarget(inspectorPort)) : null;
      if (inspector) {
        await inspector.send("Profiler.enable");
        await inspector.send("Profiler.setSamplingInterval", { interval: 200 });
        await inspector.send("Profiler.start");
      }
      if (phase === "floor")
        results.floor = await load(floorPort, CONCURRENCY, SECONDS, () => ({ method: "GET", path: "/", headers: {} }));
      if (phase === "healthz")
        results.healthz = await load(port, CONCURRENCY, SECONDS, () => ({
          method: "GET",
          path: "/healthz",
          headers: {},
        }));
      if (phase === "get" || phase === "get2") results[phase] = await load(port, CONCURRENCY, SECONDS, getReq);
      if (phase === "add") {
        results.add = await load(
          port,
          CONCURRENCY,
          SECONDS,
          (i) => addReq(carts[(i * 7919) % CARTS]!, skus[i % skus.length]!),
          countAdd,
        );
      }
      if (phase === "mix") {
        // The benchmark's mix: 60% reads, 40% adds (the adds counted for the consistency check).
        results.mix = await load(
          port,
          CONCURRENCY,
          SECONDS,
          (i) => (i % 10 < 6 ? getReq(i) : addReq(carts[(i * 7919) % CARTS]!, skus[i % skus.length]!)),
          (req, res) => {
            if (req.method === "POST") countAdd(req, res);
          },
        );
      }
      if (phase === "flood") {
        // Overload: FLOOD_CONCURRENCY readers; meanwhile /healthz is probed every 250 ms.
        const probes: number[] = [];
        let flooding = true;
        const prober = (async () => {
          const probeAgent = new http.Agent({ keepAlive: false });
          while (flooding) {
            const t = performance.now();
            const res = await send(probeAgent, port, { method: "GET", path: "/healthz", headers: {} }, 5_000);
            probes.push(res.status === 200 ? performance.now() - t : Infinity);
            await new Promise((r) => setTimeout(r, 250));
          }
        })();
        results.flood = await load(port, FLOOD_CONCURRENCY, SECONDS, getReq);
        flooding = false;
        await prober;
        const after = performance.now();
        let recovered = Infinity;
        while (performance.now() - after < 15_000) {
          const r = await load(port, 10, 0.5, getReq);
          if (Object.keys(r.statuses).every((s) => s === "200") && r.p99 < 200) {
            recovered = performance.now() - after;
            break;
          }
        }
        probes.sort((a, b) => a - b);
        console.log(
          `flood: /healthz probes ${probes.length}, worst ${probes[probes.length - 1]?.toFixed(0)} ms, over 1 s: ${probes.filter((p) => p > 1000).length}; healthy again after ${recovered.toFixed(0)} ms; 429/503 without Retry-After: ${results.flood.badRetryAfter}`,
        );
      }
      if (inspector) {
        const { profile } = await inspector.send<{ profile: Profile }>("Profiler.stop");
        inspector.close();
        fs.writeFileSync(`${WORKER_LOG}.${phase}.cpuprofile`, JSON.stringify(profile));
        console.log(report(profile, fs.readFileSync(scriptPath, "utf8")));
      }
    }
    console.log("---");
    for (const [name, r] of Object.entries(results)) console.log(fmt(name, r));
    if (results.floor) {
      for (const name of ["get", "get2", "add", "mix", "healthz"])
        if (results[name]) console.log(`${name}/floor = ${(results[name].rps / results.floor.rps).toFixed(2)}`);
    }

    // No add lost or doubled: every cart holds exactly the 200s it was given.
    await new Promise((r) => setTimeout(r, 1_000));
    let wrong = 0;
    for (const cart of carts) {
      const got = await readCart(agent, port, cart);
      for (const skuId of skus) if ((got.get(skuId) ?? 0) !== (expected.get(`${cart} ${skuId}`) ?? 0)) wrong++;
    }
    console.log(
      `consistency: ${wrong === 0 ? "every acknowledged add is in its cart exactly once" : `${wrong} lines differ from the acknowledged adds`}`,
    );
  } finally {
    agent.destroy();
    await Promise.all([mf.dispose(), floor.dispose()]);
    stop();
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

// The backing services run in a child process, off this event loop.
if (process.argv[2] === "--services") {
  const { startTestServices } = await import("../test/support/services.ts");
  const services = await startTestServices();
  process.stdout.write(`READY ${JSON.stringify(services)}\n`);
  process.stdin.on("end", () => void services.stop().finally(() => process.exit(0)));
  process.stdin.resume();
} else {
  await main();
  process.exit(0);
}
