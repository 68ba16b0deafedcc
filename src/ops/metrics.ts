/**
 * Metrics (docs/operations.md, Metrics): small data points written from the request path, the
 * actors' relay and the consumer. On Cloudflare each point goes to Workers Analytics Engine
 * (`writeDataPoint`, no I/O on the request path); locally, where there is no Analytics Engine,
 * each isolate adds its points up per 5 s bucket and series and writes them to Postgres
 * (`ops_metrics`) now and then, off the request path, never one write per request.
 * METRICS=off records nothing (the overhead measurement's "off" side).
 */
import type { Database } from "../db/client";
import { withDatabase } from "../db/client";
import { opsMetrics } from "../db/tables";
import { bucketOf, emptyHistogram } from "./histogram";
import { log } from "../log/logger";
import { errorText } from "../log/redact";

/** One name per series; the dimensions each takes are in docs/operations.md. */
export type MetricName =
  | "request" // dim1 route ("POST /v1/cart/items"), dim2 status; value: duration ms
  | "flash" // dim1 skuId, dim2 "win" or the refusal code; value: duration ms
  | "refusal" // dim1 code, dim2 route (checkout and flash refusals)
  | "reservation" // dim1 made | committed | released | expired, dim2 skuId; value: units
  | "outbox" // dim1 actor kind (cart | sku | order); value: relay lag ms, max: events in the relay (depth)
  | "consumer" // dim1 queue, dim2 ok | retried | dead_letter; value: batch duration ms, count: messages
  | "landed" // dim1 queue; value: lag ms from occurredAt to landing, max: newest occurredAt landed (epoch ms)
  | "dead_letter" // dim1 queue
  | "cart_edit"; // dim1 route

export interface DataPoint {
  metric: MetricName;
  dim1?: string;
  dim2?: string;
  /** The measured value (a duration in ms, a size): summed, and its max kept. */
  value?: number;
  /** How many events this point stands for (default 1). */
  count?: number;
  /** A second value whose max is what matters (an outbox depth, a newest time). */
  max?: number;
  /** Keep the value's distribution (durations: p50/p99). */
  histogram?: boolean;
}

export type MetricsSink = "off" | "analytics-engine" | "postgres";

/** Points are added up per bucket of this many seconds (the ops page's step). */
export const STEP_SECONDS = 5;
/**
 * An isolate writes its points at most this often (and at once past MAX_BUFFERED series). Each
 * write on its own connection costs a connection set-up, so the queue consumer writes them on the
 * connection it already holds when it can (flushMetrics with `db`).
 */
const FLUSH_EVERY_MS = 2_000;
const MAX_BUFFERED = 2_000;
/** A label longer than this is cut (a path parameter is the client's to choose). */
const MAX_LABEL = 96;

/**
 * METRICS: "off", "postgres" or "analytics-engine"; unset: Postgres where the service runs locally
 * (ENVIRONMENT development or test), Analytics Engine (the OPS_METRICS binding) elsewhere.
 */
export function metricsSink(env: Env): MetricsSink {
  // The same env object serves an isolate's requests: decided once per env, not per data point.
  if (env === sinkOf.env) return sinkOf.sink;
  const sink = chooseSink(env);
  sinkOf = { env, sink };
  return sink;
}

let sinkOf: { env: Env | null; sink: MetricsSink } = { env: null, sink: "off" };

function chooseSink(env: Env): MetricsSink {
  const setting = env.METRICS?.trim().toLowerCase();
  if (setting === "off") return "off";
  const local = env.ENVIRONMENT === "development" || env.ENVIRONMENT === "test";
  if (setting === "postgres" || (!setting && local)) return env.DATABASE_URL ? "postgres" : "off";
  return env.OPS_METRICS ? "analytics-engine" : "off";
}

interface Series {
  at: string;
  metric: MetricName;
  dim1: string;
  dim2: string;
  count: number;
  total: number;
  max: number;
  histogram: number[] | null;
}

/** This isolate's points not yet written, by bucket and series. */
let buffer = new Map<string, Series>();
let lastFlushAt = 0;
let flushing: Promise<void> | null = null;

function label(s: string | undefined): string {
  if (!s) return "";
  return s.length > MAX_LABEL ? s.slice(0, MAX_LABEL) : s;
}

/** The current bucket's start, as text (made once per bucket, not per point). */
let bucket = { from: 0, to: 0, at: "" };

function bucketStart(now: number): string {
  if (now < bucket.from || now >= bucket.to) {
    const from = now - (now % (STEP_SECONDS * 1000));
    bucket = { from, to: from + STEP_SECONDS * 1000, at: new Date(from).toISOString() };
  }
  return bucket.at;
}

/** Records one data point (a no-op with metrics off). Never throws. */
export function record(env: Env, point: DataPoint, now = Date.now()): void {
  const sink = metricsSink(env);
  if (sink === "off") return;
  const dim1 = label(point.dim1);
  const dim2 = label(point.dim2);
  const value = point.value ?? 0;
  const count = point.count ?? 1;
  if (sink === "analytics-engine") {
    try {
      env.OPS_METRICS?.writeDataPoint({
        indexes: [point.metric],
        blobs: [point.metric, dim1, dim2],
        doubles: [value, count, point.max ?? 0],
      });
    } catch (err) {
      // A full invocation (250 points) or a bad point must never fail the request.
      log.warn("metrics: data point dropped", { error: errorText(err) });
    }
    return;
  }
  const at = bucketStart(now);
  const key = `${at}\u0001${point.metric}\u0001${dim1}\u0001${dim2}`;
  let series = buffer.get(key);
  if (!series) {
    series = {
      at,
      metric: point.metric,
      dim1,
      dim2,
      count: 0,
      total: 0,
      max: 0,
      histogram: point.histogram ? emptyHistogram() : null,
    };
    buffer.set(key, series);
  }
  series.count += count;
  series.total += value;
  series.max = Math.max(series.max, point.max ?? value);
  if (series.histogram) {
    const b = bucketOf(value);
    series.histogram[b] = (series.histogram[b] ?? 0) + count;
  }
}

/**
 * Starts writing the buffered points when they are due (a second since the last write, or a full
 * buffer), through `waitUntil` so the request that triggers it does not wait. Call after recording.
 */
export function flushSoon(env: Env, waitUntil: (work: Promise<unknown>) => void, now = Date.now()): void {
  if (flushDue(now)) waitUntil(flushMetrics(env));
}

/** Whether this isolate has points to write and it is time (no write under way). */
export function flushDue(now = Date.now()): boolean {
  if (buffer.size === 0 || flushing) return false;
  return now - lastFlushAt >= FLUSH_EVERY_MS || buffer.size >= MAX_BUFFERED;
}

/**
 * Writes this isolate's buffered points now (waits for a write already under way first), on `db`
 * when the caller holds a connection, else on one of its own. Never throws.
 */
export async function flushMetrics(env: Env, db?: Database): Promise<void> {
  while (flushing) await flushing;
  if (buffer.size === 0 || metricsSink(env) !== "postgres") return;
  const rows = [...buffer.values()];
  buffer = new Map();
  lastFlushAt = Date.now();
  const write = async (d: Database) => {
    for (let i = 0; i < rows.length; i += 500) await d.insert(opsMetrics).values(rows.slice(i, i + 500));
  };
  flushing = (db ? write(db) : withDatabase(env, write))
    .catch((err) => {
      // Metrics are best effort: a Postgres outage loses this second's points, never a request.
      log.warn("metrics: series not written", { series: rows.length, error: errorText(err) });
    })
    .finally(() => {
      flushing = null;
    });
  await flushing;
}
