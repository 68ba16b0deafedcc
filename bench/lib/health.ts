// Probes `GET /healthz` once a second while a load runs: how long a health check (a load
// balancer's, a monitor's) waits when the service is busy. Target: under 1 s every time.
import { percentile } from "./load.ts";

export interface HealthProbe {
  probes: number;
  failed: number;
  p50Ms: number;
  maxMs: number;
  /** Probes that took 1 s or more (or failed). */
  over1s: number;
}

export function probeHealth(baseUrl: string, path = "/healthz", everyMs = 1000): () => Promise<HealthProbe> {
  const samples: { ms: number; ok: boolean }[] = [];
  const inFlight = new Set<Promise<void>>();
  const probe = () => {
    const t0 = performance.now();
    const p = fetch(baseUrl + path, { signal: AbortSignal.timeout(10_000) })
      .then(async (res) => {
        await res.arrayBuffer();
        samples.push({ ms: performance.now() - t0, ok: res.ok });
      })
      .catch(() => {
        samples.push({ ms: performance.now() - t0, ok: false });
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  };
  probe(); // one at the start, so even a short run has a probe
  const timer = setInterval(probe, everyMs);
  return async () => {
    clearInterval(timer);
    await Promise.all(inFlight);
    const lat = Float64Array.from(samples.map((s) => s.ms)).sort();
    const failed = samples.filter((s) => !s.ok).length;
    return {
      probes: samples.length,
      failed,
      p50Ms: Math.round(percentile(lat, 50) || 0),
      maxMs: Math.round(lat[lat.length - 1] ?? 0),
      over1s: samples.filter((s) => !s.ok || s.ms >= 1000).length,
    };
  };
}
