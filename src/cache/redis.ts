/**
 * The Upstash Redis client: short timeouts, a write gate that notices when
 * Redis is down, and versioned writes that never move a key back in time.
 */
import { Redis } from "@upstash/redis/cloudflare";
import { log } from "../log/logger";
import { errorText } from "../log/redact";

/** Reads give up fast and fall back to the actors; writes get a little longer. */
export const READ_TIMEOUT_MS = 250;
export const WRITE_TIMEOUT_MS = 1_000;

/** Snapshot writes in flight at once per isolate; more wait for a slot (briefly) instead of opening connections. */
const MAX_WRITES_IN_FLIGHT = 8;
/** Writes waiting for a slot; past this a write is refused at once (the mirror retries later). */
const MAX_WRITES_WAITING = 64;
/** How long a write waits for a slot before giving up. */
const SLOT_WAIT_MS = 1_000;
/** Consecutive failed writes that open the breaker. */
const BREAKER_THRESHOLD = 5;
/** The breaker stays open this long after opening, doubling while probes fail, up to the max. */
const BREAKER_COOLDOWN_MS = 2_000;
const BREAKER_MAX_COOLDOWN_MS = 60_000;

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
 * never takes a snapshot back in time (docs/invariants.md 5). It can also record the
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
  const written = await redis.eval(WRITE_IF_NEWER, keys, [
    String(value.version),
    value.data,
    String(value.ttlSeconds),
    value.dirty?.member ?? "",
  ]);
  return Number(written) === 1;
}

/** Several versioned writes in one round trip (one pipeline); each is guarded like `writeIfNewer`. */
export async function writeAllIfNewer(redis: Redis, values: readonly VersionedValue[]): Promise<void> {
  if (values.length === 0) return;
  const pipeline = redis.pipeline();
  for (const value of values) {
    const keys = value.dirty ? [value.key, value.dirty.set] : [value.key];
    pipeline.eval(WRITE_IF_NEWER, keys, [
      String(value.version),
      value.data,
      String(value.ttlSeconds),
      value.dirty?.member ?? "",
    ]);
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
  // Writes found Redis down: readers go to the actors at once instead of waiting out their timeout.
  if (redisWrites.isOpen()) throw new RedisUnavailableError("open");
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

/** A write not even tried: Redis is known to be down (breaker open), this isolate's writes are backed up, or Redis is not configured. */
export class RedisUnavailableError extends Error {
  constructor(readonly reason: "open" | "busy" | "off") {
    super(
      reason === "open"
        ? "Redis unavailable (writes paused after repeated failures)"
        : reason === "busy"
          ? "Redis writes backed up in this isolate"
          : "Redis is not configured",
    );
    this.name = "RedisUnavailableError";
  }
}

/**
 * The gate every snapshot write goes through, one per isolate (thousands of
 * actors share an isolate): at most MAX_WRITES_IN_FLIGHT writes at once, and
 * a circuit breaker. After BREAKER_THRESHOLD failures in a row the breaker
 * opens and writes fail at once, without a connection, until a jittered
 * cooldown has passed; then one write probes, and closes it again or reopens
 * it for twice as long. So a dead or slow Redis costs a handful of
 * connections, not one per actor (a restart wakes every actor with a due
 * alarm at once). One log line per state change, none per failure.
 */
export class RedisWriteGate {
  private inFlight = 0;
  private waiting = 0;
  private failuresInRow = 0;
  private openUntil = 0;
  private cooldownMs = BREAKER_COOLDOWN_MS;
  private state: "closed" | "open" | "probing" = "closed";

  constructor(private readonly now: () => number = Date.now) {}

  /** True while writes are being refused without trying. */
  isOpen(): boolean {
    return this.state !== "closed" && !(this.state === "open" && this.now() >= this.openUntil);
  }

  async run<T>(env: Env, write: (redis: Redis) => Promise<T>): Promise<T> {
    const redis = redisClient(env, WRITE_TIMEOUT_MS);
    if (!redis) throw new RedisUnavailableError("off");
    const probe = this.admit();
    if (!probe.admitted) throw new RedisUnavailableError("open");
    await this.slot(probe.probing);
    try {
      const result = await write(redis);
      this.succeeded();
      return result;
    } catch (err) {
      this.failed(err);
      throw err;
    } finally {
      this.inFlight--;
    }
  }

  /** Closed: admitted. Open: refused until the cooldown is over, then one caller is let through as the probe. */
  private admit(): { admitted: boolean; probing: boolean } {
    if (this.state === "closed") return { admitted: true, probing: false };
    if (this.state === "open" && this.now() >= this.openUntil) {
      this.state = "probing";
      return { admitted: true, probing: true };
    }
    return { admitted: false, probing: false };
  }

  /**
   * Takes a slot (the probe always gets one), waiting for it by polling its
   * own timer: a promise resolved from another actor's request context is not
   * allowed, so no wait queue. Gives up after SLOT_WAIT_MS, or at once when
   * too many already wait. The slot is taken synchronously with the check.
   */
  private async slot(probing: boolean): Promise<void> {
    if (probing || this.inFlight < MAX_WRITES_IN_FLIGHT) {
      this.inFlight++;
      return;
    }
    if (this.waiting >= MAX_WRITES_WAITING) throw new RedisUnavailableError("busy");
    this.waiting++;
    try {
      const deadline = this.now() + SLOT_WAIT_MS;
      for (;;) {
        await new Promise((r) => setTimeout(r, 10 + Math.random() * 30));
        if (this.state !== "closed") throw new RedisUnavailableError("open");
        if (this.inFlight < MAX_WRITES_IN_FLIGHT) {
          this.inFlight++;
          return;
        }
        if (this.now() >= deadline) throw new RedisUnavailableError("busy");
      }
    } finally {
      this.waiting--;
    }
  }

  private succeeded(): void {
    this.failuresInRow = 0;
    // A warn like the pause it ends, so whoever saw the one sees the other.
    if (this.state !== "closed") log.warn("redis: snapshot writes resumed");
    this.state = "closed";
    this.cooldownMs = BREAKER_COOLDOWN_MS;
  }

  private failed(err: unknown): void {
    this.failuresInRow++;
    if (this.state === "probing") {
      this.cooldownMs = Math.min(BREAKER_MAX_COOLDOWN_MS, this.cooldownMs * 2);
      this.open();
    } else if (this.state === "closed" && this.failuresInRow >= BREAKER_THRESHOLD) {
      log.warn("redis: snapshot writes paused", {
        failuresInARow: this.failuresInRow,
        probeEveryS: `${BREAKER_COOLDOWN_MS / 1000}-${BREAKER_MAX_COOLDOWN_MS / 1000}`,
        error: errorText(err),
      });
      this.open();
    }
  }

  private open(): void {
    this.state = "open";
    this.openUntil = this.now() + Math.round(this.cooldownMs * (0.75 + Math.random() * 0.5));
  }
}

/** The isolate's gate (module state is shared by every actor and request of the isolate). */
export const redisWrites = new RedisWriteGate();
