// The whole local system: Postgres (+ migrations), the Neon WebSocket proxy, Redis behind
// the Upstash REST adapter, and the Worker: under `wrangler dev` (mode "dev", live reload),
// or built once and served by workerd through Miniflare (mode "start", dev/serve-worker.ts).
//   npm run dev / npm start -> CLI below (prints a summary, Ctrl-C stops everything)
//   startLocalStack({...})  -> the same, for end-to-end tests and the benchmark (fresh database, random ports)
// Each step is a module of its own under dev/stack/ (startup, database, redis, worker, summary).
import type { ChildProcess } from "node:child_process";
import { startDatabase, startDatabaseProxy } from "./stack/database.ts";
import { startRedis } from "./stack/redis.ts";
import { DEFAULT_PORT, requestedPort } from "./stack/scope.ts";
import { Startup } from "./stack/startup.ts";
import { printSummary } from "./stack/summary.ts";
import { crashGroup } from "./processes.ts";
import type { LocalStack, LocalStackOptions, StackMode } from "./stack/types.ts";
import { startWorker } from "./stack/worker.ts";
import { isMain } from "./util.ts";

export { readDevVars } from "./dev-vars.ts";
export type { LocalStack, LocalStackFaults, LocalStackOptions, StackMode } from "./stack/types.ts";

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
