/**
 * The base every actor extends: SQLite storage, the outbox and its relay, one
 * alarm for the relay backstop and the actor's own timed duties, and the narrow
 * host its modules work through.
 */
import { DurableObject } from "cloudflare:workers";
import type { Envelope, QueueName } from "../events/envelope";
import { outboxKeepSentMs } from "../env";
import { clockAdjustable, readClockOffset, writeClockOffset } from "./clock";
import type { Command, OutboxSinks } from "./outbox";
import { Outbox } from "./outbox";
import { ActorSchema } from "./sqlite";
import { flushSoon } from "../ops/metrics";
import { recordRelay } from "../ops/pipeline-metrics";
import { SingleFlight } from "../single-flight";
import { withLogContext } from "../log/context";
import { log } from "../log/logger";
import { errorText } from "../log/redact";
import type { TraceContext } from "./traced";
import { outcomeOf, tracedEnv } from "./traced";

/** How long after a change an undelivered outbox row is retried by alarm at the latest (plus up to as much again, jitter). */
const RELAY_BACKSTOP_MS = 5_000;
/** A relay that waits for a quiet moment still leaves at least this often under continuous load. */
const RELAY_MAX_DEFER_MS = 2_000;
/** Pause before a failed timed duty (e.g. a sweep that could not reach an order) runs again; doubles per failure in a row, jittered. */
const DUTY_RETRY_MS = 30_000;
const MAX_DUTY_RETRY_MS = 10 * 60_000;

/**
 * The narrow face an actor shows the modules that hold its concerns:
 * its storage, one way to change it atomically, the outbox, and the clock.
 * A module never sees the Durable Object itself.
 */
export interface ActorHost {
  readonly env: Env;
  /** The name the actor was reached by (see `Actor.name`), read when asked. */
  readonly name: string;
  readonly sql: SqlStorage;
  /** Declares the module's tables and indexes (created once, skipped on later starts). */
  readonly schema: ActorSchema;
  readonly outbox: Outbox;
  /** Runs a state change atomically: either all its writes and outbox rows land, or none. */
  transact<T>(change: () => T): T;
  /** Starts relaying what the last change wrote to the outbox, without waiting for it. */
  afterCommit(): void;
  /** Relays now and waits for it. */
  relayNow(): Promise<void>;
  /** Makes sure the alarm fires for the actor's next duty or outbox retry. */
  reschedule(options?: { notBefore?: number; exact?: boolean }): void;
  /** The time, in ms since the epoch. */
  now(): number;
}

/**
 * What the cart, SKU and order actors share: SQLite storage, the outbox and
 * its relay, and one alarm that serves both the relay backstop and the
 * actor's own timed duties (expiry, reservation sweeps).
 *
 * The rule every subclass follows: a state change is one synchronous
 * `transact()` (check, write, outbox rows; no await inside), then
 * `afterCommit()` starts the relay without waiting for it.
 */
export abstract class Actor extends DurableObject<Env> {
  protected readonly sql: SqlStorage;
  protected readonly schema: ActorSchema;
  protected readonly outbox: Outbox;
  /** What this actor's modules work through. */
  protected readonly host: ActorHost;
  private readonly relayer: SingleFlight;
  /**
   * The alarm time we last set; undefined until we set one in this instance.
   * Not read from storage at start-up (that read costs more than an actor's
   * first request); the first reschedule simply sets the alarm it needs.
   */
  private alarmAt: number | undefined = undefined;
  /** Timed duties that failed in a row (in memory: a restart starts over, which the jitter spreads out). */
  private dutyFailures = 0;
  /** See `name`. */
  private readonly storedName: string | null;
  /**
   * 0: relay right after each commit. > 0: relay once no commit came for this
   * long (at most RELAY_MAX_DEFER_MS after the first unrelayed one), so a
   * burst's events leave in a few large batches after it and the consumer's
   * work does not compete with the burst on the same machine (stock actors).
   */
  protected relayQuietMs = 0;
  /**
   * How long after a change its undelivered outbox rows wait for the backstop alarm (plus up to
   * as much again, jitter). The alarm is set with the change and kept while it is ahead, so a run
   * of changes inside this window shares one alarm: a set, a firing and a reset of the
   * scheduler's storage, and an actor wake-up. Stock and order actors keep it short; a cart,
   * whose events are history and whose relay normally lands within a second, takes a minute.
   */
  protected relayBackstopMs = RELAY_BACKSTOP_MS;
  private quietTimer: ReturnType<typeof setTimeout> | null = null;
  /** How far this actor's clock runs ahead of real time (tests and development only: clock.ts). */
  private clockOffsetMs = 0;
  private firstUnrelayedAt = 0;

  /** The actor kind in log lines (`cart`, `sku`, `order`, ...): `{kind}:{name}` names the actor (see `logName`). */
  protected abstract readonly logKind: string;

