// The whole local system: Postgres (+ migrations), the Neon WebSocket proxy, Redis behind
// the Upstash REST adapter, and the Worker: under `wrangler dev` (mode "dev", live reload),
// or built once and served by workerd through Miniflare (mode "start", dev/serve-worker.ts).
//   npm run dev / npm start -> CLI below (prints a summary, Ctrl-C stops everything)
//   startLocalStack({...})  -> the same, for end-to-end tests and the benchmark (fresh database, random ports)
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execFileSync, type ChildProcess } from "node:child_process";
import { startEmbeddedPostgres } from "./embedded-postgres.ts";
import { startNeonWsProxy, type NeonWsProxy } from "./neon-ws-proxy.ts";
import { startUpstashAdapter, type UpstashAdapter } from "./upstash-adapter.ts";
import {
  DEFAULT_MIGRATIONS,
  DEV_SERVER_URL,
  dropDatabase,
  ensureDatabase,
  migrateDatabase,
  randomDatabaseName,
  serverAnswers,
  testServerUrl,
} from "./migrate.ts";
import { findBinary, redisAnswers, startRedisServer, type RedisServer } from "./redis-server.ts";
import { DEFAULT_ALARMS_PER_SECOND, paceDueAlarms } from "./alarm-pacing.ts";
import { cleanupStale, killGroup, killGroupNow, spawnGroup, writePidFile, type ChildRecord } from "./processes.ts";
import type { ServeWorkerOptions } from "./serve-worker.ts";
import { ROOT, freePort, isMain, sleep, tcpAnswers } from "./util.ts";

export type StackMode = "dev" | "start";

export interface LocalStackOptions {
  /**
   * "dev" (default): the Worker under `wrangler dev` (live reload, `/__scheduled`).
   * "start": the Worker bundled once and served by workerd through Miniflare, no proxy, no
   * reload, cron triggers firing on schedule: what benchmarks and performance claims use.
   */
  mode?: StackMode;
  /** Worker port; 0 = pick a free one. Default: $PORT or 8787. */
  port?: number;
  /**
   * Test mode: creates a fresh database `<databaseName>_<random>` (dropped on stop), a private
   * redis-server when one can be spawned, and temporary Worker state unless persistDir is given.
   */
  databaseName?: string;
  /** Where pids.json, PGlite data and the Worker's Durable Object state live. Default `.dev-stack`. */
  persistDir?: string;
  /** No progress output (wrangler's output is still kept for error messages). */
  quiet?: boolean;
  /** More Worker vars; they win over .dev.vars. */
  extraVars?: Record<string, string>;
  /** Wrangler config to run (default: the project's wrangler.toml). For tooling tests. */
  config?: string;
  /**
   * Run a frozen copy of the Worker's source (the directory of `main`) and its config, taken
   * at start: `wrangler dev` reloads the Worker on every source change, which would cut
   * requests of a running end-to-end test short while someone edits src/. Default false.
   * Mode "start" never reloads: its bundle is built once at start.
   */
  snapshot?: boolean;
}

export interface LocalStack {
  baseUrl: string;
  /** Usable from Node with `pg`. */
  databaseUrl: string;
  /** Undefined when no Redis could be had (the Worker then runs with snapshots off). */
  upstashUrl?: string;
  upstashToken?: string;
  /** Fault injection for end-to-end tests: take a dependency away and bring it back. */
  faults: LocalStackFaults;
  stop(): Promise<void>;
}

export interface LocalStackFaults {
  /**
   * Stops the stack's private redis-server (test mode only; it throws when the stack uses a
   * shared Redis, which it must never stop). The Upstash adapter stays up and answers errors.
   */
  stopRedis(): Promise<void>;
  /** Starts the private redis-server again on the same port (empty: it never persists). */
  startRedis(): Promise<void>;
  /** Closes the Neon WebSocket proxy (and its open connections): the Worker cannot reach Postgres. */
  stopDatabaseProxy(): Promise<void>;
  /** Listens again on the same port, so the Worker's NEON_WS_PROXY works again. */
  startDatabaseProxy(): Promise<void>;
}

