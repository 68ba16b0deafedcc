// `npm run bench`: the flash-sale suite (bench/flash-sale.ts), the cart-traffic suite
// (bench/cart.ts) and the promotion suite (bench/promotion.ts) against the targets of
// bench/targets.ts (the runtime's floor and ceilings among them), one after the other, then the
// overload suite (bench/overload.ts) on edge-cart, then bench/results/latest.{json,md,svg} with
// every figure against its ceiling and the goals. Knobs (BENCH_SUITES, BENCH_TARGETS, ...) in bench/README.md.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { ROOT } from "../dev/util.ts";
import { runCart, cartScenario } from "./cart.ts";
import { outDir, suites, type TargetName, targets } from "./config.ts";
import { flashScenario, runFlash } from "./flash-sale.ts";
import { machineInfo } from "./lib/machine.ts";
import { goalRows } from "./lib/goals.ts";
import {
  cartRows,
  chart,
  consoleTable,
  flashRows,
  markdown,
  overloadRows,
  promotionRows,
  type RunResults,
  runGoals,
} from "./lib/results.ts";
import { runOverload } from "./overload.ts";
import { promotionScenario, runPromotion } from "./promotion.ts";
import { stopAllChildren } from "./lib/servers.ts";
import { ALL_TARGETS } from "./targets.ts";
import type { Target } from "./targets/target.ts";

/** The cart suite runs where the cart API exists (and on the floor and the cart ceiling, for comparison). */
const CART_TARGETS = new Set(["edge-cart", "floor", "cart-actors"]);
/** The flash suite runs everywhere but on the cart ceiling. */
const FLASH_TARGETS = new Set<string>(targets.filter((t) => t !== "cart-actors"));
/** Promotions exist only in edge-cart. */
const PROMOTION_TARGETS = new Set(["edge-cart", "edge-cart-striped"]);

/** Which code was measured: the commit, and whether src/ had uncommitted changes. */
function codeVersion(): { commit: string; srcDirty: boolean } | null {
  try {
    const git = (args: string[]) => execFileSync("git", args, { cwd: ROOT, encoding: "utf8" }).trim();
    return {
      commit: git(["rev-parse", "--short", "HEAD"]),
      srcDirty: git(["status", "--porcelain", "--", "src", "wrangler.toml"]) !== "",
    };
  } catch {
    return null;
  }
}

const errors: string[] = [];
/** A target that breaks (its server died, a request threw) is reported and the run goes on with the next. */
function failed(name: string): (err: Error) => null {
  return (err) => {
    errors.push(`${name}: ${err.message}`);
    console.error(`[bench] ${name} FAILED: ${err.stack ?? err.message}`);
    return null;
  };
}

/** Runs one suite on each named target it applies to; a target that breaks is reported and left out. */
async function onEachTarget<R>(
  suite: string,
  applies: ReadonlySet<string>,
  run: (target: Target) => Promise<R>,
): Promise<R[]> {
  const out: R[] = [];
  for (const name of targets.filter((t) => applies.has(t))) {
    console.log(`[bench] ${suite} / ${name}`);
    const r = await run(ALL_TARGETS[name]).catch(failed(name));
    if (r) out.push(r);
  }
  return out;
}

async function main(): Promise<void> {
  const machine = machineInfo();
  const results: RunResults = { machine, code: codeVersion() };
  console.log(
    `[bench] ${machine.cpus} CPUs, Node ${machine.node}; suites: ${suites.join(", ")}; targets: ${targets.join(", ")}`,
  );
  if (suites.includes("flash")) {
    const S = flashScenario;
    console.log(
      `[bench] flash: ${S.requests} attempts from ${S.buyers} buyers (${S.perBuyer} each), ${S.units} units, limit ${S.purchaseLimit}, ${S.concurrency} clients`,
    );
    const out = await onEachTarget("flash", FLASH_TARGETS, runFlash);
    results.flash = { scenario: S, targets: out };
    console.log(`\n${consoleTable(flashRows(out))}\n`);
  }
  if (suites.includes("cart")) {
    const C = cartScenario;
    console.log(
      `[bench] cart: ${C.ops} ops on ${C.carts} guest carts, ${C.clients} clients, 60% GET / 30% add / 10% set`,
    );
    const out = await onEachTarget("cart", CART_TARGETS, runCart);
    results.cart = { scenario: C, targets: out };
    if (out.length) console.log(`\n${consoleTable(cartRows(out))}\n`);
  }
  if (suites.includes("promotion")) {
    const P = promotionScenario;
    console.log(
      `[bench] promotion: ${P.attempts} checkout and ${P.attempts} flash attempts against one code limited to ${P.limit}, and the same without a promotion, ${P.concurrency} clients`,
    );
    const out = await onEachTarget("promotion", PROMOTION_TARGETS, runPromotion);
    results.promotion = { scenario: P, targets: out };
    if (out.length) console.log(`\n${consoleTable(promotionRows(out))}\n`);
  }
  if (suites.includes("overload")) {
    console.log(`[bench] overload / edge-cart`);
    const t = await ALL_TARGETS["edge-cart"].start();
    try {
      const o = await runOverload(t.baseUrl).catch(failed("overload"));
      if (o) {
        results.overload = o;
        console.log(`\n${consoleTable(overloadRows(o))}\n`);
      }
    } finally {
      await t.stop();
    }
  }
  const goalList = runGoals(results);
  if (goalList.length) console.log(`\n${consoleTable(goalRows(goalList))}\n`);
  const failedChecks = [
    ...(results.flash?.targets ?? []),
    ...(results.cart?.targets ?? []),
    ...(results.promotion?.targets ?? []),
  ].filter((r) => !r.verified);
  for (const r of failedChecks)
    for (const c of r.checks) if (!c.ok) console.log(`[bench] ${r.target}: check FAILED: ${c.name} (${c.detail})`);
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, "latest.json"), JSON.stringify(results, null, 2) + "\n");
  fs.writeFileSync(path.join(outDir, "latest.md"), markdown(results));
  fs.writeFileSync(path.join(outDir, "latest.svg"), chart(results));
  console.log(`[bench] wrote ${path.relative(ROOT, outDir)}/latest.{json,md,svg}`);
  for (const e of errors) console.log(`[bench] FAILED: ${e}`);
  if (errors.length || failedChecks.some((r) => !ALL_TARGETS[r.target as TargetName].reference)) process.exitCode = 1;
}

// Ctrl-C reaches only this process (the targets run in their own process groups): stop them.
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.once(sig, () => {
    console.log(`\n[bench] ${sig}: stopping`);
    void stopAllChildren().finally(() => process.exit(130));
  });
}

try {
  await main();
} catch (err) {
  console.error(err);
  process.exitCode = 1;
} finally {
  await stopAllChildren();
}
// Child processes may keep handles open for a moment; do not wait for them.
process.exit(process.exitCode ?? 0);