  constructor(ctx: DurableObjectState, env: Env) {
    // Calls this actor makes to other actors carry the request id it serves (traced.ts).
    super(ctx, tracedEnv(env));
    this.sql = ctx.storage.sql;
    this.schema = new ActorSchema(this.sql);
    this.storedName = rememberName(this.sql, this.schema, ctx.id.name);
    if (clockAdjustable(env)) this.clockOffsetMs = readClockOffset(this.sql, this.schema);
    this.outbox = new Outbox(this.sql, this.outboxSinks(), this.schema, { keepSentMs: outboxKeepSentMs(env) });
    // Events an earlier run of the runtime sent and may have lost with its queue leave with an alarm now.
    if (this.outbox.replayedOnStart) {
      this.alarmAt = this.now();
      void ctx.storage.setAlarm(this.alarmAt - this.clockOffsetMs);
    }
    this.relayer = new SingleFlight(async () => {
      await this.outbox.relay();
      // The backstop alarm stays where it is (moving it costs a storage write per change): when it
      // fires it deletes the delivered rows, unless a later change did, and sets the exact next time.
      this.reschedule();
    });
    const actor = this;
    this.host = {
      env: this.env,
      get name() {
        return actor.name;
      },
      sql: this.sql,
      schema: this.schema,
      outbox: this.outbox,
      transact: (change) => this.transact(change),
      afterCommit: () => this.afterCommit(),
      relayNow: () => this.relayNow(),
      reschedule: (options) => this.reschedule(options),
      now: () => this.now(),
    };
  }

  /**
   * The host plus what one actor's modules need beyond it. Getters (`name` among them) stay
   * getters, read when a module asks and not here: an actor woken by its alarm before anyone
   * named it still starts.
   */
  protected hostWith<H extends ActorHost>(extra: Omit<H, keyof ActorHost>): H {
    return Object.defineProperties(
      {},
      { ...Object.getOwnPropertyDescriptors(this.host), ...Object.getOwnPropertyDescriptors(extra) },
    ) as H;
  }

  /** The actor's time, in ms since the epoch: every duty and module reads it (through `host.now()`). */
  protected now(): number {
    return Date.now() + this.clockOffsetMs;
  }

  /** How log lines name this actor: `{kind}:{name}` (`cart:user:alice`, `order:ord_…`). */
  protected logName(): string {
    return `${this.logKind}:${this.storedName ?? this.ctx.id.toString()}`;
  }

  /**
   * A call made while a request is served (traced.ts): runs `method` in that
   * request's log context, so its lines and the events it writes carry the
   * request id, and logs one line with the call's outcome and duration.
   */
  async traced(context: TraceContext, method: string, args: unknown[]): Promise<unknown> {
    const run = (this as unknown as Record<string, unknown>)[method];
    if (typeof run !== "function" || method === "constructor" || method === "traced" || method.startsWith("_"))
      throw new Error(`${this.constructor.name} has no method ${method}`);
    const started = Date.now();
    return withLogContext({ requestId: context.requestId, actor: this.logName() }, async () => {
      try {
        const result: unknown = await run.apply(this, args);
        log.info(method, { outcome: outcomeOf(result), durationMs: Date.now() - started });
        return result;
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        log.warn(method, {
          outcome: typeof code === "string" ? code : "error",
          durationMs: Date.now() - started,
          error: errorText(err),
        });
        throw err;
      }
    });
  }

  /**
   * Tests and development only (refused elsewhere): moves this actor's clock `ms` forward, kept across
   * eviction, and moves its alarm to match. Returns how far ahead of real time the clock now runs.
   */
  async advanceClock(ms: number): Promise<number> {
    if (!clockAdjustable(this.env))
      throw new Error("an actor's clock can be moved only in a test or development environment");
    if (!Number.isInteger(ms) || ms < 0) throw new Error("advanceClock takes a whole, non-negative number of ms");
    this.clockOffsetMs += ms;
    writeClockOffset(this.sql, this.schema, this.clockOffsetMs);
    this.reschedule({ exact: true });
    return this.clockOffsetMs;
  }

  /**
   * The name this actor was reached by (`getByName`). workerd does not give it
   * to an actor woken by its alarm after a restart or eviction, so the first
   * request that names the actor stores it, and every later start reads it
   * back (docs/invariants.md 9: an actor knows who it is from its own storage).
   */
  protected get name(): string {
    if (this.storedName === null)
      throw new Error(
        `${this.constructor.name} ${this.ctx.id.toString()} does not know its name (never reached by name)`,
      );
    return this.storedName;
  }

  /** When this actor next has timed work of its own (null = none). */
  protected abstract nextDutyAt(): number | null;

  /** Does the actor's timed work that is due; must be idempotent (alarms arrive at least once). */
  protected abstract runDuties(now: number): Promise<void>;

  /** Delivers a command from this actor's outbox to its target. */
  protected runCommand(command: Command): Promise<void> {
    return Promise.reject(new Error(`${this.constructor.name} has no command ${command.name}`));
  }

