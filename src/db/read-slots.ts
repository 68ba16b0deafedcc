// A few Postgres connections per isolate for reads made inside actors (a cart's rebuild), not one
// per actor at once.

/** Thrown when no slot came free in time, or too many already wait: the caller treats Postgres as unreachable. */
export class NoSlotError extends Error {
  constructor(reason: string) {
    super(`Postgres reads backed up in this isolate (${reason})`);
    this.name = "NoSlotError";
  }
}

/**
 * At most `max` reads run at once in an isolate (thousands of actors share
 * one). A read beyond that waits for a slot by polling its own timer (a promise
 * resolved from another actor's request context is not allowed), at most
 * `waitMs`, and not at all once `maxWaiting` others wait. Without it, a burst
 * of new carts opened one Postgres connection each and ran the server out of
 * connections (max_connections 100), so every rebuild timed out.
 */
export class ReadSlots {
  private inFlight = 0;
  private waiting = 0;

  constructor(
    private readonly max = 4,
    private readonly maxWaiting = 1_000,
    private readonly now: () => number = Date.now,
  ) {}

  async run<T>(waitMs: number, read: () => Promise<T>): Promise<T> {
    await this.take(waitMs);
    try {
      return await read();
    } finally {
      this.inFlight--;
    }
  }

  private async take(waitMs: number): Promise<void> {
    if (this.inFlight < this.max) {
      this.inFlight++;
      return;
    }
    if (this.waiting >= this.maxWaiting) throw new NoSlotError("too many waiting");
    this.waiting++;
    try {
      const deadline = this.now() + waitMs;
      for (;;) {
        await new Promise((r) => setTimeout(r, 5 + Math.random() * 15));
        if (this.inFlight < this.max) {
          this.inFlight++;
          return;
        }
        if (this.now() >= deadline) throw new NoSlotError(`no slot within ${waitMs} ms`);
      }
    } finally {
      this.waiting--;
    }
  }
}

/** The isolate's slots for actor reads of Postgres (module state is shared by every actor of the isolate). */
export const postgresReads = new ReadSlots();
