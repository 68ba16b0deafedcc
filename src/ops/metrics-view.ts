/**
 * The metrics as the ops page reads them (GET /v1/admin/metrics): 5 s buckets of requests, p50/p99,
 * 5xx, sheds, flash attempts and wins per SKU and cart edits, the refusals by code, the queue lag
 * and the outbox per actor kind; summed from the local sink (ops_metrics), every isolate's rows.
 */
import { and, gte, inArray, lt } from "drizzle-orm";
import type { Database } from "../db/client";
import { opsMetrics } from "../db/tables";
import { addInto, emptyHistogram, quantileMs } from "./histogram";
import type { MetricName } from "./metrics";
import { STEP_SECONDS } from "./metrics";

/** The window's default length and the furthest back it may start. */
export const DEFAULT_WINDOW_MS = 15 * 60_000;
export const MAX_WINDOW_MS = 60 * 60_000;
/** Routes whose refusals the view counts (the buy paths). */
const BUY_ROUTE = /^POST \/v1\/(checkout|flash\/)/;
/** The outbox figures cover the window's last minute. */
const OUTBOX_RECENT_MS = 60_000;

export interface MetricsBucket {
  at: string;
  requests: number;
  status5xx: number;
  shed: number;
  p50Ms: number | null;
  p99Ms: number | null;
  flash: Record<string, { attempts: number; wins: number }>;
  cartEdits: number;
}

export interface MetricsView {
  since: string;
  until: string;
  stepSeconds: number;
  series: MetricsBucket[];
  refusals: Record<string, number>;
  queueLagMs: number | null;
  outbox: Record<string, { depth: number; lagMs: number }> | null;
}

const READ: MetricName[] = ["request", "refusal", "flash", "cart_edit", "outbox", "landed"];

interface Working extends MetricsBucket {
  histogram: number[];
}

/** The window [since, now], `since` floored to a bucket and at most MAX_WINDOW_MS back. */
export function metricsWindow(since: number | undefined, now: number): { since: number; until: number } {
  const step = STEP_SECONDS * 1000;
  const from = Math.max(since ?? now - DEFAULT_WINDOW_MS, now - MAX_WINDOW_MS);
  return { since: Math.min(from, now) - (Math.min(from, now) % step), until: now };
}

export async function metricsView(db: Database, window: { since: number; until: number }): Promise<MetricsView> {
  const step = STEP_SECONDS * 1000;
  const rows = await db
    .select()
    .from(opsMetrics)
    .where(
      and(
        gte(opsMetrics.at, new Date(window.since).toISOString()),
        lt(opsMetrics.at, new Date(window.until + step).toISOString()),
        inArray(opsMetrics.metric, READ),
      ),
    );
  const buckets = new Map<number, Working>();
  for (let at = window.since; at <= window.until; at += step) {
    buckets.set(at, {
      at: new Date(at).toISOString(),
      requests: 0,
      status5xx: 0,
      shed: 0,
      p50Ms: null,
      p99Ms: null,
      flash: {},
      cartEdits: 0,
      histogram: emptyHistogram(),
    });
  }
  const refusals: Record<string, number> = {};
  const outbox: Record<string, { depth: number; lagSum: number; relays: number }> = {};
  let newestLanded = 0;
  for (const row of rows) {
    const b = buckets.get(Date.parse(row.at));
    if (!b) continue;
    switch (row.metric) {
      case "request": {
        b.requests += row.count;
        const status = Number(row.dim2);
        if (status >= 500) b.status5xx += row.count;
        if (status === 429) b.shed += row.count;
        if (row.histogram) addInto(b.histogram, row.histogram);
        break;
      }
      case "refusal":
        if (row.dim1 === "OVERLOADED") b.shed += row.count;
        if (BUY_ROUTE.test(row.dim2)) refusals[row.dim1] = (refusals[row.dim1] ?? 0) + row.count;
        break;
      case "flash": {
        const sku = b.flash[row.dim1] ?? { attempts: 0, wins: 0 };
        sku.attempts += row.count;
        if (row.dim2 === "win") sku.wins += row.count;
        b.flash[row.dim1] = sku;
        break;
      }
      case "cart_edit":
        b.cartEdits += row.count;
        break;
      case "outbox": {
        if (Date.parse(row.at) < window.until - OUTBOX_RECENT_MS) break;
        const kind = outbox[row.dim1] ?? { depth: 0, lagSum: 0, relays: 0 };
        kind.depth = Math.max(kind.depth, row.max);
        kind.lagSum += row.total;
        kind.relays += row.count;
        outbox[row.dim1] = kind;
        break;
      }
      case "landed":
        newestLanded = Math.max(newestLanded, row.max);
        break;
    }
  }
  const series = [...buckets.values()].map(({ histogram, ...bucket }) => ({
    ...bucket,
    p50Ms: quantileMs(histogram, 0.5),
    p99Ms: quantileMs(histogram, 0.99),
  }));
  const kinds = Object.entries(outbox);
  return {
    since: new Date(window.since).toISOString(),
    until: new Date(window.until).toISOString(),
    stepSeconds: STEP_SECONDS,
    series,
    refusals,
    queueLagMs: newestLanded > 0 ? Math.max(0, window.until - newestLanded) : null,
    outbox:
      kinds.length === 0
        ? null
        : Object.fromEntries(
            ["cart", "sku", "order"].map((kind) => {
              const k = outbox[kind];
              return [kind, { depth: k?.depth ?? 0, lagMs: k && k.relays > 0 ? Math.round(k.lagSum / k.relays) : 0 }];
            }),
          ),
  };
}
