import { Redis } from "@upstash/redis/cloudflare";

/** Reads give up fast and fall back to the actors; writes get a little longer. */
export const READ_TIMEOUT_MS = 250;
export const WRITE_TIMEOUT_MS = 1_000;

/**
 * An Upstash client, or null when Redis is not configured (snapshots off).
 * No client-side retries: every caller has its own fallback or retry path,
 * and a slow Redis must never hold up a cart request.
 */
export function redisConfigured(env: Env): boolean {
  return Boolean(env.UPSTASH_REDIS_REST_URL && env.UPSTASH_REDIS_REST_TOKEN);
}

export function redisClient(env: Env, timeoutMs = READ_TIMEOUT_MS): Redis | null {
  if (!env.UPSTASH_REDIS_REST_URL || !env.UPSTASH_REDIS_REST_TOKEN) return null;
  return new Redis({
    url: env.UPSTASH_REDIS_REST_URL,
    token: env.UPSTASH_REDIS_REST_TOKEN,
    retry: false,
    automaticDeserialization: false,
    enableTelemetry: false,
    signal: () => AbortSignal.timeout(timeoutMs),
  });
}


/**
 * Versioned values are hashes { v: version, d: json }. This script writes
 * one only if its version is newer than the stored one, so a delayed write
 * never takes a snapshot back in time (invariant 5). It can also record the
 * key in a "dirty" set for the hourly sync, atomically with the write.
 *   KEYS[1] value key, KEYS[2] dirty set (optional)
 *   ARGV[1] version, ARGV[2] data, ARGV[3] ttl seconds (0 = keep forever), ARGV[4] dirty member
 */
const WRITE_IF_NEWER = `
local current = tonumber(redis.call('HGET', KEYS[1], 'v') or '-1')
if current >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'd', ARGV[2])
if tonumber(ARGV[3]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[3]) else redis.call('PERSIST', KEYS[1]) end
if KEYS[2] then redis.call('SADD', KEYS[2], ARGV[4]) end
return 1
`;

export interface VersionedValue {
  key: string;
  version: number;
  data: string;
  ttlSeconds: number;
  dirty?: { set: string; member: string };
}

/** Returns true when written, false when Redis already held this version or a newer one. */
export async function writeIfNewer(redis: Redis, value: VersionedValue): Promise<boolean> {
  const keys = value.dirty ? [value.key, value.dirty.set] : [value.key];
  const written = await redis.eval(WRITE_IF_NEWER, keys, [String(value.version), value.data, String(value.ttlSeconds), value.dirty?.member ?? ""]);
  return Number(written) === 1;
}

/** Several versioned writes in one round trip (one pipeline); each is guarded like `writeIfNewer`. */
export async function writeAllIfNewer(redis: Redis, values: readonly VersionedValue[]): Promise<void> {
  if (values.length === 0) return;
  const pipeline = redis.pipeline();
  for (const value of values) {
    const keys = value.dirty ? [value.key, value.dirty.set] : [value.key];
    pipeline.eval(WRITE_IF_NEWER, keys, [String(value.version), value.data, String(value.ttlSeconds), value.dirty?.member ?? ""]);
  }
  await pipeline.exec();
}

export interface StoredVersion {
  version: number;
  data: string;
}

export async function readVersioned(redis: Redis, keys: string[]): Promise<Map<string, StoredVersion>> {
  const found = new Map<string, StoredVersion>();
  if (keys.length === 0) return found;
  const pipeline = redis.pipeline();
  for (const key of keys) pipeline.hmget(key, "v", "d");
  // Without automatic deserialization HMGET answers the raw [v, d] pair.
  const rows = await pipeline.exec<([string | null, string | null] | null)[]>();
  rows.forEach((row, i) => {
    const [v, d] = row ?? [null, null];
    if (v != null && d != null) found.set(keys[i]!, { version: Number(v), data: d });
  });
  return found;
}
