import { SingleFlight } from "../actors/single-flight";
import type { VersionedValue } from "./redis";
import { redisClient, redisConfigured, WRITE_TIMEOUT_MS, writeIfNewer } from "./redis";

/**
 * Mirrors an actor's current state into Redis after changes: coalesced (a
 * burst of changes costs one write of the latest version, and at most one
 * write per `minIntervalMs`), versioned (never moves back), and retried by
 * the actor's alarm while it is behind. The actor never waits for it inside a
 * state change.
 */
export class RedisMirror {
  private publishedVersion = -1;
  private readonly flight: SingleFlight;

  constructor(
    private readonly env: Env,
    private readonly current: () => VersionedValue | null,
    /** A SKU's availability changes with every reservation of a flash sale: its view is published a few times a second, not per change. */
    minIntervalMs = 0,
  ) {
    this.flight = new SingleFlight(() => this.write(), minIntervalMs);
  }

  get enabled(): boolean {
    return redisConfigured(this.env);
  }

  /** True while Redis holds an older version than the actor (a write failed or is in flight). */
  isBehind(): boolean {
    const value = this.current();
    return this.enabled && value !== null && value.version > this.publishedVersion;
  }

  kick(): void {
    if (this.enabled) this.flight.kick();
  }

  /** Writes the current state now and waits; throws when Redis is unreachable. */
  async flush(): Promise<void> {
    if (this.enabled) await this.write();
  }

  private async write(): Promise<void> {
    const redis = redisClient(this.env, WRITE_TIMEOUT_MS);
    const value = this.current();
    if (!redis || !value || value.version <= this.publishedVersion) return;
    await writeIfNewer(redis, value);
    this.publishedVersion = Math.max(this.publishedVersion, value.version);
  }
}
