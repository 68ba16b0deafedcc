// Keep-alive HTTP load for the profilers: `concurrency` workers on one agent, each sending its next
// request when the previous answered; req/s, latency percentiles, status mix, 429/503 without Retry-After.
import http from "node:http";
import { type RawRequest, sendRaw } from "./http-send.ts";
import { percentile } from "./load.ts";

export type Req = RawRequest;

export interface Res {
  status: number;
  retryAfter: string | undefined;
  text: string;
}

export async function send(agent: http.Agent, port: number, req: Req, timeoutMs = 30_000): Promise<Res> {
  const headers = req.body === undefined ? req.headers : { ...req.headers, "content-type": "application/json" };
  const res = await sendRaw(agent, { host: "127.0.0.1", port }, { ...req, headers }, timeoutMs);
  return { status: res.status, retryAfter: res.headers["retry-after"] as string | undefined, text: res.text };
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
  const finished: Array<[at: number, ms: number]> = [];
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
        const done = performance.now();
        latencies.push(done - start);
        finished.push([done - t0, done - start]);
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
  if (process.env.TIMELINE) printTimeline(finished, Number(process.env.TIMELINE) || 500, Date.now() - elapsed * 1000);
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

/** TIMELINE=<ms>: answers per window and the slowest of them, to see stalls (a window with few answers and slow ones). */
function printTimeline(finished: Array<[at: number, ms: number]>, windowMs: number, startedAt: number): void {
  const windows = new Map<number, { n: number; max: number }>();
  for (const [at, ms] of finished) {
    const w = Math.floor(at / windowMs);
    const cur = windows.get(w) ?? { n: 0, max: 0 };
    cur.n++;
    cur.max = Math.max(cur.max, ms);
    windows.set(w, cur);
  }
  const last = Math.max(0, ...windows.keys());
  const rows: string[] = [];
  for (let w = 0; w <= last; w++) {
    const cur = windows.get(w) ?? { n: 0, max: 0 };
    rows.push(`${((w * windowMs) / 1000).toFixed(1)}s ${cur.n} max ${Math.round(cur.max)}ms`);
  }
  console.log(`timeline from ${startedAt} (${windowMs} ms windows): ${rows.join(" | ")}`);
}
