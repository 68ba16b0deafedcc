// A line chart drawn as SVG (docs/decisions.md 20): a handful of series over a time window,
// a zero-based y axis with its top value, and a legend that says each series' figure in
// words (the total or the latest value), so the numbers are readable without the lines.
import { h } from "../shop/dom";

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 480;
const HEIGHT = 160;
const PAD = { left: 44, right: 8, top: 8, bottom: 20 };

export interface Series {
  /** Shown in the legend, and as the series' `data-series`. */
  name: string;
  color: string;
  dashed?: boolean;
  points: { at: number; value: number | null }[];
  /** What the legend says beside the name (e.g. "1,000 in 15 min", "latest 12 ms"). */
  figure: string;
  /** The figure as a number, for the page's own tests (`data-figure`). */
  value: number | null;
}

export interface ChartSpec {
  id: string;
  title: string;
  unit: string;
  from: number;
  to: number;
  series: Series[];
}

function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number>,
): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

/** 1, 2 or 5 times a power of ten, at least `max`: a y-axis top that reads well. */
export function niceCeiling(max: number): number {
  if (!(max > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 5, 10]) if (step * power >= max) return step * power;
  return 10 * power;
}

export function formatNumber(n: number): string {
  return n >= 100 || Number.isInteger(n) ? Math.round(n).toLocaleString("en-US") : n.toFixed(1);
}

/** The chart for `spec`: a figure with a caption, the plot and the legend. */
export function lineChart(spec: ChartSpec): HTMLElement {
  const values = spec.series.flatMap((s) => s.points.map((p) => p.value ?? 0));
  const top = niceCeiling(Math.max(0, ...values));
  const span = Math.max(1, spec.to - spec.from);
  const x = (at: number) => PAD.left + ((at - spec.from) / span) * (WIDTH - PAD.left - PAD.right);
  const y = (v: number) => HEIGHT - PAD.bottom - (v / top) * (HEIGHT - PAD.top - PAD.bottom);

  const plot = svg("svg", {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    role: "img",
    "aria-label": `${spec.title} (${spec.unit})`,
  });
  for (const v of [0, top / 2, top]) {
    plot.append(svg("line", { x1: PAD.left, x2: WIDTH - PAD.right, y1: y(v), y2: y(v), class: "grid" }));
    const label = svg("text", { x: PAD.left - 4, y: y(v) + 4, "text-anchor": "end", class: "axis" });
    label.textContent = formatNumber(v);
    plot.append(label);
  }
  const minutes = Math.round(span / 60_000);
  for (const [at, text, anchor] of [
    [spec.from, `−${minutes} min`, "start"],
    [spec.to, "now", "end"],
  ] as const) {
    const label = svg("text", { x: x(at), y: HEIGHT - 4, "text-anchor": anchor, class: "axis" });
    label.textContent = text;
    plot.append(label);
  }
  for (const s of spec.series) {
    // A gap (null) breaks the line: no data is not zero.
    let run: string[] = [];
    const flush = () => {
      if (run.length > 0)
        plot.append(
          svg("polyline", {
            points: run.join(" "),
            fill: "none",
            stroke: s.color,
            "stroke-width": 2,
            "stroke-dasharray": s.dashed ? "5 3" : "none",
            "data-series": s.name,
          }),
        );
      run = [];
    };
    for (const p of s.points) {
      if (p.value === null) flush();
      else run.push(`${x(p.at).toFixed(1)},${y(p.value).toFixed(1)}`);
    }
    flush();
  }

  return h(
    "figure",
    { class: "chart", "data-testid": `chart-${spec.id}` },
    h("figcaption", {}, spec.title, " ", h("span", { class: "muted" }, `(${spec.unit})`)),
    plot,
    h(
      "ul",
      { class: "legend" },
      spec.series.length === 0
        ? h("li", { class: "muted" }, "no data in this window")
        : spec.series.map((s) =>
            h(
              "li",
              { "data-series": s.name, "data-figure": s.value ?? "" },
              h("span", { class: `swatch${s.dashed ? " dashed" : ""}`, style: `border-color:${s.color}` }),
              `${s.name}: `,
              h("strong", {}, s.figure),
            ),
          ),
    ),
  );
}
