// The stack's Postgres: a fresh database on the local server (test mode), DATABASE_URL, the dev
// database on the local server, or embedded PGlite; migrated before anything uses it. And the
// Neon WebSocket proxy the Worker reaches it through.
import path from "node:path";
import { startEmbeddedPostgres } from "../embedded-postgres.ts";
import {
  DEFAULT_MIGRATIONS,
  DEV_SERVER_URL,
  ensureDatabase,
  freshDatabase,
  migrateDatabase,
  serverAnswers,
  testServerUrl,
} from "../migrate.ts";
import { startNeonWsProxy, type NeonWsProxy } from "../neon-ws-proxy.ts";
import { ROOT, pickPort } from "../util.ts";
import type { LocalStackFaults } from "./types.ts";
import { devDatabaseName } from "./scope.ts";
import type { Startup } from "./startup.ts";

export interface StackDatabase {
  databaseUrl: string;
  pgLabel: string;
  /** Whose database it is, for the summary's Scope line. */
  scope: string;
}

export async function startDatabase(run: Startup, preferredPort: number): Promise<StackDatabase> {
  let databaseUrl: string;
  let pgLabel: string;
  let scope: string;
  // Tests create their database on TEST_PG_SERVER_URL (dev/migrate.ts), `npm run dev` on 127.0.0.1:5432.
  const candidate = run.testMode ? testServerUrl() : DEV_SERVER_URL;
  const serverUrl = process.env.DATABASE_URL ?? ((await serverAnswers(candidate)) ? candidate : null);
  if (serverUrl && run.testMode) {
    const fresh = await freshDatabase(serverUrl, run.opts.databaseName!);
    databaseUrl = fresh.url;
    run.onStop(fresh.drop);
    pgLabel = `fresh database ${fresh.name}`;
    scope = `fresh database ${fresh.name} (dropped at stop)`;
  } else if (process.env.DATABASE_URL) {
    databaseUrl = process.env.DATABASE_URL;
    pgLabel = "from DATABASE_URL";
    scope = "DATABASE_URL's database (shared with any stack given the same)";
  } else if (serverUrl) {
    const name = devDatabaseName(run.port);
    databaseUrl = await ensureDatabase(serverUrl, name);
    pgLabel = "local server";
    scope = `database ${name}`;
  } else {
    const dataDir = run.testMode ? undefined : path.join(run.stateDir, "pglite");
    const embedded = await startEmbeddedPostgres({ port: await pickPort(preferredPort), dataDir });
    run.onStop(() => embedded.close());
    databaseUrl = embedded.url;
    pgLabel = `embedded PGlite (no server on ${new URL(candidate).host})${dataDir ? `, data in ${path.relative(ROOT, dataDir)}` : ", in memory"}`;
    scope = "embedded PGlite of its own";
  }
  run.checkpoint();
  run.log(`Postgres: ${databaseUrl} (${pgLabel})`);
  await migrateDatabase(databaseUrl, DEFAULT_MIGRATIONS);
  run.checkpoint();
  return { databaseUrl, pgLabel, scope };
}

export interface StackProxy {
  /** host:port, the Worker's NEON_WS_PROXY. */
  address: string;
  faults: Pick<LocalStackFaults, "stopDatabaseProxy" | "startDatabaseProxy">;
}

export async function startDatabaseProxy(run: Startup, preferredPort: number): Promise<StackProxy> {
  // `let`: fault injection closes it and starts it again on the same port.
  let proxy: NeonWsProxy | null = await startNeonWsProxy({ port: await pickPort(preferredPort) });
  const port = proxy.port;
  const close = async () => {
    const p = proxy;
    proxy = null;
    await p?.close();
  };
  run.onStop(close);
  run.checkpoint();
  return {
    address: proxy.address,
    faults: {
      stopDatabaseProxy: close,
      async startDatabaseProxy() {
        if (run.isStopped) throw new Error("startDatabaseProxy: the stack is stopped");
        proxy ??= await startNeonWsProxy({ port });
      },
    },
  };
}
