// The live charts (GET /v1/admin/metrics, last 15 minutes in buckets of a few seconds):
// requests/s, p50/p99 latency, 5xx and sheds (503 OVERLOADED + 429), flash attempts and wins
// per SKU, and queue lag. The API gives the lag as of now only, so the page keeps the lag it
// has seen for the window itself: the lag line starts when the page was opened.
import { h, mount } from "../shop/dom";
import type { Metrics, MetricsBucket } from "./api";
import { formatNumber, lineChart, type Series } from "./chart";

export const WINDOW_MS = 15 * 60_000;
/** Flash charts show the SKUs with the most attempts in the window. */
const MAX_FLASH_SKUS = 4;
const PALETTE = ["#0b57d0", "#b3261e", "#0d652d", "#8a5300", "#6750a4", "#00677d"];

/** Queue lag and outbox lag per actor kind as the page saw them. */
const lagHistory: { at: number; queue: number | null; outbox: Record<string, number> }[] = [];

function recordLag(m: Metrics, now: number): void {
  const outbox: Record<string, number> = {};
  for (const [kind, o] of Object.entries(m.outbox ?? {})) outbox[kind] = o.lagMs;
  lagHistory.push({ at: now, queue: m.queueLagMs, outbox });
  while (lagHistory.length > 0 && lagHistory[0]!.at < now - WINDOW_MS) lagHistory.shift();
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/**
 * One series of the buckets. Its legend figure: the window's total (counts), or the latest
 * bucket with the window's peak (rates and latencies: "now" alone reads 0 once a burst is over).
 */
function bucketSeries(
  m: Metrics,
  name: string,
  color: string,
  value: (b: MetricsBucket) => number | null,
  figure: "total" | "now",
  unit = "",
): Series {
  const points = m.series.map((b) => ({ at: Date.parse(b.at), value: value(b) }));
  const known = points.map((p) => p.value).filter((v): v is number => v !== null);
  if (figure === "total") {
    const total = sum(known);
    return { name, color, points, figure: `${formatNumber(total)}${unit} in the window`, value: total };
  }
  const latest = known.at(-1) ?? null;
  const peak = Math.max(0, ...known);
  const words = latest === null ? "no data" : `${formatNumber(latest)}${unit} now, peak ${formatNumber(peak)}${unit}`;
  return { name, color, points, figure: words, value: latest };
}

/** The flash SKUs of the window, most attempted first. */
function flashSkus(m: Metrics): string[] {
  const attempts = new Map<string, number>();
  for (const b of m.series)
    for (const [sku, f] of Object.entries(b.flash)) attempts.set(sku, (attempts.get(sku) ?? 0) + f.attempts);
  return [...attempts.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, MAX_FLASH_SKUS)
    .map(([sku]) => sku);
}

export function drawCharts(target: HTMLElement, m: Metrics, now = Date.now()): void {
  recordLag(m, now);
  const from = Date.parse(m.since);
  const to = Date.parse(m.until);
  const step = m.stepSeconds || 1;
  const flash = flashSkus(m).flatMap((sku, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    return [
      bucketSeries(m, `attempts ${sku}`, color, (b) => b.flash[sku]?.attempts ?? 0, "total"),
      { ...bucketSeries(m, `wins ${sku}`, color, (b) => b.flash[sku]?.wins ?? 0, "total"), dashed: true },
    ];
  });
  const kinds = [...new Set(lagHistory.flatMap((l) => Object.keys(l.outbox)))];
  const lag: Series[] = [
    {
      name: "Postgres behind",
      color: PALETTE[0]!,
      points: lagHistory.map((l) => ({ at: l.at, value: l.queue === null ? null : l.queue / 1000 })),
      figure: m.queueLagMs === null ? "no events yet" : `${formatNumber(m.queueLagMs / 1000)} s now`,
      value: m.queueLagMs,
    },
    ...kinds.map((kind, i) => ({
      name: `${kind} outbox`,
      color: PALETTE[(i + 1) % PALETTE.length]!,
      dashed: true,
      points: lagHistory.map((l) => ({ at: l.at, value: kind in l.outbox ? l.outbox[kind]! / 1000 : null })),
      figure: m.outbox?.[kind]
        ? `${formatNumber(m.outbox[kind].lagMs / 1000)} s, ${m.outbox[kind].depth} queued`
        : "no data",
      value: m.outbox?.[kind]?.lagMs ?? null,
    })),
  ];
  const refusals = Object.entries(m.refusals).sort((a, b) => b[1] - a[1]);
  mount(
    target,
    lineChart({
      id: "requests",
      title: "Requests",
      unit: "per second",
      from,
      to,
      series: [bucketSeries(m, "requests/s", PALETTE[0]!, (b) => b.requests / step, "now")],
    }),
    lineChart({
      id: "latency",
      title: "Latency",
      unit: "ms",
      from,
      to,
      series: [
        bucketSeries(m, "p50", PALETTE[2]!, (b) => b.p50Ms, "now", " ms"),
        bucketSeries(m, "p99", PALETTE[1]!, (b) => b.p99Ms, "now", " ms"),
      ],
    }),
    lineChart({
      id: "errors",
      title: "5xx and sheds",
      unit: `per ${step} s`,
      from,
      to,
      series: [
        bucketSeries(m, "5xx", PALETTE[1]!, (b) => b.status5xx, "total"),
        { ...bucketSeries(m, "shed (503 OVERLOADED, 429)", PALETTE[3]!, (b) => b.shed, "total"), dashed: true },
      ],
    }),
    lineChart({ id: "flash", title: "Flash attempts and wins", unit: `per ${step} s`, from, to, series: flash }),
    lineChart({ id: "lag", title: "Queue lag", unit: "seconds", from: now - WINDOW_MS, to: now, series: lag }),
    h(
      "section",
      { class: "chart refusals", "data-testid": "refusals", "aria-label": "Refusals by code" },
      h("h3", {}, "Refusals by code"),
      refusals.length === 0
        ? h("p", { class: "muted" }, "none in the window")
        : h(
            "ul",
            {},
            refusals.map(([code, n]) => h("li", { "data-code": code }, h("code", {}, code), ` ${formatNumber(n)}`)),
          ),
    ),
  );
}
