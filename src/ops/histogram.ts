/**
 * Durations as a fixed log-scale histogram: 64 buckets, each 2^(1/4) (~19 %) wider than the
 * last, from 1 ms up to ~55 s. Histograms of several isolates and buckets add up by position, so
 * p50/p99 over any window come from summed rows, without keeping every sample.
 */
export const HISTOGRAM_BUCKETS = 64;
const STEPS_PER_DOUBLING = 4;

export function bucketOf(ms: number): number {
  if (!(ms > 1)) return 0;
  return Math.min(HISTOGRAM_BUCKETS - 1, Math.ceil(Math.log2(ms) * STEPS_PER_DOUBLING));
}

/** The upper bound of a bucket, in ms. */
export function bucketUpperMs(bucket: number): number {
  return 2 ** (bucket / STEPS_PER_DOUBLING);
}

export function emptyHistogram(): number[] {
  return new Array<number>(HISTOGRAM_BUCKETS).fill(0);
}

export function addInto(target: number[], source: readonly number[]): void {
  for (let i = 0; i < HISTOGRAM_BUCKETS; i++) target[i] = (target[i] ?? 0) + (source[i] ?? 0);
}

/** The q-quantile (0..1) of a histogram, as its bucket's upper bound rounded to 0.1 ms; null when it is empty. */
export function quantileMs(histogram: readonly number[], q: number): number | null {
  const total = histogram.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(total * q));
  let seen = 0;
  for (let i = 0; i < histogram.length; i++) {
    seen += histogram[i] ?? 0;
    if (seen >= rank) return Math.round(bucketUpperMs(i) * 10) / 10;
  }
  return Math.round(bucketUpperMs(HISTOGRAM_BUCKETS - 1) * 10) / 10;
}
