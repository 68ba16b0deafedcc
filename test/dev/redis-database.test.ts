// The Redis database a local stack on another port than 8787 claims on a shared Redis
// (dev/stack/redis-database.ts), against a private redis-server standing for that Redis.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RespConnection } from "../../dev/resp.ts";
import { startRedisServer, type RedisServer } from "../../dev/redis-server.ts";
import { claimRedisDatabase, OWNER_KEY } from "../../dev/stack/redis-database.ts";

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(() => redis?.close());

async function command(url: string, ...cmd: string[]): Promise<unknown> {
  const conn = await RespConnection.open(url);
  try {
    const [reply] = await conn.send([cmd]);
    return Buffer.isBuffer(reply) ? reply.toString() : reply;
  } finally {
    conn.close();
  }
}

describe("claimRedisDatabase", () => {
  it("the default port keeps database 0, and a database named in the URL is used as given", async () => {
    expect(await claimRedisDatabase(redis.url, 8787)).toEqual({ url: redis.url, db: 0 });
    expect(await claimRedisDatabase(`${redis.url}/7`, 9001)).toEqual({ url: `${redis.url}/7`, db: 7 });
    expect(await command(`${redis.url}/7`, "DBSIZE")).toBe(0);
  });

  it("another port claims an empty database, finds it again after a restart, and never takes one holding keys", async () => {
    const first = await claimRedisDatabase(redis.url, 9001);
    expect(first).toEqual({ url: `${redis.url}/1`, db: 1 });
    expect(await command(first.url, "GET", OWNER_KEY)).toBe("9001");
    // Keys written through the claimed URL stay in that database.
    await command(first.url, "SET", "cart:x", "on 9001");
    expect(await command(redis.url, "EXISTS", "cart:x")).toBe(0);

    // Someone else's keys in database 2 (no owner marker): skipped.
    await command(`${redis.url}/2`, "SET", "their:key", "1");
    expect(await claimRedisDatabase(redis.url, 9002)).toMatchObject({ db: 3 });
    expect(await claimRedisDatabase(redis.url, 9001)).toMatchObject({ db: 1 });
    expect(await command(`${redis.url}/2`, "EXISTS", OWNER_KEY)).toBe(0);

    // Two stacks starting at once get two databases.
    const together = await Promise.all([claimRedisDatabase(redis.url, 9003), claimRedisDatabase(redis.url, 9004)]);
    expect(together.map((d) => d.db).sort()).toEqual([4, 5]);
  });

  it("says in one line what to do when every database is taken", async () => {
    // Databases 6-15 of the 16 go to ten more ports; the next one finds none.
    for (let port = 9005; port < 9015; port++) await claimRedisDatabase(redis.url, port);
    await expect(claimRedisDatabase(redis.url, 9100)).rejects.toThrow(
      /^no Redis database left on redis:\/\/127\.0\.0\.1:\d+ for the stack on port 9100 \(databases 1-15 belong to stacks on ports 9001, 9002, 900[34], 900[34], 9005, .*, 9014 or hold other keys\): free one with `redis-cli -n <db> flushdb`, or name one in REDIS_URL \(redis:\/\/host:port\/<db>\)$/,
    );
    // Flushing a database frees it.
    await command(`${redis.url}/3`, "FLUSHDB");
    expect(await claimRedisDatabase(redis.url, 9100)).toMatchObject({ db: 3 });
  });
});
