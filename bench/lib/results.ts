// The run's results: the console/Markdown tables and a hand-written SVG chart (attempts/s
// and p99 per target for the flash sale, ops/s per operation for the cart traffic).
import type { CartResult, CartScenario } from "../cart.ts";
import type { Check } from "../config.ts";
import type { FlashResult, FlashScenario } from "../flash-sale.ts";
import type { PromotionResult, PromotionScenario } from "../promotion.ts";
import type { OverloadResult } from "../overload.ts";
import { goalRows, goals, ratio } from "./goals.ts";
import type { HealthProbe } from "./health.ts";
import type { MachineInfo } from "./machine.ts";

export interface RunResults {
  machine: MachineInfo;
  code: { commit: string; srcDirty: boolean } | null;
  flash?: { scenario: FlashScenario; targets: FlashResult[] };
  cart?: { scenario: CartScenario; targets: CartResult[] };
  promotion?: { scenario: PromotionScenario; targets: PromotionResult[] };
  overload?: OverloadResult;
}

/** Every figure of the run against its ceiling and the trivial Worker, with the goals. */
export const runGoals = (res: RunResults) =>
  goals({ flash: res.flash?.targets, cart: res.cart?.targets, overload: res.overload });

const rpsIn = (all: FlashResult[], name: string) => all.find((x) => x.target === name)?.rps;
const opRps = (all: CartResult[], name: string, op: "get" | "add" | "set") =>
  all.find((x) => x.target === name)?.byOp[op].rps;
/** "0.33x floor · 0.72x actor-write", for the chart. */
const ratioNote = (rps: number, floor: number | undefined, ceiling: number | undefined, ceilingName: string) =>
  `${ratio(rps, floor)} floor · ${ratio(rps, ceiling)} ${ceilingName}`;

/** A flash row's attempts/s as ratios: to the floor, and (for the services) to actor-write. */
function flashRatios(r: FlashResult, all: FlashResult[]): string {
  const vsFloor = r.target === "floor" ? "1x" : ratio(r.rps, rpsIn(all, "floor"));
  return r.reference ? vsFloor : `${vsFloor} · ${ratio(r.rps, rpsIn(all, "actor-write"))}`;
}

/** A cart op's ops/s with its ratios to the floor and to cart-actors. */
function cartCell(r: CartResult, op: "get" | "add" | "set", all: CartResult[]): string {
  const rps = r.byOp[op].rps;
  return r.reference
    ? String(rps)
    : `${rps} (${ratio(rps, opRps(all, "floor", op))} · ${ratio(rps, opRps(all, "cart-actors", op))})`;
}

const na = (v: number | null | undefined, unit = "") => (v === null || v === undefined ? "n/a" : `${v}${unit}`);
/** The slowest probe; a probe gives up after 10 s. The baselines have no /healthz (their 404 still shows how fast they answer). */
const healthMax = (h: HealthProbe) => (h.probes === 0 ? "n/a" : h.maxMs >= 10_000 ? "≥ 10000" : String(h.maxMs));

export function flashRows(results: FlashResult[]): string[][] {
  const head = [
    "target",
    "attempts/s",
    "x floor · x actor-write",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "201",
    "SOLD_OUT",
    "LIMIT_EXCEEDED",
    "other",
    "oversell",
    "orders in Postgres",
    "last order landed",
    "peak RSS MiB",
    "/healthz max ms",
    "verified",
  ];
  return [
    head,
    ...results.map((r) => [
      r.target,
      String(r.rps),
      flashRatios(r, results),
      r.latencyMs.p50.toFixed(1),
      r.latencyMs.p95.toFixed(1),
      r.latencyMs.p99.toFixed(1),
      String(r.counts.created),
      String(r.counts.soldOut),
      String(r.counts.limitExceeded),
      String(r.counts.other),
      na(r.oversell),
      na(r.ordersInPostgres),
      r.lastOrderSeconds === null ? "n/a" : `+${r.lastOrderSeconds} s`,
      na(r.peakRss?.totalMiB),
      healthMax(r.health),
      r.reference ? "n/a" : r.verified ? "yes" : "NO",
    ]),
  ];
}

