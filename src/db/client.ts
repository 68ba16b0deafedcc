/**
 * The Postgres client factory (Neon serverless driver over WebSockets; the
 * local proxy in development).
 */
import { neonConfig, Pool } from "@neondatabase/serverless";
import type { NeonDatabase } from "drizzle-orm/neon-serverless";
import { drizzle } from "drizzle-orm/neon-serverless";
import * as schema from "./tables";
import { log } from "../log/logger";
import { errorText } from "../log/redact";

export type Database = NeonDatabase<typeof schema>;

let proxyConfigured: string | null = null;

/**
 * Locally there is no Neon endpoint: the driver reaches the real Postgres
 * through a WebSocket-to-TCP proxy, without TLS (NEON_WS_PROXY=host:port).
 * In production NEON_WS_PROXY is unset and the driver talks to Neon directly.
 */
function configureDriver(env: Env): void {
  const proxy = env.NEON_WS_PROXY;
  if (!proxy || proxyConfigured === proxy) return;
  neonConfig.wsProxy = (host, port) => `${proxy}/v1?address=${host}:${port}`;
  neonConfig.useSecureWebSocket = false;
  neonConfig.pipelineTLS = false;
  neonConfig.pipelineConnect = false;
  proxyConfigured = proxy;
}

export function databaseConfigured(env: Env): boolean {
  return Boolean(env.DATABASE_URL);
}

/**
 * Runs `work` with a drizzle client on a fresh pool and closes the pool after.
 * Workers cannot share sockets between requests, so a pool lives for one unit
 * of work (a request, a queue batch, a cron run).
 */
export async function withDatabase<T>(env: Env, work: (db: Database) => Promise<T>): Promise<T> {
  if (!env.DATABASE_URL) throw new Error("DATABASE_URL is not configured");
  configureDriver(env);
  const pool = new Pool({ connectionString: env.DATABASE_URL, max: 4, connectionTimeoutMillis: 5_000 });
  // A dropped connection must fail the work in hand, not crash the isolate.
  pool.on("error", (err: Error) => log.error("postgres pool error", { error: errorText(err) }));
  try {
    return await work(drizzle({ client: pool, schema }));
  } finally {
    await pool.end().catch(() => undefined);
  }
}
