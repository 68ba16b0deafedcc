// The order in which `npm test` hands files to its workers (vitest.config.ts, docs/testing.md).
// e2e and browser files each start a whole local stack (wrangler, workerd, Redis, proxies) and
// spend most of their time waiting on it; node and workers files are short and busy. Run side by
// side, a few stacks at a time keep two cores busy, and more than that starve each other. So the
// order is planned as if the workers were lanes: a stack file goes to a free lane only while fewer
// than STACKS_AT_ONCE stack files run, otherwise the next short file does. Durations come from the
// last run's timings (vitest's results cache), else from durations.json (a full run's, so a fresh
// checkout, as in CI, starts the longest files first too), else a guess per project.
import { readFileSync } from "node:fs";
import path from "node:path";
import { BaseSequencer, type TestSpecification } from "vitest/node";

/** Projects whose files each start a local stack. */
const STACK_PROJECTS = new Set(["e2e", "browser"]);
/**
 * Stack files whose tests saturate their Worker on purpose and bound its answers in time (100
 * clients at once, a thousand-cart fill): two of them side by side on two cores each see the other's
 * load as their own and miss their bounds, so one is not planned to start while another runs.
 */
const SATURATING = new Set([
  "test/e2e/promotion-rush.test.ts",
  "test/e2e/start.test.ts",
  "test/e2e/restart.test.ts",
  "test/e2e/flash-sale.test.ts",
]);
/** A guess at a file's duration (ms) when no earlier run timed it. */
const GUESS_MS: Record<string, number> = { e2e: 60_000, browser: 40_000, workers: 8_000, node: 2_000 };
/** Per-file durations (ms) of a full `npm test`, keyed `<project>:<file>`; refresh when files change much. */
const MEASURED: Record<string, number> = JSON.parse(
  readFileSync(new URL("./durations.json", import.meta.url), "utf8"),
) as Record<string, number>;

export class StackAwareSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const lanes = Math.max(1, this.ctx.config.maxWorkers ?? 1);
    const stacksAtOnce = Math.max(1, Number(process.env.TEST_STACKS ?? Math.max(1, lanes - 1)));
    const duration = (f: TestSpecification) => {
      const key = `${f.project.name}:${path.relative(this.ctx.config.root, f.moduleId)}`;
      const last = this.ctx.cache.getFileTestResults(key);
      return last?.duration || MEASURED[key] || (GUESS_MS[f.project.name] ?? 8_000);
    };
    const slowestFirst = (a: TestSpecification, b: TestSpecification) => duration(b) - duration(a);
    const stacks = files.filter((f) => STACK_PROJECTS.has(f.project.name)).sort(slowestFirst);
    const others = files.filter((f) => !STACK_PROJECTS.has(f.project.name)).sort(slowestFirst);

    const order: TestSpecification[] = [];
    const laneFreeAt = Array.from({ length: lanes }, () => 0);
    const stackEnds: number[] = []; // when each stack file planned so far ends
    const saturatingEnds: number[] = []; // the same, for the SATURATING ones
    const saturating = (f: TestSpecification) => SATURATING.has(path.relative(this.ctx.config.root, f.moduleId));
    while (stacks.length > 0 || others.length > 0) {
      const lane = laneFreeAt.indexOf(Math.min(...laneFreeAt));
      const now = laneFreeAt[lane]!;
      const stacksRunning = stackEnds.filter((end) => end > now).length;
      const takeStack = stacks.length > 0 && (stacksRunning < stacksAtOnce || others.length === 0);
      // Beside a saturating file, the slowest stack file that is not one (if any is left).
      const calmOnly = saturatingEnds.some((end) => end > now) && stacks.some((f) => !saturating(f));
      const pick = takeStack && calmOnly ? stacks.findIndex((f) => !saturating(f)) : 0;
      const next = (takeStack ? stacks : others).splice(pick, 1)[0]!;
      const end = now + duration(next);
      if (takeStack) stackEnds.push(end);
      if (takeStack && saturating(next)) saturatingEnds.push(end);
      laneFreeAt[lane] = end;
      order.push(next);
    }
    return order;
  }
}