export function cartRows(results: CartResult[]): string[][] {
  const head = [
    "target",
    "ops/s",
    "GET /v1/cart /s (x floor · x cart-actors)",
    "p50 / p99 ms",
    "from snapshot",
    "add /s (x floor · x cart-actors)",
    "p50 / p99 ms",
    "set qty /s (x floor · x cart-actors)",
    "p50 / p99 ms",
    "failed",
    "/healthz max ms",
    "peak RSS MiB",
    "edits lost / doubled",
  ];
  return [
    head,
    ...results.map((r) => {
      const failed = Object.values(r.failures).reduce((a, b) => a + b, 0);
      const lost = r.checks.find((c) => c.name.startsWith("no edit lost"));
      const doubled = r.checks.find((c) => c.name.startsWith("no edit doubled"));
      return [
        r.target,
        String(r.rps),
        cartCell(r, "get", results),
        `${r.byOp.get.p50} / ${r.byOp.get.p99}`,
        r.reference ? "n/a" : `${Math.round((100 * r.getsFromSnapshot) / Math.max(1, r.byOp.get.n))}%`,
        cartCell(r, "add", results),
        `${r.byOp.add.p50} / ${r.byOp.add.p99}`,
        cartCell(r, "set", results),
        `${r.byOp.set.p50} / ${r.byOp.set.p99}`,
        String(failed),
        healthMax(r.health),
        na(r.peakRss?.totalMiB),
        lost && doubled ? `${/^(\d+)/.exec(lost.detail)?.[1]} / ${/^(\d+)/.exec(doubled.detail)?.[1]}` : "n/a",
      ];
    }),
  ];
}

export function promotionRows(results: PromotionResult[]): string[][] {
  const head = ["target", "path", "promotion", "attempts/s", "p50 ms", "p99 ms", "201", "refusals"];
  const rows = results.flatMap((r) =>
    r.phases.map((p) => [
      r.target,
      p.path,
      p.promotion ? "limited code" : "none",
      String(p.rps),
      String(p.latencyMs.p50),
      String(p.latencyMs.p99),
      String(p.created),
      Object.entries(p.refusals)
        .map(([k, v]) => `${k} ${v}`)
        .join(", "),
    ]),
  );
  return [head, ...rows];
}

export function overloadRows(o: OverloadResult): string[][] {
  return [
    [
      "answers/s",
      "shed (503/429)",
      "shed p50 / p99 / max ms",
      "no Retry-After",
      "admitted",
      "admitted p50 / p99 / max ms",
      "transport errors",
      "/healthz probes",
      "/healthz max ms",
      "healthy again after",
    ],
    [
      String(o.rps),
      String(o.shed.count),
      `${o.shed.p50} / ${o.shed.p99} / ${o.shed.max}`,
      String(o.shed.withoutRetryAfter),
      String(o.admitted.count),
      `${o.admitted.p50} / ${o.admitted.p99} / ${o.admitted.max}`,
      String(o.transportErrors),
      String(o.health.probes),
      healthMax(o.health),
      Number.isFinite(o.recoveredMs) ? `${o.recoveredMs} ms` : "not within 15 s",
    ],
  ];
}

export function consoleTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(rows[0]!), widths.map((w) => "-".repeat(w)).join("  "), ...rows.slice(1).map(line)].join("\n");
}

/** A section of the report: its heading, what was run, the table of results. */
function mdSection(heading: string, intro: string, rows: string[][]): string[] {
  return [heading, "", intro, "", ...mdTable(rows), ""];
}

/** A target's checks as a markdown list. */
function checkList(r: { target: string; checks: Check[] }): string[] {
  return [`- **${r.target}**`, ...r.checks.map((c) => `  - ${c.ok ? "ok" : "FAILED"}: ${c.name} (${c.detail})`)];
}

function mdTable(rows: string[][]): string[] {
  return [
    `| ${rows[0]!.join(" | ")} |`,
    `|${rows[0]!.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`,
    ...rows.slice(1).map((r) => `| ${r.join(" | ")} |`),
  ];
}

/** Each suite's section of latest.md: what ran, the table, and the checks. */
function flashSection({ scenario: s, targets }: NonNullable<RunResults["flash"]>): string[] {
  const md = mdSection(
    "## Flash sale",
    `One SKU with **${s.units}** units, purchase limit **${s.purchaseLimit}**; **${s.requests}** attempts (quantity 1) from **${s.buyers}** distinct buyers ` +
      `(${s.perBuyer} each, each with its own Idempotency-Key), **${s.concurrency}** concurrent clients, keep-alive; ${s.warmupRequests} warm-up attempts per target on another SKU. ` +
      `Seed ${s.seed}. Oversell = units the server's records hold beyond the stock. "Last order landed" = seconds after the last answer until the last order was in Postgres.`,
    flashRows(targets),
  );
  md.push(
    "Cores used per component during the measured phase (from /proc; 1.00 = one core), and peak RSS per process:",
    "",
  );
  for (const r of targets) {
    const cpu = r.cpu
      ? Object.entries(r.cpu.byComponent)
          .map(([k, v]) => `${k} ${v.toFixed(2)}`)
          .join(", ")
      : "n/a";
    const rss = r.peakRss
      ? Object.entries(r.peakRss.byProcess)
          .map(([k, v]) => `${k} ${v}`)
          .join(", ")
      : "n/a";
    md.push(`- **${r.target}**: ${cpu}. RSS MiB: ${rss}`);
  }
  md.push("", "Checks:", "");
  for (const r of targets) {
    if (!r.checks.length) continue;
    md.push(...checkList(r));
    if (r.counts.other) md.push(`  - other answers: ${JSON.stringify(r.otherBreakdown)}`);
  }
  md.push("");
  return md;
}