const DEV_DATABASE = "edge_cart_dev";
const DEFAULT_UPSTASH_TOKEN = "dev-upstash-token";
const DOCS_PATH = "/docs";
const WORKER_START_TIMEOUT_MS = 120_000;

interface CliPorts {
  adapter: number;
  proxy: number;
  pglite: number;
  inspector: number;
}

/** Dev secrets: .dev.vars, created from .dev.vars.example on first run. */
export function readDevVars(root = ROOT): Record<string, string> {
  const file = path.join(root, ".dev.vars");
  if (!fs.existsSync(file)) {
    const example = path.join(root, ".dev.vars.example");
    if (fs.existsSync(example)) fs.copyFileSync(example, file);
    else
      fs.writeFileSync(
        file,
        "JWT_SECRET=dev-jwt-secret\nADMIN_TOKEN=dev-admin-token\nPAYMENT_WEBHOOK_SECRET=dev-webhook-secret\n",
      );
  }
  const vars: Record<string, string> = {};
  for (const line of fs.readFileSync(file, "utf8").split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (m) vars[m[1]!] = m[2]!.trim().replace(/^(["'])(.*)\1$/, "$2");
  }
  return vars;
}

/** Who listens on `port`, for a helpful message (best effort, Linux `ss`). */
function portOwner(port: number): string {
  try {
    const out = execFileSync("ss", ["-ltnpH", `sport = :${port}`], { encoding: "utf8", timeout: 2000 });
    const m = /users:\(\("([^"]+)",pid=(\d+)/.exec(out);
    return m ? ` by ${m[1]} (pid ${m[2]})` : "";
  } catch {
    return "";
  }
}

/** Tries `preferred` first (stable URLs for people), else a random free port; 0 stays 0 (bind picks). */
async function pickPort(preferred: number): Promise<number> {
  if (preferred === 0) return 0;
  return (await tcpAnswers("127.0.0.1", preferred, 300)) ? freePort() : preferred;
}

/** Keeps the last lines of a child's output for error messages, optionally echoing them. */
function captureOutput(child: ChildProcess, prefix: string, echo: () => boolean): () => string {
  const tail: string[] = [];
  const onLine = (line: string) => {
    tail.push(line);
    if (tail.length > 60) tail.shift();
    if (echo()) console.log(`${prefix} ${line}`);
  };
  for (const stream of [child.stdout, child.stderr]) {
    let partial = "";
    stream?.setEncoding("utf8");
    stream?.on("data", (chunk: string) => {
      const lines = (partial + chunk).split(/\r?\n/);
      partial = lines.pop() ?? "";
      lines.filter((l) => l.trim()).forEach(onLine);
    });
  }
  return () => tail.join("\n");
}

export async function startLocalStack(opts: LocalStackOptions = {}): Promise<LocalStack> {
  return (await start(opts, null)).stack;
}

interface Started {
  stack: LocalStack;
  mode: StackMode;
  redisUrl: string | null;
  /** wrangler dev, or dev/serve-worker.ts in mode "start". */
  worker: ChildProcess;
  proxy: string;
  pgLabel: string;
  /** Mode "dev" only. */
  inspectorPort?: number;
  crons: string[];
}

/** `cli` = fixed preferred ports for humans; `onStop` hands out stop() early, for Ctrl-C during startup. */
async function start(
  opts: LocalStackOptions,
  cli: CliPorts | null,
  onStop?: (stop: () => Promise<void>) => void,
): Promise<Started> {
  const testMode = opts.databaseName !== undefined;
  const log = (msg: string) => {
    if (!opts.quiet) console.log(`[dev] ${msg}`);
  };
  const warn = (msg: string) => {
    if (!opts.quiet) console.warn(`[dev] WARNING: ${msg}`);
  };

  const tempState = testMode && !opts.persistDir ? fs.mkdtempSync(path.join(os.tmpdir(), "edge-cart-stack-")) : null;
  const stateDir = path.resolve(ROOT, opts.persistDir ?? tempState ?? ".dev-stack");
  fs.mkdirSync(stateDir, { recursive: true });
  const pidFile = path.join(stateDir, "pids.json");

  // Everything started so far, undone in reverse order by stop() (also when start fails).
  const cleanups: (() => Promise<void>)[] = [];
  const children: ChildRecord[] = [];
  let port = opts.port ?? Number(process.env.PORT ?? 8787);
  const savePids = () =>
    writePidFile(pidFile, { supervisor: process.pid, startedAt: new Date().toISOString(), port, children });
  const onExit = () => children.forEach((c) => killGroupNow(c.pid));
  let stopped = false;
  let ownsPidFile = false; // false while another live stack owns it: we must not delete it
  // Safe to call again and concurrently: each cleanup is popped and runs once.
  const stop = async () => {
    stopped = true;
    while (cleanups.length) {
      await cleanups.pop()!().catch((err: Error) => warn(`cleanup failed: ${err.message}`));
    }
    if (children.length === 0) process.off("exit", onExit);
    if (ownsPidFile) fs.rmSync(pidFile, { force: true });
    if (tempState) fs.rmSync(tempState, { recursive: true, force: true });
  };
  onStop?.(stop);
  // Called after every slow step: a stop() that came meanwhile must not leave later steps running.
  const checkpoint = () => {
    if (stopped) throw new Error("stopped while starting");
  };
  // Child processes are recorded in pids.json (for the next run) and killed by stop() or, if
  // this process dies first, by the exit hook.
  const trackChild = (rec: ChildRecord) => {
    children.push(rec);
    savePids();
    cleanups.push(async () => {
      await killGroup(rec.pid);
      children.splice(children.indexOf(rec), 1);
    });
  };

  try {
    for (const k of await cleanupStale(pidFile)) log(`stopped leftover ${k} from a previous run`);
    // The Worker port first: a taken one should fail before anything else starts.
    if (port === 0) port = await freePort();
    else if (await tcpAnswers("127.0.0.1", port)) {
      throw new Error(
        `Port ${port} is already in use${portOwner(port)}. Stop that process or use another port (PORT=8788 npm run dev).`,
      );
    }
    savePids();
    ownsPidFile = true;
    process.on("exit", onExit);

    // --- Postgres ---------------------------------------------------------------------
    let databaseUrl: string;
    let pgLabel: string;
    // Tests create their database on TEST_PG_SERVER_URL (dev/migrate.ts), `npm run dev` on 127.0.0.1:5432.
    const candidate = testMode ? testServerUrl() : DEV_SERVER_URL;
    const serverUrl = process.env.DATABASE_URL ?? ((await serverAnswers(candidate)) ? candidate : null);
    if (serverUrl && testMode) {
      const name = randomDatabaseName(opts.databaseName!);
      databaseUrl = await ensureDatabase(serverUrl, name);
      cleanups.push(() => dropDatabase(serverUrl, name));
      pgLabel = `fresh database ${name}`;
    } else if (process.env.DATABASE_URL) {
      databaseUrl = process.env.DATABASE_URL;
      pgLabel = "from DATABASE_URL";
    } else if (serverUrl) {
      databaseUrl = await ensureDatabase(serverUrl, DEV_DATABASE);
      pgLabel = "local server";
    } else {
      const dataDir = testMode ? undefined : path.join(stateDir, "pglite");
      const embedded = await startEmbeddedPostgres({ port: await pickPort(cli?.pglite ?? 0), dataDir });
      cleanups.push(() => embedded.close());
      databaseUrl = embedded.url;
      pgLabel = `embedded PGlite (no server on ${new URL(candidate).host})${dataDir ? `, data in ${path.relative(ROOT, dataDir)}` : ", in memory"}`;
    }
    checkpoint();
    log(`Postgres: ${databaseUrl} (${pgLabel})`);
    await migrateDatabase(databaseUrl, DEFAULT_MIGRATIONS);
    checkpoint();

    // --- Neon WebSocket proxy -----------------------------------------------------------
    // `let`: fault injection closes it and starts it again on the same port.
    let proxy: NeonWsProxy | null = await startNeonWsProxy({ port: await pickPort(cli?.proxy ?? 0) });
    const proxyPort = proxy.port;
    const proxyAddress = proxy.address;
    cleanups.push(async () => {
      const p = proxy;
      proxy = null;
      await p?.close();
    });
    checkpoint();

    // --- Redis + Upstash adapter --------------------------------------------------------
    let redisUrl: string | null = null;
    let redisLabel = "";
    const redisServer = findBinary("redis-server");
    // The spawned redis-server, if any: fault injection stops it and starts it on the same port.
    let spawned: { server: RedisServer; rec: ChildRecord } | null = null;
    let spawnedPort: number | null = null;
    const stopSpawnedRedis = async () => {
      const s = spawned;
      if (!s) return;
      spawned = null;
      await s.server.close();
      const i = children.indexOf(s.rec);
      if (i >= 0) children.splice(i, 1);
      savePids();
    };
    const spawnRedis = async (port?: number): Promise<string> => {
      const server = await startRedisServer({ port });
      const rec: ChildRecord = { name: "redis-server", pid: server.pid, match: "redis-server" };
      if (spawnedPort === null) cleanups.push(stopSpawnedRedis); // once: it stops whichever instance runs
      spawned = { server, rec };
      spawnedPort = Number(new URL(server.url).port);
      children.push(rec);
      savePids();
      return server.url;
    };
    if (process.env.REDIS_URL) {
      if (!(await redisAnswers(process.env.REDIS_URL)))
        throw new Error(`REDIS_URL=${process.env.REDIS_URL} does not answer PING`);
      redisUrl = process.env.REDIS_URL;
      redisLabel = "from REDIS_URL";
    } else if (testMode && redisServer) {
      // Tests get a private, empty Redis so concurrent runs never see each other's keys.
      redisUrl = await spawnRedis();
      redisLabel = "private redis-server for this run";
    } else if (await redisAnswers("redis://127.0.0.1:6379")) {
      redisUrl = "redis://127.0.0.1:6379";
      redisLabel = "local server";
    } else if (redisServer) {
      redisUrl = await spawnRedis();
      redisLabel = "spawned redis-server, no persistence";
    }
    checkpoint();
    let adapter: UpstashAdapter | null = null;
    const upstashToken = process.env.UPSTASH_REDIS_REST_TOKEN ?? DEFAULT_UPSTASH_TOKEN;
    if (redisUrl) {
      adapter = await startUpstashAdapter({ redisUrl, token: upstashToken, port: await pickPort(cli?.adapter ?? 0) });
      const a = adapter;
      cleanups.push(() => a.close());
      log(`Redis: ${redisUrl} (${redisLabel}) behind Upstash REST ${adapter.url}`);
    } else {
      warn(
        "no Redis available (REDIS_URL unset, nothing on 127.0.0.1:6379, no redis-server binary). " +
          "The Worker runs WITHOUT UPSTASH_REDIS_REST_URL/TOKEN: snapshots are OFF.",
      );
    }

    // --- Worker -------------------------------------------------------------------------
    const mode: StackMode = opts.mode ?? "dev";
    const devVars = readDevVars(); // creates .dev.vars if missing; wrangler dev reads it itself
    let configPath = opts.config ? path.resolve(ROOT, opts.config) : undefined;
    if (opts.snapshot && mode === "dev") {
      configPath = snapshotWorker(configPath ?? path.join(ROOT, "wrangler.toml"));
      const dir = path.dirname(configPath);
      cleanups.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
    }
    const inspectorPort = mode === "dev" ? (cli ? await pickPort(cli.inspector) : await freePort()) : undefined;
    checkpoint();
    const vars: Record<string, string> = { DATABASE_URL: databaseUrl, NEON_WS_PROXY: proxyAddress };
    if (adapter) {
      vars.UPSTASH_REDIS_REST_URL = adapter.url;
      vars.UPSTASH_REDIS_REST_TOKEN = upstashToken;
    }
    Object.assign(vars, opts.extraVars);
    const persistTo = path.join(stateDir, "wrangler"); // the same Durable Object state for both modes
    // workerd would fire every due alarm at once at start (after a crash: thousands): pace them.
    const pacing = paceDueAlarms(persistTo, {
      perSecond: Number(process.env.ALARM_PACING_PER_SECOND ?? DEFAULT_ALARMS_PER_SECOND),
    });
    if (pacing.skipped) warn(pacing.skipped);
    else if (pacing.paced > 0)
      log(
        `${pacing.paced} due Durable Object alarms paced: they fire until ${new Date(pacing.lastAt!).toISOString()} (dev/alarm-pacing.ts)`,
      );
    const worker =
      mode === "dev"
        ? spawnWranglerDev(configPath, port, inspectorPort!, persistTo, vars, opts.quiet)
        : spawnServedWorker({
            config: configPath ?? path.join(ROOT, "wrangler.toml"),
            port,
            buildDir: path.join(stateDir, "build"),
            persistTo,
            vars: { ...devVars, ...vars },
          });
    // Importing wrangler here would install its own signal handlers: serve-worker reports its crons instead.
    const served = mode === "start" ? servedInfo(worker) : null;
    const workerLabel = mode === "dev" ? "wrangler dev" : "the built Worker (workerd via Miniflare)";
    trackChild({
      name: mode === "dev" ? "wrangler" : "serve-worker",
      pid: worker.pid!,
      match: mode === "dev" ? path.join(ROOT, "node_modules") : "serve-worker",
    });
    const tail = captureOutput(worker, mode === "dev" ? "[wrangler]" : "[worker]", () => !opts.quiet);
    // Its output was already shown unless quiet; then put it in the error instead.
    const output = () => (opts.quiet ? `\n${tail()}` : " (see its output above)");
    log(`starting the Worker: ${workerLabel} on 127.0.0.1:${port}`);

    const baseUrl = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + WORKER_START_TIMEOUT_MS;
    for (;;) {
      checkpoint();
      if (worker.exitCode !== null || worker.signalCode !== null) {
        throw new Error(
          `${workerLabel} exited (${worker.exitCode ?? worker.signalCode}) before the Worker answered${output()}`,
        );
      }
      if (Date.now() > deadline)
        throw new Error(`the Worker did not answer on ${baseUrl} within ${WORKER_START_TIMEOUT_MS / 1000}s${output()}`);
      try {
        await fetch(baseUrl + "/", { signal: AbortSignal.timeout(3000) });
        break; // any HTTP answer, even a 404, means it is up
      } catch {
        await sleep(250);
      }
    }
    const privateRedis = spawnedPort !== null && redisLabel.startsWith("private");
    const faults: LocalStackFaults = {
      async stopRedis() {
        if (!privateRedis) throw new Error("stopRedis: this stack does not run a private redis-server");
        await stopSpawnedRedis();
      },
      async startRedis() {
        if (!privateRedis) throw new Error("startRedis: this stack does not run a private redis-server");
        if (stopped) throw new Error("startRedis: the stack is stopped");
        if (!spawned) await spawnRedis(spawnedPort!);
      },
      async stopDatabaseProxy() {
        const p = proxy;
        proxy = null;
        await p?.close();
      },
      async startDatabaseProxy() {
        if (stopped) throw new Error("startDatabaseProxy: the stack is stopped");
        proxy ??= await startNeonWsProxy({ port: proxyPort });
      },
    };
    const started: Started = {
      stack: {
        baseUrl,
        databaseUrl,
        upstashUrl: adapter?.url,
        upstashToken: adapter ? upstashToken : undefined,
        faults,
        stop,
      },
      mode,
      redisUrl,
      worker,
      proxy: proxyAddress,
      pgLabel,
      inspectorPort,
      crons: mode === "start" ? ((await served)?.crons ?? []) : [],
    };
    if (!opts.quiet) printSummary(started);
    return started;
  } catch (err) {
    await stop();
    throw err;
  }
}

function spawnWranglerDev(
  configPath: string | undefined,
  port: number,
  inspectorPort: number,
  persistTo: string,
  vars: Record<string, string>,
  quiet: boolean | undefined,
): ChildProcess {
  // `--var KEY:VALUE` splits on the first colon only, so URLs survive, and it wins over .dev.vars.
  const args = [
    path.join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js"),
    "dev",
    ...(configPath ? ["--config", configPath] : []),
    "--ip",
    "127.0.0.1",
    "--port",
    String(port),
    "--inspector-port",
    String(inspectorPort),
    "--test-scheduled",
    "--show-interactive-dev-session=false",
    "--persist-to",
    persistTo,
    ...Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]),
  ];
  return spawnGroup(process.execPath, args, {
    cwd: ROOT,
    env: {
      ...process.env,
      WRANGLER_SEND_METRICS: "false",
      CLOUDFLARE_CF_FETCH_ENABLED: "false", // no request to workers.cloudflare.com for Request.cf
      // Colours only when our own output is a terminal (wrangler sees a pipe either way).
      ...(process.stdout.isTTY && !quiet ? { FORCE_COLOR: "1" } : { FORCE_COLOR: "0", NO_COLOR: "1" }),
    },
  });
}

/** Mode "start": dev/serve-worker.ts builds the Worker and serves it (its own process group, with workerd). */
function spawnServedWorker(options: ServeWorkerOptions): ChildProcess {
  return spawnGroup(
    process.execPath,
    ["--import", "tsx", path.join(ROOT, "dev", "serve-worker.ts"), JSON.stringify(options)],
    {
      cwd: ROOT,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
    },
  );
}

/** What serve-worker reports once it serves (`READY {"url":..., "crons": [...]}`); null if it exits first. */
function servedInfo(child: ChildProcess): Promise<{ url: string; crons: string[] } | null> {
  return new Promise((resolve) => {
    let out = "";
    child.stdout?.on("data", (chunk: Buffer | string) => {
      out = (out + chunk.toString()).slice(-10_000);
      const m = /^READY (\{.*\})$/m.exec(out);
      if (m) resolve(JSON.parse(m[1]!));
    });
    child.once("exit", () => resolve(null));
  });
}

/**
 * Copies the config, its .dev.vars and the top directory of its `main` into a fresh directory
 * under ROOT/.wrangler (inside the project, so imports still resolve from ROOT/node_modules).
 * Returns the copied config's path.
 */
function snapshotWorker(config: string): string {
  const from = path.dirname(config);
  const main = /^\s*main\s*=\s*["']([^"']+)["']/m.exec(fs.readFileSync(config, "utf8"))?.[1];
  if (!main) throw new Error(`snapshot: no \`main\` in ${config}`);
  const top = path.normalize(main).split(path.sep)[0]!;
  if (top === ".." || path.isAbsolute(main)) throw new Error(`snapshot: \`main\` must be inside ${from}`);
  const parent = path.join(ROOT, ".wrangler");
  fs.mkdirSync(parent, { recursive: true });
  const dir = fs.mkdtempSync(path.join(parent, "stack-snapshot-"));
  const source = path.join(from, top);
  if (fs.statSync(source).isDirectory()) fs.cpSync(source, path.join(dir, top), { recursive: true });
  else fs.copyFileSync(source, path.join(dir, top));
  for (const file of [path.basename(config), ".dev.vars", "tsconfig.json"]) {
    if (fs.existsSync(path.join(from, file))) fs.copyFileSync(path.join(from, file), path.join(dir, file));
  }
  // The static assets (public/, written by the config's [build] step into the project) are shared, not frozen.
  fs.mkdirSync(path.join(ROOT, "public"), { recursive: true });
  fs.symlinkSync(path.join(ROOT, "public"), path.join(dir, "public"), "dir");
  return path.join(dir, path.basename(config));
}

function printSummary({ stack: s, mode, redisUrl, proxy, pgLabel, inspectorPort, crons }: Started): void {
  const adminToken = readDevVars().ADMIN_TOKEN ?? "(see .dev.vars)";
  const rows = [
    [
      "Worker",
      mode === "dev" ? "wrangler dev (live reload)" : "built once, served by workerd via Miniflare (no reload)",
    ],
    ["API", s.baseUrl],
    ["Docs", s.baseUrl + DOCS_PATH],
    [
      "Cron",
      mode === "dev" ? `${s.baseUrl}/__scheduled?cron=*+*+*+*+*` : `on schedule (UTC): ${crons.join(", ") || "none"}`,
    ],
    ["Postgres", `${s.databaseUrl}  (${pgLabel})`],
    ["Neon proxy", `ws://${proxy}/v1  (NEON_WS_PROXY=${proxy})`],
    [
      "Redis REST",
      s.upstashUrl
        ? `${s.upstashUrl}  (token ${s.upstashToken}) -> ${redisUrl}`
        : "none: no Redis, the Worker runs with snapshots OFF",
    ],
    ["Admin token", `${adminToken}  (.dev.vars)`],
    ...(inspectorPort ? [["Debugger", `chrome://inspect -> 127.0.0.1:${inspectorPort}`]] : []),
  ];
  console.log("\n  edge-cart local stack is up\n");
  for (const [k, v] of rows) console.log(`  ${k!.padEnd(12)} ${v}`);
  console.log("");
}

if (isMain(import.meta.url)) {
  const t0 = performance.now();
  let stopStack: (() => Promise<void>) | null = null;
  let stopping = false;
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    console.log("\n[dev] stopping...");
    await stopStack?.();
    process.exit(code);
  };
  // Registered before starting, so Ctrl-C during startup also cleans up.
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(sig, () => void shutdown(0));
  try {
    // `tsx dev/stack.ts start` (npm start) or `tsx dev/stack.ts` (npm run dev).
    const mode: StackMode = process.argv[2] === "start" ? "start" : "dev";
    const { worker } = await start(
      { mode },
      { adapter: 8079, proxy: 5480, pglite: 5433, inspector: 9229 },
      (stop) => (stopStack = stop),
    );
    // seed, token and pay find the stack through PORT too (another terminal does not have it).
    const seed =
      process.env.PORT && process.env.PORT !== "8787" ? `PORT=${process.env.PORT} npm run seed` : "npm run seed";
    console.log(
      `  Started in ${((performance.now() - t0) / 1000).toFixed(1)} s. Seed demo data: ${seed}. Stop: Ctrl-C.\n`,
    );
    worker.once("exit", (code, signal) => {
      if (stopping) return;
      console.error(
        `[dev] the Worker (${mode === "dev" ? "wrangler dev" : "serve-worker"}) exited (${code ?? signal}); stopping the rest.`,
      );
      void shutdown(1);
    });
  } catch (err) {
    if (!stopping) {
      console.error(`\n[dev] could not start the local stack: ${(err as Error).message}`);
      process.exit(1);
    }
  }
}
