// The whole local system: Postgres (+ migrations), the Neon WebSocket proxy, Redis behind
// the Upstash REST adapter, and the Worker: under `wrangler dev` (mode "dev", live reload),
// or built once and served by workerd through Miniflare (mode "start", dev/serve-worker.ts).
//   npm run dev / npm start -> CLI below (prints a summary, Ctrl-C stops everything)
//   startLocalStack({...})  -> the same, for end-to-end tests and the benchmark (fresh database, random ports)
// Each step is a room of its own under dev/stack/ (startup, database, redis, worker, summary).
import type { ChildProcess } from "node:child_process";
import { startDatabase, startDatabaseProxy } from "./stack/database.ts";
import { startRedis } from "./stack/redis.ts";
import { DEFAULT_PORT, requestedPort } from "./stack/scope.ts";
import { Startup } from "./stack/startup.ts";
import { printSummary } from "./stack/summary.ts";
import { crashGroup } from "./processes.ts";
import { startWorker } from "./stack/worker.ts";
import { isMain } from "./util.ts";

export { readDevVars } from "./dev-vars.ts";

export type StackMode = "dev" | "start";

export interface LocalStackOptions {
  /**
   * "dev" (default): the Worker under `wrangler dev` (live reload, `/__scheduled`).
   * "start": the Worker bundled once and served by workerd through Miniflare, no proxy, no
   * reload, cron triggers firing on schedule: what benchmarks and performance claims use.
   */
  mode?: StackMode;
  /**
   * Worker port; 0 = pick a free one. Default: $PORT or 8787. Outside test mode a port other than
   * 8787 also means a database, Redis database and state directory of its own (dev/stack/scope.ts).
   */
  port?: number;
  /**
   * Test mode: creates a fresh database `<databaseName>_<random>` (dropped on stop), a private
   * redis-server when one can be spawned, and temporary Worker state unless persistDir is given.
   */
  databaseName?: string;
  /**
   * Where pids.json, PGlite data and the Worker's Durable Object state live. Default: `.dev-stack`
   * for port 8787, `.dev-stack/port-<port>` for others (a temporary directory in test mode).
   */
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
  /** Kills the Worker's process group (workerd included) with SIGKILL, as a crash would: nothing is flushed. */
  crashWorker(): Promise<void>;
  /** Starts the Worker again on the same port, Durable Object state, database and Redis; resolves once it answers. */
  restartWorker(): Promise<void>;
}

interface CliPorts {
  adapter: number;
  proxy: number;
  pglite: number;
  inspector: number;
}

export async function startLocalStack(opts: LocalStackOptions = {}): Promise<LocalStack> {
  return (await start(opts, null)).stack;
}

/**
 * Starts the stack step by step: Postgres, its proxy, Redis, the Worker, then the summary.
 * `cli` = fixed preferred ports for humans; `onStop` hands out stop() early, for Ctrl-C during startup.
 */
async function start(
  opts: LocalStackOptions,
  cli: CliPorts | null,
  onStop?: (stop: () => Promise<void>) => void,
): Promise<{ stack: LocalStack; worker: ChildProcess }> {
  const run = new Startup(opts);
  onStop?.(run.stop);
  try {
    await run.claimWorkerPort();
    const database = await startDatabase(run, cli?.pglite ?? 0);
    const proxy = await startDatabaseProxy(run, cli?.proxy ?? 0);
    const redis = await startRedis(run, cli?.adapter ?? 0);
    const worker = await startWorker(run, { database, proxy, redis }, cli?.inspector ?? null);
    let running = worker.worker;
    const stack: LocalStack = {
      baseUrl: worker.baseUrl,
      databaseUrl: database.databaseUrl,
      upstashUrl: redis.adapter?.url,
      upstashToken: redis.adapter ? redis.upstashToken : undefined,
      faults: {
        ...redis.faults,
        ...proxy.faults,
        crashWorker: () => crashGroup(running.pid!),
        async restartWorker() {
          running = (await startWorker(run, { database, proxy, redis }, cli?.inspector ?? null)).worker;
        },
      },
      stop: run.stop,
    };
    if (!opts.quiet) {
      const { port, testMode, stateDir } = run;
      printSummary({
        stack,
        ...worker,
        redisUrl: redis.redisUrl,
        proxy: proxy.address,
        pgLabel: database.pgLabel,
        scope: { port, testMode, stateDir, database: database.scope, redis: redis.scope },
      });
    }
    return { stack, worker: worker.worker };
  } catch (err) {
    await run.stop();
    throw err;
  }
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
    const seed = requestedPort() !== DEFAULT_PORT ? `PORT=${process.env.PORT} npm run seed` : "npm run seed";
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
