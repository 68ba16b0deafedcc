// Probes `GET /healthz` once a second while a load runs: how long a health check (a load
// balancer's, a monitor's) waits when the service is busy. Target: under 1 s every time.
import http from "node:http";
import { percentile } from "./load.ts";

/**
 * One GET on a fresh connection, as a monitor makes it: true for a 2xx read to its end. Settles by
 * `timeoutMs` whatever the socket does (a fetch whose connection dies mid-body could hang the run).
 */
function probeOnce(url: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (ok: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(ok);
    };
    const req = http.get(url, { agent: false }, (res) => {
      res.resume();
      res.on("end", () => settle((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300));
      res.on("close", () => settle(false));
    });
    req.on("error", () => settle(false));
    const timer = setTimeout(() => {
      req.destroy();
      settle(false);
    }, timeoutMs);
  });
}

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
    const p = probeOnce(baseUrl + path, 10_000)
      .then((ok) => {
        samples.push({ ms: performance.now() - t0, ok });
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
