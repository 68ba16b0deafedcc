// Backing services for the workerd test project (call from a vitest globalSetup, in Node):
// a fresh migrated database, the Neon WebSocket proxy, and the Upstash REST adapter in
// front of Redis. Everything is undone by stop().
//
// Postgres: a fresh database on TEST_PG_SERVER_URL (default 127.0.0.1:5432); when no
// server answers there, an embedded PGlite in memory (dev/embedded-postgres.ts, as the
// dev stack does), so `npm test` runs on a machine without Postgres.
//
// Redis: a private redis-server for the run when the binary is installed, because keys
// outlive a database: a snapshot left at version 7 by an earlier run would make the
// version-guarded writes of this run (fresh database, version 1) silently do nothing.
// Else REDIS_URL / 127.0.0.1:6379, shared with `npm run dev` and other runs; when nothing
// answers there either, the run stops with one line saying what to start.
import { randomBytes } from "node:crypto";
import { startEmbeddedPostgres } from "../../dev/embedded-postgres.ts";
import { startNeonWsProxy } from "../../dev/neon-ws-proxy.ts";
import { startUpstashAdapter } from "../../dev/upstash-adapter.ts";
import { freshDatabase, migrateDatabase, serverAnswers, testServerUrl } from "../../dev/migrate.ts";
import { findBinary, redisAnswers, startRedisServer } from "../../dev/redis-server.ts";

export interface TestServices {
  /** A fresh, migrated database: `edge_cart_test_<random>` on the server, or the embedded one. */
  databaseUrl: string;
  /** Where the database lives. */
  postgres: "server" | "embedded";
  /** host:port, the value for NEON_WS_PROXY. */
  neonWsProxy: string;
  upstashUrl: string;
  upstashToken: string;
  stop(): Promise<void>;
}

export interface TestServiceOptions {
  /** Postgres server to create the test database on (default TEST_PG_SERVER_URL, else 127.0.0.1:5432). */
  pgServerUrl?: string;
  /** A Redis to share (default REDIS_URL, else 127.0.0.1:6379), used when no private one is started. */
  redisUrl?: string;
  /** Start a private redis-server (default: when the binary is installed and REDIS_URL is unset). */
  privateRedis?: boolean;
}

/** A setup failure worth one line: what is missing and what to start. */
export class MissingService extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MissingService";
    this.stack = `${this.name}: ${message}`;
  }
}

export async function startTestServices(opts: TestServiceOptions = {}): Promise<TestServices> {
  const serverUrl = opts.pgServerUrl ?? testServerUrl();
  const sharedRedis = opts.redisUrl ?? process.env.REDIS_URL;
  const privateRedis = opts.privateRedis ?? (!sharedRedis && findBinary("redis-server") !== null);
  const undo: (() => Promise<void>)[] = [];
  const stop = async () => {
    while (undo.length) await undo.pop()!().catch((err: Error) => console.warn(`[test services] ${err.message}`));
  };
  try {
    // Redis first: it is the one that can stop the run, so find out before building a database.
    let redisUrl: string;
    if (privateRedis) {
      const redis = await startRedisServer();
      undo.push(() => redis.close());
      redisUrl = redis.url;
    } else {
      redisUrl = sharedRedis ?? "redis://127.0.0.1:6379";
      if (!(await redisAnswers(redisUrl))) {
        throw new MissingService(
          findBinary("redis-server") === null
            ? `no Redis answers on ${redisUrl} and redis-server is not installed: start Redis there, set REDIS_URL, or install redis-server (apt-get install redis-server / brew install redis)`
            : `no Redis answers on ${redisUrl}: start Redis there, or unset REDIS_URL to let the tests start a private redis-server`,
        );
      }
    }

    let databaseUrl: string;
    let postgres: TestServices["postgres"];
    if (await serverAnswers(serverUrl)) {
      const fresh = await freshDatabase(serverUrl, "edge_cart_test");
      databaseUrl = fresh.url;
      undo.push(fresh.drop);
      postgres = "server";
    } else {
      // Many test files run at once, each Worker with its own pools: more clients than the dev default.
      const embedded = await startEmbeddedPostgres({ maxConnections: 200 });
      undo.push(() => embedded.close());
      databaseUrl = embedded.url;
      postgres = "embedded";
      console.warn(
        `[test services] no Postgres answers on ${new URL(serverUrl).host}: using an embedded PGlite (in memory); ` +
          "start Postgres there, or set TEST_PG_SERVER_URL, to test against a server",
      );
    }
    await migrateDatabase(databaseUrl);

    const proxy = await startNeonWsProxy();
    undo.push(() => proxy.close());
    const upstashToken = `test-${randomBytes(12).toString("hex")}`;
    const adapter = await startUpstashAdapter({ redisUrl, token: upstashToken });
    undo.push(() => adapter.close());
    return { databaseUrl, postgres, neonWsProxy: proxy.address, upstashUrl: adapter.url, upstashToken, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