  /**
   * Runs a state change atomically: either all its writes and outbox rows
   * land, or none. Outbox rows delivered since the last change are deleted
   * in the same transaction (no commit of their own).
   */
  protected transact<T>(change: () => T): T {
    const delivered = this.outbox.deliveredRows();
    let result: T;
    try {
      result = this.ctx.storage.transactionSync(() => {
        this.outbox.deleteDelivered(delivered);
        return change();
      });
    } catch (err) {
      this.schema.forget();
      this.onRollback();
      throw err;
    }
    this.outbox.forget(delivered);
    return result;
  }

  /** Storage rolled back: drop in-memory state that may have run ahead of it. */
  protected onRollback(): void {}

  /** Starts relaying what the last change wrote to the outbox, without waiting for it. */
  protected afterCommit(): void {
    this.reschedule();
    if (this.relayQuietMs > 0) this.relayWhenQuiet();
    else this.relayer.kick();
  }

  private relayWhenQuiet(): void {
    const now = Date.now();
    if (this.quietTimer) clearTimeout(this.quietTimer);
    else this.firstUnrelayedAt = now;
    const wait = Math.max(0, Math.min(this.relayQuietMs, this.firstUnrelayedAt + RELAY_MAX_DEFER_MS - now));
    this.quietTimer = setTimeout(() => {
      this.quietTimer = null;
      this.relayer.kick();
    }, wait);
  }

  /** Relays now and waits for it, for callers whose answer depends on delivery (e.g. checkout's cart update). */
  protected relayNow(): Promise<void> {
    return this.relayer.run();
  }

  override alarm(): Promise<void> {
    return withLogContext({ actor: this.logName() }, () => this.runAlarm());
  }

  private async runAlarm(): Promise<void> {
    const now = this.now();
    this.alarmAt = undefined;
    let notBefore = 0;
    try {
      await this.runDuties(now);
      this.dutyFailures = 0;
    } catch (err) {
      // Retried by our own alarm below, after a growing jittered pause (actors that failed
      // together, e.g. on one outage, must not all retry together), not by the runtime's retries.
      this.dutyFailures++;
      const pause = Math.min(MAX_DUTY_RETRY_MS, DUTY_RETRY_MS * 2 ** (this.dutyFailures - 1));
      notBefore = now + Math.round(pause * (0.5 + Math.random()));
      log.error("timed duty failed", {
        outcome: "retry",
        failuresInARow: this.dutyFailures,
        retryInS: Math.round((notBefore - now) / 1000),
        error: errorText(err),
      });
    }
    await this.relayer.run();
    if (this.outbox.cleanupDue()) this.transact(() => undefined);
    this.reschedule({ notBefore, exact: true });
  }

  /**
   * Makes sure an alarm fires by the earliest of: the next duty, the next
   * outbox retry. An alarm that is already earlier is kept: firing early is
   * harmless (the handler reschedules) and saves a storage write per change.
   * `exact` (after the outbox drained) moves it later too, or removes it, so
   * an actor does not wake up for a relay that already happened.
   */
  protected reschedule(options: { notBefore?: number; exact?: boolean } = {}): void {
    const notBefore = options.notBefore ?? 0;
    const now = this.now();
    const candidates: number[] = [];
    const duty = this.nextDutyAt();
    if (duty !== null) candidates.push(Math.max(duty, notBefore));
    const retry = this.outbox.nextAttemptAt();
    if (retry !== null)
      candidates.push(
        retry === 0
          ? now + this.relayBackstopMs + Math.round(Math.random() * this.relayBackstopMs)
          : Math.max(retry, now),
      );
    if (candidates.length === 0) {
      if (options.exact && this.alarmAt !== undefined) {
        this.alarmAt = undefined;
        void this.ctx.storage.deleteAlarm();
      }
      return;
    }
    const next = Math.min(...candidates);
    if (this.alarmAt === next) return;
    if (!options.exact && this.alarmAt !== undefined && this.alarmAt <= next && this.alarmAt > now) return;
    this.alarmAt = next;
    void this.ctx.storage.setAlarm(next - this.clockOffsetMs);
  }

  private outboxSinks(): OutboxSinks {
    const queues: Record<QueueName, Queue> = {
      "cart-events": this.env.CART_EVENTS,
      "order-events": this.env.ORDER_EVENTS,
    };
    return {
      sendEvents: async (queue: QueueName, events: Envelope[]) => {
        await queues[queue].sendBatch(events.map((body) => ({ body, contentType: "json" as const })));
        recordRelay(this.env, events);
        flushSoon(this.env, (work) => this.ctx.waitUntil(work));
      },
      runCommand: (command) => this.runCommand(command),
    };
  }
}

/** Stores the actor's name the first time it is given; returns the name from storage otherwise. */
function rememberName(sql: SqlStorage, schema: ActorSchema, given: string | undefined): string | null {
  schema.ensure(
    "CREATE TABLE IF NOT EXISTS actor_identity (id INTEGER PRIMARY KEY CHECK (id = 1), name TEXT NOT NULL)",
  );
  const stored = sql.exec<{ name: string }>("SELECT name FROM actor_identity WHERE id = 1").toArray()[0]?.name ?? null;
  if (given === undefined || given === stored) return stored;
  sql.exec(
    "INSERT INTO actor_identity (id, name) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name",
    given,
  );
  return given;
}
