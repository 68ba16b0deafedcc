// A logical Redis database (SELECT) of its own for a stack on another port than the default, on
// a Redis that other stacks share. The Upstash adapter then rewrites nothing, and every command
// the Worker sends (EVAL scripts and their keys included) stays inside that database; a key
// prefix would have to know where each command keeps its keys. A marker key in each database
// names the port that owns it: a port finds its database again after a restart, and a database
// that holds someone else's keys is never taken.
import { RespConnection, RespError } from "../resp.ts";
import { DEFAULT_PORT } from "./scope.ts";

export const OWNER_KEY = "edge-cart:dev-stack:port";
/** Redis has 16 databases unless configured otherwise; look no further than this. */
const MAX_DATABASES = 256;

/** Takes the selected database for ARGV[1] when nobody owns it and it is empty; answers its owner. */
const CLAIM = `
local owner = redis.call('GET', KEYS[1])
if owner then return owner end
if redis.call('DBSIZE') > 0 then return false end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]
`;

export interface RedisDatabase {
  /** redisUrl with the database in its path. */
  url: string;
  db: number;
}

/**
 * The database the stack on `port` uses on `redisUrl`: the one the URL names, 0 for the default
 * port (as always), else the one this port owns or the first empty one, claimed now.
 */
export async function claimRedisDatabase(redisUrl: string, port: number): Promise<RedisDatabase> {
  const url = new URL(redisUrl);
  const named = url.pathname.replace(/^\//, "");
  if (named) return { url: redisUrl, db: Number(named) };
  if (port === DEFAULT_PORT) return { url: redisUrl, db: 0 };
  const conn = await RespConnection.open(redisUrl);
  try {
    // owners[i]: who owns database i + 1 ("" nobody, "?" a marker that is not ours to read).
    const owners: string[] = [];
    for (let db = 1; db < MAX_DATABASES; db++) {
      const [selected, owner] = await conn.send([
        ["SELECT", String(db)],
        ["GET", OWNER_KEY],
      ]);
      if (selected instanceof RespError) break; // past the server's last database
      owners.push(owner === null ? "" : Buffer.isBuffer(owner) ? owner.toString() : "?");
    }
    let db = owners.indexOf(String(port)) + 1;
    for (let i = 0; db === 0 && i < owners.length; i++) {
      if (owners[i]) continue;
      const [, claimed] = await conn.send([
        ["SELECT", String(i + 1)],
        ["EVAL", CLAIM, "1", OWNER_KEY, String(port)],
      ]);
      if (Buffer.isBuffer(claimed) && claimed.toString() === String(port)) db = i + 1;
    }
    if (db === 0) {
      const taken = owners.filter((o) => /^\d+$/.test(o)).join(", ");
      throw new Error(
        `no Redis database left on ${redisUrl} for the stack on port ${port} (databases 1-${owners.length} belong to stacks on ports ${taken || "none"} or hold other keys): free one with \`redis-cli -n <db> flushdb\`, or name one in REDIS_URL (redis://host:port/<db>)`,
      );
    }
    url.pathname = `/${db}`;
    return { url: url.toString(), db };
  } finally {
    conn.close();
  }
}
