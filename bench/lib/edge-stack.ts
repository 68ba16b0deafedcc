// Runs the local stack as `npm start` does (dev/stack.ts mode "start": Postgres database,
// Neon WS proxy, Redis behind the Upstash REST adapter, the Worker built once and served by
// workerd through Miniflare) in its own process, so the adapter and the proxy,
// which live in the process that starts the stack, do not share an event loop (and a
// core) with the load generator. Prints `READY {"baseUrl":..., "databaseUrl":...}`;
// SIGTERM stops the stack (the fresh database is dropped) and exits.
import fs from "node:fs";
import { format } from "node:util";
import { startLocalStack } from "../../dev/stack.ts";

// BENCH_STACK_LOG=<file>: the stack's and wrangler's output (Worker logs included) go there.
const logFile = process.env.BENCH_STACK_LOG;
if (logFile) {
  const out = fs.createWriteStream(logFile, { flags: "a" });
  const write = (...args: unknown[]) => void out.write(`${new Date().toISOString()} ${format(...args)}\n`);
  console.log = console.info = console.warn = console.error = write;
}

// Test mode: a fresh database (dropped at stop), a private Redis when redis-server exists,
// temporary Worker state (on disk, like npm start's); the bundle is built once at start.
// BENCH_STATE_DIR=<dir>: the actors' storage there instead of a temporary directory on disk. A
// diagnostic only (e.g. a tmpfs, to see what the disk's fsync costs); the benchmark keeps it on disk.
const persistDir = process.env.BENCH_STATE_DIR || undefined;
const stack = await startLocalStack({
  mode: "start",
  port: 0,
  databaseName: "edge_cart_bench",
  quiet: !logFile,
  persistDir,
  // BENCH_WORKER_VARS: a JSON object of Worker vars for this target (bench/targets/edge-cart.ts), e.g. {"METRICS":"off"}.
  extraVars: JSON.parse(process.env.BENCH_WORKER_VARS || "{}") as Record<string, string>,
});
process.stdout.write(`READY ${JSON.stringify({ baseUrl: stack.baseUrl, databaseUrl: stack.databaseUrl })}\n`);
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  stack
    .stop()
    .catch((err: Error) => console.error(`stopping the stack: ${err.message}`))
    .finally(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
