// The Worker of the local stack: under `wrangler dev` (mode "dev", live reload, optionally from a
// frozen copy of its source) or built once and served by workerd through Miniflare (mode "start",
// dev/serve-worker.ts); started with the stack's Postgres, proxy and Redis, and awaited until it answers.
import fs from "node:fs";
import path from "node:path";
import readline from "node:readline";
import type { ChildProcess } from "node:child_process";
import { DEFAULT_ALARMS_PER_SECOND, DEFAULT_PACING_START_AFTER_MS, paceDueAlarms } from "../alarm-pacing.ts";
import { spawnGroup } from "../processes.ts";
import type { ServeWorkerOptions } from "../serve-worker.ts";
import type { StackMode } from "./types.ts";
import { readDevVars } from "../dev-vars.ts";
import { formatLogLine, logFormat } from "../log-lines.ts";
import { ROOT, freePort, pickPort, sleep } from "../util.ts";
import type { StackDatabase, StackProxy } from "./database.ts";
import type { StackRedis } from "./redis.ts";
import type { Startup } from "./startup.ts";

const WORKER_START_TIMEOUT_MS = 120_000;
/**
 * Miniflare's queue holds the messages it took in memory until they are consumed, so actors keep what
 * they sent this long and send it again after a restart (src/actors/outbox-kept.ts, docs/decisions.md 15).
 */
const LOCAL_OUTBOX_KEEP_SENT_MS = 60_000;
/**
 * How long the last Worker start in this process took, from pacing its alarms to its first answer
 * (ms; 0 before the first). The paced alarms start once a start that long is over: workerd fires
 * every alarm that is overdue when it loads them at once, so a pace that began while a slow start
 * (a loaded machine: 30 s and more) was still under way would not pace (test/e2e/restart.test.ts).
 */
let lastWorkerStartMs = 0;

export interface StackWorker {
  mode: StackMode;
  baseUrl: string;
  /** wrangler dev, or dev/serve-worker.ts in mode "start". */
  worker: ChildProcess;
  /** Mode "dev" only. */
  inspectorPort?: number;
  /** Mode "start": the cron triggers serve-worker fires on schedule. */
  crons: string[];
}

