// The local stack's public shapes (what startLocalStack takes and gives), apart from
// dev/stack.ts so that its steps under dev/stack/ share them without importing it.
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
  /** Every line the Worker prints (stdout and stderr), raw: its JSON log lines and the runtime's own. */
  onWorkerLine?: (line: string) => void;
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
