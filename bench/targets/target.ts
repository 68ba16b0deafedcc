// The shape every benchmark target has (bench/targets.ts lists them): start() its servers,
// then seed() SKUs, then verify() a flash run from the server's own records.
import type { TargetName } from "../config.ts";
import type { FlashRun, FlashVerdict } from "../lib/flash-checks.ts";

export interface SeedSku {
  skuId: string;
  units: number;
  /** Purchase limit per buyer; null: none. */
  limit: number | null;
}

export interface Running {
  baseUrl: string;
  /** Roots of the process trees that serve the target (their peak RSS is reported). */
  pids: number[];
  seed(sku: SeedSku): Promise<void>;
  verify(run: FlashRun): Promise<FlashVerdict>;
  stop(): Promise<void>;
}

export interface Target {
  name: TargetName;
  description: string;
  /** A reference Worker (the floor, a ceiling): measured, never checked, edge-cart's figures are divided by it. */
  reference?: boolean;
  start(): Promise<Running>;
}

/** Starts the target, says how long that took, measures it, and stops it whatever happens. */
export async function withTarget<T>(target: Target, measure: (t: Running) => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const t = await target.start();
  try {
    console.log(`  ${target.name} up in ${((performance.now() - t0) / 1000).toFixed(1)} s (${t.baseUrl})`);
    return await measure(t);
  } finally {
    await t.stop();
  }
}
