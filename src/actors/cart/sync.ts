/**
 * The cart's copies elsewhere: its Redis snapshot (offered after every change,
 * written again by the alarm while Redis is behind), and the full snapshot
 * event through the queue (hourly, or on the admin's request). Postgres is
 * written only by the consumer: one write path.
 */
import { cartSnapshotKey, cartSnapshots, cartSnapshotValue } from "../../cache/cart-snapshots";
import { RedisUnavailableError, redisConfigured } from "../../cache/redis";
import type { CartState } from "../../domain/cart";
import { guestCartTtlMs, snapshotRetryMs } from "../../env";
import type { CartChangeData } from "../../events/envelope";
import { envelope } from "../../events/envelope";
import type { CartStore } from "./store";
import type { CartHost } from "./host";

/** A snapshot Redis missed is written again by the alarm (after SNAPSHOT_RETRY_MS, 30 s), at most this many times per change. */
const MAX_SNAPSHOT_RETRIES = 2;

/** What the admin sync sent: the cart's version and line count, and the snapshot event to wait for. */
export interface SnapshotReceipt {
  version: number;
  lines: number;
  eventId: string | null;
}

export class CartSync {
  /** Alarm retries of the Redis snapshot that failed since the last change. */
  private snapshotRetries = 0;

  constructor(
    private readonly host: CartHost,
    private readonly store: CartStore,
  ) {}

  /**
   * The cart changed: offer its snapshot to Redis. Whether it landed is
   * looked at by the alarm the change set anyway (the outbox backstop, a
   * few seconds later), which writes it again if Redis is behind: no
   * alarm write of its own per edit.
   */
  changed(): void {
    this.snapshotRetries = 0;
    cartSnapshots.offer(this.host.env, this.snapshot()!);
  }

  /**
   * When the alarm should write the snapshot again (null: no retry of its own). The first look
   * rides on the outbox backstop alarm every change sets; only a retry that failed there asks
   * for another, a couple of times, jittered; then the next change or the hourly sync writes it.
   */
  retryAt(): number | null {
    return this.snapshotRetries > 0 && this.snapshotBehind()
      ? this.host.now() + Math.round(snapshotRetryMs(this.host.env) * (0.5 + Math.random()))
      : null;
  }

  /** Alarm: a snapshot Redis missed is written again. */
  async retry(): Promise<void> {
    if (!this.snapshotBehind()) return;
    try {
      await cartSnapshots.writeNow(this.host.env, this.snapshot()!);
    } catch (err) {
      // Redis known down (the write gate refused at once): no alarm for it; other failures retry a bounded number of times.
      this.snapshotRetries = err instanceof RedisUnavailableError ? MAX_SNAPSHOT_RETRIES : this.snapshotRetries + 1;
    }
  }

  /**
   * Admin sync: the hourly snapshot, relayed to the queue before answering.
   * The route then waits for the consumer to record `eventId` in Postgres
   * (null: a cart never changed has nothing to write).
   */
  async publishSnapshot(): Promise<SnapshotReceipt> {
    const eventId = await this.emitSnapshot();
    if (eventId !== null) await this.host.relayNow();
    const state = await this.store.loaded();
    return { version: state.version, lines: state.lines.length, eventId };
  }

  /**
   * Hourly sync: a full snapshot through the queue, reconciling whatever events may have missed; and Redis's copy
   * written again. Returns the snapshot event's id (null: the cart never changed, nothing to send).
   */
  async emitSnapshot(): Promise<string | null> {
    const state = await this.store.loaded();
    if (state.version === 0) return null;
    const event = this.snapshotEvent(state);
    this.host.transact(() => this.host.outbox.addEvent(event));
    this.host.afterCommit();
    this.snapshotRetries = 0;
    cartSnapshots.offer(this.host.env, this.snapshot()!);
    return event.id;
  }

  private snapshotEvent(state: CartState) {
    const data: CartChangeData = {
      cartKey: state.cartKey,
      currency: state.currency,
      updatedAt: state.updatedAt ?? new Date(this.host.now()).toISOString(),
      upserted: state.lines,
      removed: [],
      complete: true,
      code: state.code ?? null,
    };
    return envelope("cart.snapshot", state.cartKey, state.version, data);
  }

  /** The Redis snapshot of the cart as it is now (none before its first change). */
  private snapshot() {
    const state = this.store.current;
    return state && state.version > 0 ? cartSnapshotValue(state, guestCartTtlMs(this.host.env)) : null;
  }

  /** True while Redis may hold an older snapshot than the actor (a write is queued, in flight or failed). */
  private snapshotBehind(): boolean {
    const state = this.store.current;
    return (
      redisConfigured(this.host.env) &&
      this.snapshotRetries < MAX_SNAPSHOT_RETRIES &&
      state !== null &&
      state.version > 0 &&
      state.version > cartSnapshots.publishedVersion(cartSnapshotKey(state.cartKey))
    );
  }
}
