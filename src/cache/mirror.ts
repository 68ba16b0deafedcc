/**
 * A value an actor mirrors to Redis: written after changes at most once per
 * interval, versioned, and retried by the actor's alarm when a write fails.
 */
import { SingleFlight } from "../single-flight";
import type { VersionedValue } from "./redis";
import { RedisUnavailableError, redisConfigured, redisWrites, writeIfNewer } from "./redis";

/** A write that failed on its own is retried after about 30 s, then 2 min (jittered), then left to the next change or sync. */
const RETRY_BASE_MS = 30_000;
const MAX_RETRIES = 2;

/** `ms` spread over [0.5, 1.5) x ms, so actors that failed together do not retry together. */
function jittered(ms: number): number {
  return Math.round(ms * (0.5 + Math.random()));
}

/**
 * Mirrors an actor's current state into Redis after changes: coalesced (one
 * write in flight per actor; a burst of changes costs one write of the latest
 * version, and at most one write per `minIntervalMs`), versioned (never moves
 * back), and through the isolate's write gate (a few writes at once, a
 * circuit breaker for a dead or slow Redis). A write that failed on its own
 * (a timeout, an error) is retried by the actor's alarm twice, with growing
 * jittered delays, then dropped; a write refused because Redis is known to
 * be down is dropped at once. So an outage leaves no alarms behind that a
 * restart would fire all together: the snapshot is only a cache, readers
 * fall back to the actor, and the next change or the hourly sync writes it
 * again. Failures are not logged here (the gate logs when Redis goes away
 * and comes back). The actor never waits for it inside a state change.
 */
export class RedisMirror {
  private publishedVersion = -1;
  /** Failed writes since the last change or success. */
  private failures = 0;
  /** When the actor's alarm should retry a failed write (null: no alarm needed for Redis). */
  private retryAt: number | null = null;
  private lastError: unknown = null;
  private readonly flight: SingleFlight;

  constructor(
    private readonly env: Env,
    private readonly current: () => VersionedValue | null,
    /** A SKU's availability changes with every reservation of a flash sale: its view is published a few times a second, not per change. */
    minIntervalMs = 0,
    /** Called when a failed write wants a retry: the actor sets its alarm (from `nextWriteAt`). */
    private readonly onRetry: () => void = () => undefined,
  ) {
    this.flight = new SingleFlight(() => this.write(), minIntervalMs);
  }

  get enabled(): boolean {
    return redisConfigured(this.env);
  }

  /** True while Redis may hold an older version than the actor (a write failed, is in flight, or none was made since start). */
  isBehind(): boolean {
    const value = this.current();
    return this.enabled && value !== null && value.version > this.publishedVersion;
  }

  /** When the actor needs an alarm for this mirror, or null (up to date, or retries used up). */
  nextWriteAt(): number | null {
    return this.isBehind() ? this.retryAt : null;
  }

  /** A change: write it now (with a fresh set of retries). */
  kick(): void {
    if (!this.enabled) return;
    this.failures = 0;
    this.retryAt = null;
    this.flight.kick();
  }

  /**
   * From the actor's alarm: writes if a retry of a write that failed in this
   * instance is due. Never throws. An actor woken after a restart does not
   * write: thousands wake together then, and what Redis missed is written by
   * the next change or the hourly sync.
   */
  async retryIfDue(now = Date.now()): Promise<void> {
    if (!this.isBehind() || this.failures === 0 || this.failures > MAX_RETRIES) return;
    if (this.retryAt !== null && this.retryAt > now) return;
    await this.flight.run();
  }

  /** Writes the current state now and waits; throws when it could not be written. */
  async flush(): Promise<void> {
    if (!this.enabled) return;
    await this.flight.run();
    if (this.isBehind() && this.lastError) throw this.lastError;
  }

  private async write(): Promise<void> {
    const value = this.current();
    if (!value || value.version <= this.publishedVersion) return;
    try {
      await redisWrites.run(this.env, (redis) => writeIfNewer(redis, value));
      this.publishedVersion = Math.max(this.publishedVersion, value.version);
      this.failures = 0;
      this.lastError = null;
      this.retryAt = null;
    } catch (err) {
      // Known down: no retry alarm (thousands of actors would hold one); the next change or the sync writes it.
      this.failures =
        err instanceof RedisUnavailableError && err.reason === "open" ? MAX_RETRIES + 1 : this.failures + 1;
      this.lastError = err;
      this.retryAt =
        this.failures > MAX_RETRIES ? null : Date.now() + jittered(RETRY_BASE_MS * 4 ** (this.failures - 1));
      if (this.retryAt !== null) this.onRetry();
    }
  }
}