function cartSection({ scenario: s, targets }: NonNullable<RunResults["cart"]>): string[] {
  const md = mdSection(
    "## Cart traffic",
    `**${s.carts}** guest carts (warmed with one add each), **${s.clients}** concurrent clients, **${s.ops}** operations: ` +
      `${s.mix.get * 100}% \`GET /v1/cart\`, ${s.mix.add * 100}% add, ${s.mix.set * 100}% quantity change, over ${s.skus} SKUs. ` +
      "Each client edits its own carts one request at a time; afterwards every cart is read from its actor and compared line by line with the client's successful adds and sets. `/healthz` probed every second.",
    cartRows(targets),
  );
  for (const r of targets) {
    md.push(...checkList(r));
    if (Object.keys(r.failures).length) md.push(`  - non-2xx answers: ${JSON.stringify(r.failures)}`);
  }
  md.push("");
  return md;
}

function promotionSection({ scenario: s, targets }: NonNullable<RunResults["promotion"]>): string[] {
  const md = mdSection(
    "## Promotion",
    `**${s.attempts}** attempts per phase from as many buyers, **${s.concurrency}** concurrent clients: \`POST /v1/checkout\` (carts prepared before the clock starts) and flash buy-now, ` +
      `each against one code limited to **${s.limit}** redemptions (stock for everyone) and without a promotion (stock ${s.limit}), so both place the same number of orders.`,
    promotionRows(targets),
  );
  for (const r of targets) md.push(...checkList(r));
  md.push("");
  return md;
}

function overloadSection(o: OverloadResult): string[] {
  return mdSection(
    "## Overload",
    `**${o.clients}** keep-alive clients send cart traffic (60% GET, 40% add, 2,000 warm carts) as fast as they are answered for ${o.seconds} s ` +
      "against edge-cart; `/healthz` is probed every 250 ms on a fresh connection, as a load balancer would. Goals: every refusal answered within 1 s (p99), `/healthz` within 1 s every time.",
    overloadRows(o),
  );
}

export function markdown(res: RunResults): string {
  const { machine, code } = res;
  const md: string[] = ["# Benchmark: latest run", ""];
  md.push(
    `${machine.date} · ${machine.cpus} CPUs (${machine.cpuModel}) · ${machine.memoryGiB} GiB · Node ${machine.node} · ${machine.platform}` +
      (code ? ` · edge-cart at ${code.commit}${code.srcDirty ? " + uncommitted src/ changes" : ""}` : "") +
      ". edge-cart and the floor run as `npm start` serves them (workerd through Miniflare, no wrangler dev).",
    "",
    "![benchmark chart](latest.svg)",
    "",
  );
  const goalList = runGoals(res);
  if (goalList.length)
    md.push(
      ...mdSection(
        "## Against the runtime's ceilings",
        "Each edge-cart figure as a ratio to the trivial Worker (`floor`) and to the ceiling of its path, measured in this run " +
          "with the same load generator: `actor-write` (Worker -> one actor, a group-committed reservation row with its outbox row) " +
          "for the flash sale, `cart-actors` (Worker -> the cart's own SQLite actor, constant answer, same mix and clients) for the cart. " +
          "`actor-rpc` (Worker -> one actor, constant answer) is in the flash table. What the ceilings are and what bounds a missed goal: docs/performance.md.",
        goalRows(goalList),
      ),
    );
  if (res.flash) md.push(...flashSection(res.flash));
  if (res.cart) md.push(...cartSection(res.cart));
  if (res.promotion) md.push(...promotionSection(res.promotion));
  if (res.overload) md.push(...overloadSection(res.overload));
  md.push("See bench/README.md for what each target is and the caveats.", "");
  return md.join("\n");
}

// ---- SVG -----------------------------------------------------------------------------------

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

interface Bar {
  label: string;
  value: number;
  note: string;
  color: string;
}

