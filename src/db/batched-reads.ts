/**
 * Postgres reads that many actors of one isolate make at once (a burst of new carts, each
 * asking whether it had a lost copy) become one query per batch on one connection.
 */

import { withTimeout } from "../timeout";

type Outcome<T> = { ok: true; value: T | null; at: number } | { ok: false; error: string; at: number };

/** Thrown when the answer did not come in time; the caller treats Postgres as unreachable. */
export class ReadTimeoutError extends Error {
  constructor(ms: number) {
    super(`no batched answer within ${ms} ms`);
    this.name = "ReadTimeoutError";
  }
}

/** Answers nobody picked up (their caller gave up) are dropped after this long. */
const UNCLAIMED_MS = 30_000;

/**
 * Collects keys from every caller in the isolate; a caller that finds no batch
 * running (at most `maxRunners`) runs the next one itself (up to `maxBatch`
 * keys, one `loadMany`), in its own request context, and the others pick
 * their answer from shared plain data by polling their own timer: a promise
 * resolved from another actor's request context is not allowed. Before this,
 * each new cart opened its own Postgres connection: 2,000 new carts in a
 * burst ran the server out of connections, or (capped at four at a time)
 * waited seconds in line, and most rebuilds timed out.
 */
export class BatchedReads<T> {
  private readonly pending = new Set<string>();
  private readonly answers = new Map<string, Outcome<T>>();
  private running = 0;

  constructor(
    private readonly loadMany: (keys: string[]) => Promise<Map<string, T>>,
    private readonly maxRunners = 2,
    private readonly maxBatch = 200,
    private readonly now: () => number = Date.now,
  ) {}

  async load(key: string, timeoutMs: number): Promise<T | null> {
    const deadline = this.now() + timeoutMs;
    this.pending.add(key);
    for (;;) {
      const answer = this.answers.get(key);
      if (answer) {
        this.answers.delete(key);
        if (!answer.ok) throw new Error(answer.error);
        return answer.value;
      }
      if (this.pending.size > 0 && this.running < this.maxRunners) {
        await this.runBatch(Math.max(1, deadline - this.now()));
        continue;
      }
      if (this.now() >= deadline) {
        this.pending.delete(key);
        throw new ReadTimeoutError(timeoutMs);
      }
      await new Promise((r) => setTimeout(r, 3 + Math.random() * 7));
    }
  }

  /** Runs one batch; it fails (for every key in it) once `ms` have passed, so a hung Postgres holds no caller past its deadline. */
  private async runBatch(ms: number): Promise<void> {
    const keys = [...this.pending].slice(0, this.maxBatch);
    for (const key of keys) this.pending.delete(key);
    this.running++;
    try {
      const found = await withTimeout(this.loadMany(keys), ms);
      const at = this.now();
      for (const key of keys) this.answers.set(key, { ok: true, value: found.get(key) ?? null, at });
    } catch (err) {
      const at = this.now();
      for (const key of keys)
        this.answers.set(key, { ok: false, error: err instanceof Error ? err.message : String(err), at });
    } finally {
      this.running--;
      this.dropUnclaimed();
    }
  }

  private dropUnclaimed(): void {
    const old = this.now() - UNCLAIMED_MS;
    for (const [key, answer] of this.answers) if (answer.at < old) this.answers.delete(key);
  }
}
