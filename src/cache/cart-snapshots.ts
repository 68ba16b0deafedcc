/**
 * Cart snapshots in Redis: written in shared batches after each edit, read by
 * the edge when a cart actor is slow and by a cart rebuilding lost storage.
 */
import type { CartState } from "../domain/cart";
import type { VersionedValue } from "./redis";
import {
  readVersioned,
  redisClient,
  redisConfigured,
  RedisUnavailableError,
  redisWrites,
  writeAllIfNewer,
  writeIfNewer,
} from "./redis";
import { log } from "../log/logger";
import { errorText } from "../log/redact";

/** Members are the cart keys changed since the last hourly sync. */
export const DIRTY_CARTS_SET = "carts:dirty";

/** `cart:user:{id}` / `cart:guest:{id}` (docs/API.md, 1. What it is). */
export const cartSnapshotKey = (cartKey: string) => `cart:${cartKey}`;

export function cartSnapshotValue(state: CartState, guestTtlMs: number): VersionedValue {
  return {
    key: cartSnapshotKey(state.cartKey),
    version: state.version,
    data: JSON.stringify(state),
    // Guest carts expire 30 days after their last change; the snapshot goes with them.
    ttlSeconds: state.cartKey.startsWith("guest:") ? Math.ceil(guestTtlMs / 1000) : 0,
    dirty: { set: DIRTY_CARTS_SET, member: state.cartKey },
  };
}

/**
 * The cart snapshot from Redis, or null when there is none, Redis is off, or
 * it does not answer within the read timeout (the caller asks the actor).
 */
export async function readCartSnapshot(env: Env, cartKey: string): Promise<CartState | null> {
  const redis = redisClient(env);
  if (!redis) return null;
  try {
    const hit = (await readVersioned(redis, [cartSnapshotKey(cartKey)])).get(cartSnapshotKey(cartKey));
    return hit ? (JSON.parse(hit.data) as CartState) : null;
  } catch (err) {
    // While the write gate's breaker is open Redis is known down: it logged that once already.
    if (!(err instanceof RedisUnavailableError))
      log.warn("cart snapshot: Redis unavailable, reading the actor", { error: errorText(err) });
    return null;
  }
}

/** How long a snapshot waits for others to share its Redis round trip. */
const BATCH_DELAY_MS = 20;
/** At most this many snapshots per pipeline. */
const MAX_BATCH = 200;
const MAX_TRACKED = 20_000;
/** Longer than a write may take (WRITE_TIMEOUT_MS) plus the batching delay. */
const STUCK_FLUSH_MS = 3_000;

/**
 * Cart snapshots on their way to Redis from every cart actor of this
 * isolate, written together: one pipeline round trip every few
 * milliseconds instead of one per edit (under load, per-edit writes swamp
 * Redis and then the actors' retries). Each write stays versioned
 * (a delayed one never moves a snapshot back). Holds plain data only: a
 * batch is written from the context of the actor whose offer started it; a
 * batch that fails leaves its carts behind, and each cart's alarm writes its
 * own snapshot again (`writeNow`).
 */
export class CartSnapshotWriter {
  private pending = new Map<string, VersionedValue>();
  private readonly published = new Map<string, number>();
  /** When the pending flush was scheduled (0 = none). */
  private scheduledAt = 0;

  /** Queues the newest snapshot of a cart; a write is due within a few milliseconds. */
  offer(env: Env, value: VersionedValue): void {
    if (!redisConfigured(env)) return;
    const queued = this.pending.get(value.key);
    if (!queued || queued.version < value.version) this.pending.set(value.key, value);
    // A flush whose actor went away (evicted, reset) never finishes: after a while another actor takes over.
    if (this.scheduledAt !== 0 && Date.now() - this.scheduledAt < STUCK_FLUSH_MS) return;
    this.schedule(env);
  }

  private schedule(env: Env): void {
    this.scheduledAt = Date.now();
    setTimeout(() => void this.flush(env), BATCH_DELAY_MS);
  }

  /** The newest version this isolate knows Redis holds for `key` (-1 = none). */
  publishedVersion(key: string): number {
    return this.published.get(key) ?? -1;
  }

  /** Writes one cart's snapshot now, in the caller's own context (the alarm's retry). */
  async writeNow(env: Env, value: VersionedValue): Promise<void> {
    if (!redisConfigured(env)) return;
    await redisWrites.run(env, (redis) => writeIfNewer(redis, value));
    this.markPublished([value]);
  }

  private async flush(env: Env): Promise<void> {
    const batch = [...this.pending.values()].slice(0, MAX_BATCH);
    for (const value of batch) this.pending.delete(value.key);
    try {
      // Through the isolate's write gate: a dead or slow Redis costs a few connections, not one per batch.
      await redisWrites.run(env, (redis) => writeAllIfNewer(redis, batch));
      this.markPublished(batch);
    } catch (err) {
      // The gate logs Redis going down and coming back once; other failures are worth a line.
      if (!(err instanceof RedisUnavailableError))
        log.warn("cart snapshots not written (their carts retry)", { count: batch.length, error: errorText(err) });
    } finally {
      this.scheduledAt = 0;
      if (this.pending.size > 0) this.schedule(env);
    }
  }

  private markPublished(values: readonly VersionedValue[]): void {
    for (const value of values) {
      if (value.version > this.publishedVersion(value.key)) {
        this.published.delete(value.key);
        this.published.set(value.key, value.version);
      }
    }
    while (this.published.size > MAX_TRACKED) this.published.delete(this.published.keys().next().value!);
  }
}

/** The isolate's writer (module state: shared by the cart actors of this isolate). */
export const cartSnapshots = new CartSnapshotWriter();