export async function startWorker(
  run: Startup,
  deps: { database: StackDatabase; proxy: StackProxy; redis: StackRedis },
  preferredInspectorPort: number | null,
): Promise<StackWorker> {
  const { opts, port } = run;
  const mode: StackMode = opts.mode ?? "dev";
  const devVars = readDevVars(); // creates .dev.vars if missing; wrangler dev reads it itself
  let configPath = opts.config ? path.resolve(ROOT, opts.config) : undefined;
  if (opts.snapshot && mode === "dev") {
    configPath = snapshotWorker(configPath ?? path.join(ROOT, "wrangler.toml"));
    const dir = path.dirname(configPath);
    run.onStop(async () => fs.rmSync(dir, { recursive: true, force: true }));
  }
  const inspectorPort =
    mode === "dev"
      ? preferredInspectorPort !== null
        ? await pickPort(preferredInspectorPort)
        : await freePort()
      : undefined;
  run.checkpoint();
  const vars: Record<string, string> = {
    DATABASE_URL: deps.database.databaseUrl,
    NEON_WS_PROXY: deps.proxy.address,
    OUTBOX_KEEP_SENT_MS: String(LOCAL_OUTBOX_KEEP_SENT_MS),
  };
  // `LOG_LEVEL=debug npm run dev` reaches the Worker's logger (src/log/logger.ts).
  if (process.env.LOG_LEVEL) vars.LOG_LEVEL = process.env.LOG_LEVEL;
  if (deps.redis.adapter) {
    vars.UPSTASH_REDIS_REST_URL = deps.redis.adapter.url;
    vars.UPSTASH_REDIS_REST_TOKEN = deps.redis.upstashToken;
  }
  Object.assign(vars, opts.extraVars);
  const persistTo = path.join(run.stateDir, "wrangler"); // the same Durable Object state for both modes
  // workerd would fire every due alarm at once at start (after a crash: thousands): pace them.
  const pacedAt = Date.now();
  const pacing = paceDueAlarms(persistTo, {
    perSecond: Number(process.env.ALARM_PACING_PER_SECOND ?? DEFAULT_ALARMS_PER_SECOND),
    ...(lastWorkerStartMs > 0 ? { startAfterMs: Math.max(DEFAULT_PACING_START_AFTER_MS, lastWorkerStartMs) } : {}),
  });
  if (pacing.skipped) run.warn(pacing.skipped);
  else if (pacing.paced > 0)
    run.log(
      `${pacing.paced} due Durable Object alarms paced: they fire until ${new Date(pacing.lastAt!).toISOString()} (dev/alarm-pacing.ts)`,
    );
  const worker =
    mode === "dev"
      ? spawnWranglerDev(configPath, port, inspectorPort!, persistTo, vars, opts.quiet)
      : spawnServedWorker({
          config: configPath ?? path.join(ROOT, "wrangler.toml"),
          port,
          buildDir: path.join(run.stateDir, "build"),
          persistTo,
          vars: { ...devVars, ...vars },
        });
  // Importing wrangler here would install its own signal handlers: serve-worker reports its crons instead.
  const served = mode === "start" ? servedInfo(worker) : null;
  const workerLabel = mode === "dev" ? "wrangler dev" : "the built Worker (workerd via Miniflare)";
  run.trackChild({
    name: mode === "dev" ? "wrangler" : "serve-worker",
    pid: worker.pid!,
    match: mode === "dev" ? path.join(ROOT, "node_modules") : "serve-worker",
  });
  const tail = captureOutput(worker, mode === "dev" ? "[wrangler]" : "[worker]", () => !opts.quiet, opts.onWorkerLine);
  // Its output was already shown unless quiet; then put it in the error instead.
  const output = () => (opts.quiet ? `\n${tail()}` : " (see its output above)");
  run.log(`starting the Worker: ${workerLabel} on 127.0.0.1:${port}`);

  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + WORKER_START_TIMEOUT_MS;
  for (;;) {
    run.checkpoint();
    if (worker.exitCode !== null || worker.signalCode !== null) {
      throw new Error(
        `${workerLabel} exited (${worker.exitCode ?? worker.signalCode}) before the Worker answered${output()}`,
      );
    }
    if (Date.now() > deadline)
      throw new Error(`the Worker did not answer on ${baseUrl} within ${WORKER_START_TIMEOUT_MS / 1000}s${output()}`);
    try {
      await fetch(baseUrl + "/", { signal: AbortSignal.timeout(3000) });
      lastWorkerStartMs = Date.now() - pacedAt;
      break; // any HTTP answer, even a 404, means it is up
    } catch {
      await sleep(250);
    }
  }
  return { mode, baseUrl, worker, inspectorPort, crons: mode === "start" ? ((await served)?.crons ?? []) : [] };
}

/**
 * Keeps the last lines of a child's output for error messages, optionally echoing them (the
 * Worker's JSON log lines made readable unless LOG_FORMAT=json: dev/log-lines.ts) and handing
 * each raw line to `onLine`.
 */
function captureOutput(
  child: ChildProcess,
  prefix: string,
  echo: () => boolean,
  onLine?: (line: string) => void,
): () => string {
  const tail: string[] = [];
  const print = { format: logFormat(), color: process.stdout.isTTY === true };
  for (const input of [child.stdout, child.stderr]) {
    if (!input) continue;
    readline.createInterface({ input, crlfDelay: Infinity }).on("line", (line) => {
      if (!line.trim()) return;
      tail.push(line);
      if (tail.length > 60) tail.shift();
      onLine?.(line);
      if (echo()) console.log(`${prefix} ${formatLogLine(line, print)}`);
    });
  }
  return () => tail.join("\n");
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
