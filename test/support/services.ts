// Backing services for the workerd test project (call from a vitest globalSetup, in Node):
// a fresh migrated database on the local Postgres, the Neon WebSocket proxy, and the
// Upstash REST adapter in front of Redis. Everything is undone by stop().
//
// Redis: a private redis-server for the run when the binary is installed, because keys
// outlive a database: a snapshot left at version 7 by an earlier run would make the
// version-guarded writes of this run (fresh database, version 1) silently do nothing.
// Else REDIS_URL / 127.0.0.1:6379, shared with `npm run dev` and other runs.
import { randomBytes } from "node:crypto";
import { startNeonWsProxy } from "../../dev/neon-ws-proxy.ts";
import { startUpstashAdapter } from "../../dev/upstash-adapter.ts";
import { DEV_SERVER_URL, dropDatabase, ensureDatabase, migrateDatabase, randomDatabaseName } from "../../dev/migrate.ts";
import { findBinary, startRedisServer } from "../../dev/redis-server.ts";

export interface TestServices {
  /** A fresh, migrated database `edge_cart_test_<random>` on 127.0.0.1:5432. */
  databaseUrl: string;
  /** host:port, the value for NEON_WS_PROXY. */
  neonWsProxy: string;
  upstashUrl: string;
  upstashToken: string;
  stop(): Promise<void>;
}

export async function startTestServices(): Promise<TestServices> {
  const serverUrl = process.env.TEST_PG_SERVER_URL ?? DEV_SERVER_URL;
  const name = randomDatabaseName("edge_cart_test");
  const undo: (() => Promise<void>)[] = [];
  const stop = async () => {
    while (undo.length) await undo.pop()!().catch((err: Error) => console.warn(`[test services] ${err.message}`));
  };
  try {
    const databaseUrl = await ensureDatabase(serverUrl, name);
    undo.push(() => dropDatabase(serverUrl, name));
    await migrateDatabase(databaseUrl);
    const proxy = await startNeonWsProxy();
    undo.push(() => proxy.close());
    let redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
    if (!process.env.REDIS_URL && findBinary("redis-server")) {
      const redis = await startRedisServer();
      undo.push(() => redis.close());
      redisUrl = redis.url;
    }
    const upstashToken = `test-${randomBytes(12).toString("hex")}`;
    const adapter = await startUpstashAdapter({ redisUrl, token: upstashToken });
    undo.push(() => adapter.close());
    return { databaseUrl, neonWsProxy: proxy.address, upstashUrl: adapter.url, upstashToken, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