/** One panel of horizontal bars, scaled to its largest value. Returns the SVG elements and its height. */
function panel(title: string, bars: Bar[], y0: number, width: number): { svg: string[]; height: number } {
  const labelW = 190;
  const barH = 22;
  const gap = 8;
  const maxBar = width - labelW - 380;
  const max = Math.max(1, ...bars.map((b) => b.value));
  const svg = [`<text x="16" y="${y0 + 18}" font-size="15" font-weight="bold">${esc(title)}</text>`];
  bars.forEach((b, i) => {
    const y = y0 + 32 + i * (barH + gap);
    const w = Math.max(1, Math.round((b.value / max) * maxBar));
    svg.push(
      `<text x="${labelW - 8}" y="${y + 15}" font-size="13" text-anchor="end">${esc(b.label)}</text>`,
      `<rect x="${labelW}" y="${y}" width="${w}" height="${barH}" rx="3" fill="${b.color}"/>`,
      `<text x="${labelW + w + 6}" y="${y + 15}" font-size="12">${esc(b.note)}</text>`,
    );
  });
  return { svg, height: 32 + bars.length * (barH + gap) + 16 };
}

const COLORS: Record<string, string> = {
  postgres: "#336791",
  "redis-lua": "#d82c20",
  "edge-cart": "#f38020",
  "edge-cart-metrics-off": "#c96a1b",
  "edge-cart-striped": "#fbad41",
  floor: "#9aa0a6",
  "actor-rpc": "#b7bcc2",
  "actor-write": "#7d848c",
  "cart-actors": "#7d848c",
};

export function chart(res: RunResults): string {
  const width = 960;
  const parts: string[] = [];
  let y = 10;
  if (res.flash) {
    const bars = res.flash.targets.map((r) => ({
      label: r.target,
      value: r.rps,
      note: `${r.rps}/s${r.reference ? "" : ` · ${ratioNote(r.rps, rpsIn(res.flash!.targets, "floor"), rpsIn(res.flash!.targets, "actor-write"), "actor-write")}`} · p99 ${Math.round(r.latencyMs.p99)} ms${r.oversell ? ` · OVERSELL ${r.oversell}` : ""}`,
      color: COLORS[r.target] ?? "#666",
    }));
    const p = panel(
      `Flash sale: attempts/s (${res.flash.scenario.concurrency} clients, ${res.flash.scenario.buyers} buyers)`,
      bars,
      y,
      width,
    );
    parts.push(...p.svg);
    y += p.height;
  }
  if (res.cart) {
    const bars = res.cart.targets.flatMap((r) =>
      (["get", "add", "set"] as const).map((op) => ({
        label: `${r.target} ${op === "get" ? "GET cart" : op === "add" ? "add" : "set qty"}`,
        value: r.byOp[op].rps,
        note: `${r.byOp[op].rps}/s${r.reference ? "" : ` · ${ratioNote(r.byOp[op].rps, opRps(res.cart!.targets, "floor", op), opRps(res.cart!.targets, "cart-actors", op), "cart-actors")}`} · p99 ${Math.round(r.byOp[op].p99)} ms`,
        color: COLORS[r.target] ?? "#666",
      })),
    );
    const p = panel(
      `Cart traffic: ops/s by operation (${res.cart.scenario.clients} clients, ${res.cart.scenario.carts} carts)`,
      bars,
      y,
      width,
    );
    parts.push(...p.svg);
    y += p.height;
  }
  const goalList = runGoals(res);
  if (goalList.length) {
    parts.push(`<text x="16" y="${y + 18}" font-size="15" font-weight="bold">Goals (ratios in this run)</text>`);
    goalList.forEach((g, i) => {
      const got = g.vsCeiling || g.value;
      const color = g.met === null ? "#555" : g.met ? "#137333" : "#c5221f";
      const mark = g.met === null ? "" : g.met ? " · met" : " · MISSED";
      parts.push(
        `<text x="16" y="${y + 40 + i * 18}" font-size="12" fill="${color}">${esc(`${g.figure}: ${got} (goal ${g.goal})${mark}`)}</text>`,
      );
    });
    y += 40 + goalList.length * 18;
  }
  const foot = `${res.machine.cpus} CPUs · ${res.machine.date.slice(0, 16).replace("T", " ")} UTC${res.code ? ` · ${res.code.commit}` : ""} · one machine, everything local`;
  parts.push(`<text x="16" y="${y + 8}" font-size="11" fill="#555">${esc(foot)}</text>`);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y + 20}" viewBox="0 0 ${width} ${y + 20}" font-family="system-ui, -apple-system, Segoe UI, sans-serif">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    ...parts,
    "</svg>",
    "",
  ].join("\n");
}
