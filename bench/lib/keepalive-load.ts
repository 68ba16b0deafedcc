// Keep-alive HTTP load for the profilers: `concurrency` workers on one agent, each sending its next
// request when the previous answered; req/s, latency percentiles, status mix, 429/503 without Retry-After.
import http from "node:http";
import { percentile } from "./load.ts";

export interface Req {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export interface Res {
  status: number;
  retryAfter: string | undefined;
  text: string;
}

export function send(agent: http.Agent, port: number, req: Req, timeoutMs = 30_000): Promise<Res> {
  return new Promise((resolve) => {
    const body = req.body === undefined ? undefined : Buffer.from(req.body);
    const headers = body
      ? { ...req.headers, "content-type": "application/json", "content-length": String(body.length) }
      : req.headers;
    const r = http.request(
      { agent, host: "127.0.0.1", port, method: req.method, path: req.path, headers, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            retryAfter: res.headers["retry-after"] as string | undefined,
            text: Buffer.concat(chunks).toString(),
          }),
        );
        res.on("error", (err) => resolve({ status: 0, retryAfter: undefined, text: String(err) }));
      },
    );
    r.on("timeout", () => r.destroy(new Error("timeout")));
    r.on("error", (err) => resolve({ status: 0, retryAfter: undefined, text: String(err) }));
    r.end(body);
  });
}

export interface PhaseResult {
  rps: number;
  p50: number;
  p99: number;
  max: number;
  statuses: Record<string, number>;
  badRetryAfter: number;
}

/** `concurrency` workers each send their next request when the previous answered, for `seconds`. */
export async function load(
  port: number,
  concurrency: number,
  seconds: number,
  next: (i: number) => Req,
  onResponse?: (req: Req, res: Res) => void,
): Promise<PhaseResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let badRetryAfter = 0;
  const errors = new Set<string>();
  let i = 0;
  const end = performance.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const req = next(i++);
        const start = performance.now();
        const res = await send(agent, port, req);
        latencies.push(performance.now() - start);
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        if ((res.status === 429 || res.status === 503) && !res.retryAfter) badRetryAfter++;
        if (res.status === 0) errors.add(res.text);
        onResponse?.(req, res);
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  agent.destroy();
  if (errors.size > 0) console.log(`transport errors: ${[...errors].join("; ")}`);
  latencies.sort((a, b) => a - b);
  return {
    rps: latencies.length / elapsed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: latencies[latencies.length - 1] ?? 0,
    statuses,
    badRetryAfter,
  };
}

export const fmt = (name: string, r: PhaseResult) =>
  `${name.padEnd(8)} ${Math.round(r.rps).toString().padStart(6)} req/s  p50 ${r.p50.toFixed(1)} ms  p99 ${r.p99.toFixed(1)} ms  max ${r.max.toFixed(0)} ms  ${JSON.stringify(r.statuses)}`;
