// edge-cart's figures against the runtime's own ceilings (docs/performance.md): each as a ratio to
// the trivial Worker (floor) and to the ceiling of its path, measured in the same run with the same
// load generator, and the goals of issue 22 (docs/decisions.md 22) with met or missed.
import type { CartResult } from "../cart.ts";
import type { FlashResult } from "../flash-sale.ts";
import type { OverloadResult } from "../overload.ts";
import type { Op } from "./cart-checks.ts";

/** `a / b` as "0.42x", or "n/a" when either side was not measured. */
export function ratio(a: number | undefined, b: number | undefined): string {
  return a === undefined || b === undefined || b === 0 ? "n/a" : `${(a / b).toFixed(2)}x`;
}

export interface Goal {
  figure: string;
  value: string;
  vsFloor: string;
  ceiling: string;
  vsCeiling: string;
  goal: string;
  met: boolean | null;
}

const verdict = (met: boolean | null) => (met === null ? "n/a" : met ? "met" : "missed");

/** The flash rows (edge-cart, edge-cart-striped): attempts/s against actor-write, p99 against postgres. */
function flashGoals(flash: FlashResult[]): Goal[] {
  const by = (name: string) => flash.find((r) => r.target === name);
  const floor = by("floor")?.rps;
  const ceiling = by("actor-write")?.rps;
  const relational = by("postgres")?.latencyMs.p99;
  return flash
    .filter((r) => !r.reference && r.target.startsWith("edge-cart"))
    .flatMap((r) => {
      const x = ceiling === undefined ? null : r.rps / ceiling;
      return [
        {
          figure: `flash attempts/s (${r.target})`,
          value: String(r.rps),
          vsFloor: ratio(r.rps, floor),
          ceiling: `actor-write ${ceiling ?? "n/a"}`,
          vsCeiling: ratio(r.rps, ceiling),
          goal: "≥ 0.6x actor-write",
          met: x === null ? null : x >= 0.6,
        },
        {
          figure: `flash p99 ms (${r.target})`,
          value: r.latencyMs.p99.toFixed(0),
          vsFloor: "",
          ceiling: "",
          vsCeiling: "",
          goal: `< postgres p99 (${relational?.toFixed(0) ?? "n/a"} ms)`,
          met: relational === undefined ? null : r.latencyMs.p99 < relational,
        },
      ];
    });
}

const CART_GOALS: { op: Op; name: string; atLeast: number | null; p99Below: number | null }[] = [
  { op: "get", name: "cart GET", atLeast: 1.0, p99Below: 100 },
  { op: "add", name: "cart add", atLeast: 0.5, p99Below: 250 },
  { op: "set", name: "cart set qty", atLeast: null, p99Below: null },
];

/** Per cart operation: ops/s against cart-actors (same mix, same clients), and its p99. */
function cartGoals(cart: CartResult[]): Goal[] {
  const edge = cart.find((r) => r.target === "edge-cart");
  if (!edge) return [];
  const floor = cart.find((r) => r.target === "floor");
  const ceiling = cart.find((r) => r.target === "cart-actors");
  return CART_GOALS.flatMap(({ op, name, atLeast, p99Below }) => {
    const rps = edge.byOp[op].rps;
    const top = ceiling?.byOp[op].rps;
    const rows: Goal[] = [
      {
        figure: `${name} /s`,
        value: String(rps),
        vsFloor: ratio(rps, floor?.byOp[op].rps),
        ceiling: `cart-actors ${top ?? "n/a"}`,
        vsCeiling: ratio(rps, top),
        goal: atLeast === null ? "(none)" : `≥ ${atLeast.toFixed(1)}x cart-actors`,
        met: atLeast === null || top === undefined ? null : rps / top >= atLeast,
      },
    ];
    if (p99Below !== null)
      rows.push({
        figure: `${name} p99 ms`,
        value: String(edge.byOp[op].p99),
        vsFloor: "",
        ceiling: "",
        vsCeiling: "",
        goal: `< ${p99Below} ms`,
        met: edge.byOp[op].p99 < p99Below,
      });
    return rows;
  });
}

/** Shedding at OVERLOAD_CLIENTS connections: refusals and /healthz within a second. */
function overloadGoals(o: OverloadResult): Goal[] {
  const plain = (figure: string, value: number, goal: string, met: boolean | null): Goal => ({
    figure,
    value: String(value),
    vsFloor: "",
    ceiling: "",
    vsCeiling: "",
    goal,
    met,
  });
  return [
    plain(
      `overload: sheds p99 ms (${o.shed.count} shed)`,
      o.shed.p99,
      "≤ 1000 ms",
      o.shed.count > 0 ? o.shed.p99 <= 1000 : null,
    ),
    // Nothing shed: then the admitted requests are the ones that must be answered within the second.
    plain(
      `overload: admitted p99 ms (${o.admitted.count} served)`,
      o.admitted.p99,
      o.shed.count > 0 ? "(reported)" : "≤ 1000 ms (nothing was shed)",
      o.shed.count > 0 ? null : o.admitted.p99 <= 1000,
    ),
    plain(
      `overload: /healthz max ms, fresh connection (${o.health.probes} probes)`,
      o.health.maxMs,
      "< 1000 ms every time",
      o.health.probes > 0 && o.health.over1s === 0,
    ),
  ];
}

export function goals(res: { flash?: FlashResult[]; cart?: CartResult[]; overload?: OverloadResult }): Goal[] {
  return [
    ...(res.flash ? flashGoals(res.flash) : []),
    ...(res.cart ? cartGoals(res.cart) : []),
    ...(res.overload ? overloadGoals(res.overload) : []),
  ];
}

export function goalRows(list: Goal[]): string[][] {
  return [
    ["figure", "edge-cart", "x trivial Worker", "ceiling", "x ceiling", "goal", "met"],
    ...list.map((g) => [g.figure, g.value, g.vsFloor, g.ceiling, g.vsCeiling, g.goal, verdict(g.met)]),
  ];
}
