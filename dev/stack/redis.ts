// The stack's Redis behind the Upstash REST adapter: REDIS_URL, a private redis-server (test
// mode), the local server, or a spawned one; none at all runs the Worker with snapshots off.
// On a shared Redis (REDIS_URL, the local server) a stack on another port than the default gets
// a Redis database of its own (./redis-database.ts).
import { findBinary, redisAnswers, startRedisServer, type RedisServer } from "../redis-server.ts";
import { startUpstashAdapter, type UpstashAdapter } from "../upstash-adapter.ts";
import type { ChildRecord } from "../processes.ts";
import type { LocalStackFaults } from "./types.ts";
import { claimRedisDatabase } from "./redis-database.ts";
import type { Startup } from "./startup.ts";
import { pickPort } from "../util.ts";

const DEFAULT_UPSTASH_TOKEN = "dev-upstash-token";

export interface StackRedis {
  redisUrl: string | null;
  /** Null when no Redis could be had. */
  adapter: UpstashAdapter | null;
  upstashToken: string;
  /** Whose Redis key space it is, for the summary's Scope line. */
  scope: string;
  faults: Pick<LocalStackFaults, "stopRedis" | "startRedis">;
}

export async function startRedis(run: Startup, preferredAdapterPort: number): Promise<StackRedis> {
  let redisUrl: string | null = null;
  let redisLabel = "";
  let scope = "no Redis";
  const redisServer = findBinary("redis-server");
  // The spawned redis-server, if any: fault injection stops it and starts it on the same port.
  let spawned: { server: RedisServer; rec: ChildRecord } | null = null;
  let spawnedPort: number | null = null;
  const stopSpawnedRedis = async () => {
    const s = spawned;
    if (!s) return;
    spawned = null;
    await s.server.close();
    const i = run.children.indexOf(s.rec);
    if (i >= 0) run.children.splice(i, 1);
    run.savePids();
  };
  const spawnRedis = async (port?: number): Promise<string> => {
    const server = await startRedisServer({ port });
    const rec: ChildRecord = { name: "redis-server", pid: server.pid, match: "redis-server" };
    if (spawnedPort === null) run.onStop(stopSpawnedRedis); // once: it stops whichever instance runs
    spawned = { server, rec };
    spawnedPort = Number(new URL(server.url).port);
    run.children.push(rec);
    run.savePids();
    return server.url;
  };
  if (process.env.REDIS_URL) {
    if (!(await redisAnswers(process.env.REDIS_URL)))
      throw new Error(`REDIS_URL=${process.env.REDIS_URL} does not answer PING`);
    redisUrl = process.env.REDIS_URL;
    redisLabel = "from REDIS_URL";
  } else if (run.testMode && redisServer) {
    // Tests get a private, empty Redis so concurrent runs never see each other's keys.
    redisUrl = await spawnRedis();
    redisLabel = "private redis-server for this run";
    scope = "a private redis-server";
  } else if (await redisAnswers("redis://127.0.0.1:6379")) {
    redisUrl = "redis://127.0.0.1:6379";
    redisLabel = "local server";
  } else if (redisServer) {
    redisUrl = await spawnRedis();
    redisLabel = "spawned redis-server, no persistence";
    scope = "a redis-server of its own";
  }
  if (redisUrl && spawnedPort === null) {
    // Shared with whoever else uses it (test stacks share it as they always did: a fresh one is private).
    if (run.testMode) scope = `the shared Redis ${redisUrl}`;
    else {
      const own = await claimRedisDatabase(redisUrl, run.port);
      redisUrl = own.url;
      scope = `Redis database ${own.db}`;
    }
  }
  run.checkpoint();
  let adapter: UpstashAdapter | null = null;
  const upstashToken = process.env.UPSTASH_REDIS_REST_TOKEN ?? DEFAULT_UPSTASH_TOKEN;
  if (redisUrl) {
    adapter = await startUpstashAdapter({ redisUrl, token: upstashToken, port: await pickPort(preferredAdapterPort) });
    const a = adapter;
    run.onStop(() => a.close());
    run.log(`Redis: ${redisUrl} (${redisLabel}) behind Upstash REST ${adapter.url}`);
  } else {
    run.warn(
      "no Redis available (REDIS_URL unset, nothing on 127.0.0.1:6379, no redis-server binary). " +
        "The Worker runs WITHOUT UPSTASH_REDIS_REST_URL/TOKEN: snapshots are OFF.",
    );
  }
  const privateRedis = spawnedPort !== null && redisLabel.startsWith("private");
  return {
    redisUrl,
    adapter,
    upstashToken,
    scope,
    faults: {
      async stopRedis() {
        if (!privateRedis) throw new Error("stopRedis: this stack does not run a private redis-server");
        await stopSpawnedRedis();
      },
      async startRedis() {
        if (!privateRedis) throw new Error("startRedis: this stack does not run a private redis-server");
        if (run.isStopped) throw new Error("startRedis: the stack is stopped");
        if (!spawned) await spawnRedis(spawnedPort!);
      },
    },
  };
}
