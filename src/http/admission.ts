/**
 * Load shedding (docs/invariants.md 8): past capacity a request is refused with
 * 503 OVERLOADED and `Retry-After: 1` within a second instead of joining a queue that
 * grows for minutes. Each isolate serves at most `limit` requests at a time;
 * a request beyond that waits for a slot at most `maxWaitMs` (and only while
 * fewer than `limit` others wait), else it is refused. The limit shrinks
 * while served requests take longer than the latency budget and grows back
 * while they are fast, so what is admitted keeps answering well within a
 * second. A refused request did nothing, so a client may send it again as it
 * is (an edit included).
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "./context";
import { problem } from "./problem";

/**
 * Polling step of a request waiting for a slot. Each waiter polls on a timer
 * of its own (see `enter`): at 5 ms, 256 waiters were ~50,000 timer callbacks
 * a second on the thread that should be serving, so overload made itself worse.
 */
const WAIT_POLL_MS = 25;
/**
 * A slot not given back after this long is taken back: a request that
 * workerd cancelled (its client went away, or it was judged hung) never runs
 * its `finally`, and without this each one would shrink capacity for good.
 */
const SLOT_LEASE_MS = 10_000;

export class Admission {
  limit: number;
  /** The slots held: when each was taken, by ticket. */
  private readonly held = new Map<number, number>();
  private nextTicket = 1;
  private readonly waiting: { since: number }[] = [];
  private lastShrinkAt = 0;

  constructor(
    readonly maxInFlight = 256,
    /** Never below this: a burst from one page (a cart with many devices) is not shed. */
    readonly minInFlight = 64,
    /** Served requests slower than this shrink the limit. */
    readonly latencyBudgetMs = 500,
    /** How long a request may wait for a slot before it is refused. */
    readonly maxWaitMs = 250,
    private readonly clock: () => number = Date.now,
  ) {
    this.limit = maxInFlight;
  }

  get inFlight(): number {
    this.expireLeases();
    return this.held.size;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /**
   * Resolves with a ticket once the request holds a slot (give it back with
   * `leave`), null when the request is to be refused. A waiting request polls on its own timer: it is never woken by
   * another request (in workerd a promise resolved from another request's
   * context runs its continuation there, and the waiting request looks hung).
   */
  async enter(): Promise<number | null> {
    if (this.waiting.length === 0) {
      const ticket = this.take();
      if (ticket !== null) return ticket;
    }
    // A small wait queue: it absorbs a page's burst; past it, refusing at once is the answer.
    if (this.waiting.length >= Math.max(8, Math.floor(this.limit / 4))) return null;
    const me = { since: this.clock() };
    this.waiting.push(me);
    try {
      while (this.clock() - me.since < this.maxWaitMs) {
        await new Promise((r) => setTimeout(r, WAIT_POLL_MS));
        // First come, first served: only the longest waiters may take the free slots.
        if (this.waiting.indexOf(me) < this.limit - this.inFlight) {
          const ticket = this.take();
          if (ticket !== null) return ticket;
        }
      }
      return null;
    } finally {
      this.waiting.splice(this.waiting.indexOf(me), 1);
    }
  }

  leave(ticket: number, latencyMs: number): void {
    this.held.delete(ticket);
    const now = this.clock();
    if (latencyMs > this.latencyBudgetMs) {
      // One slow wave shrinks the limit once per 100 ms, not once per request in it.
      if (now - this.lastShrinkAt >= 100) {
        this.lastShrinkAt = now;
        this.limit = Math.max(this.minInFlight, Math.floor(this.limit * 0.8));
      }
    } else if (this.limit < this.maxInFlight) {
      this.limit++;
    }
  }

  private take(): number | null {
    if (this.inFlight >= this.limit) return null;
    const ticket = this.nextTicket++;
    this.held.set(ticket, this.clock());
    return ticket;
  }

  private expireLeases(): void {
    const oldest = this.clock() - SLOT_LEASE_MS;
    // A Map keeps insertion order: the oldest slots come first.
    for (const [ticket, at] of this.held) {
      if (at >= oldest) break;
      this.held.delete(ticket);
    }
  }
}

/** Paths never shed: the health check must keep answering under load. */
const EXEMPT = new Set(["/healthz"]);

export const DEFAULT_MAX_IN_FLIGHT = 256;
export const DEFAULT_SHED_WAIT_MS = 250;

/** One Admission per configuration (module state: per isolate). */
const admissions = new Map<string, Admission | null>();

/**
 * The isolate's admission control for this environment: `MAX_IN_FLIGHT`
 * (default 256; "0" turns shedding off) and `SHED_WAIT_MS` (default 250).
 */
export function admissionFor(env: Env): Admission | null {
  const key = `${env.MAX_IN_FLIGHT ?? ""}|${env.SHED_WAIT_MS ?? ""}`;
  let admission = admissions.get(key);
  if (admission === undefined) {
    const max = positiveInt(env.MAX_IN_FLIGHT, DEFAULT_MAX_IN_FLIGHT);
    const wait = positiveInt(env.SHED_WAIT_MS, DEFAULT_SHED_WAIT_MS);
    admission = max === 0 ? null : new Admission(max, Math.min(64, max), 500, wait);
    admissions.set(key, admission);
  }
  return admission;
}

function positiveInt(raw: string | undefined, fallback: number): number {
  const n = Number(raw);
  return raw !== undefined && raw !== "" && Number.isInteger(n) && n >= 0 ? n : fallback;
}

export function shedLoad(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const admission = admissionFor(c.env);
    if (!admission || EXEMPT.has(c.req.path)) return next();
    const arrived = Date.now();
    const ticket = await admission.enter();
    if (ticket === null) {
      return problem(c, "OVERLOADED", "the service is at capacity; nothing was done, retry in a second", undefined, {
        "retry-after": "1",
      });
    }
    try {
      await next();
    } finally {
      admission.leave(ticket, Date.now() - arrived);
    }
  };
}
