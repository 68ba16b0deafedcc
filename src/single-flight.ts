import { log } from "./log/logger";
import { errorText } from "./log/redact";
/**
 * Runs an async task at most once at a time; a request that arrives while it
 * runs makes it run once more afterwards. Used for work that should always
 * reflect the latest state but never pile up: outbox relay, snapshot writes,
 * WebSocket broadcasts. Under a burst this turns many small sends into a few
 * large batches.
 */
export class SingleFlight {
  private running: Promise<void> | null = null;
  private again = false;

  constructor(
    private readonly task: () => Promise<void>,
    /** Throttle: after each run, wait this long before the next (a burst then costs a few runs a second). */
    private readonly minIntervalMs = 0,
  ) {}

  /** Starts (or re-arms) the task; resolves when the state at call time has been handled. */
  run(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.task();
          if (this.minIntervalMs > 0) await new Promise((r) => setTimeout(r, this.minIntervalMs));
        } while (this.again);
      } finally {
        // After a failure a pending re-run is dropped: the owner's alarm retries, without a hot loop.
        this.again = false;
        this.running = null;
      }
    })();
    return this.running;
  }

  /** Fire and forget: a failure is logged once, by the kick that started the run; the owner retries later. */
  kick(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.run().catch((err: unknown) =>
      log.warn("background task failed (retried later)", {
        outcome: "retry",
        error: err instanceof Error ? `${err.name}: ${errorText(err)}` : errorText(err),
      }),
    );
  }
}
