// The load generator: keep-alive HTTP/1.1 from node:http, a fixed number of requests in
// flight (each of `concurrency` clients sends its next request as soon as the previous
// one answered), per-request latency from send to the last byte of the body. Clients
// either share one list of requests, or each runs its own list in order (`lanes`: a
// client that owns some carts edits them one request at a time, so its edits are checkable).
import http from "node:http";
import { sendRaw } from "./http-send.ts";

export interface BenchRequest {
  /** Default POST. */
  method?: "GET" | "POST" | "PATCH";
  /** Path and query, e.g. /v1/flash/sku-1/orders. */
  path: string;
  headers: Record<string, string>;
  /** More headers, computed when the request is sent (e.g. the cart version the client last saw). */
  headersAtSend?: () => Record<string, string>;
  body?: string;
  /** Not sent: for the caller's bookkeeping (e.g. who the buyer is). */
  meta?: string;
}

export interface BenchResponse {
  status: number;
  contentType: string;
  /** The answer's ETag and X-Cart-Source headers, "" when absent. */
  etag: string;
  source: string;
  text: string;
}

export interface Sample<T> {
  /** What `classify` made of the final response. */
  outcome: T;
  /** Milliseconds, including retries of the same request. */
  latencyMs: number;
  /** When it was first sent, in milliseconds since the phase started. */
  startMs: number;
  /** How many times the request was sent again (same idempotency key). */
  retries: number;
}

export interface LoadResult<T> {
  samples: Sample<T>[];
  seconds: number;
  /** CPU the load generator itself used, in seconds (user + system). */
  clientCpuSeconds: number;
}

export interface LoadOptions<T> {
  baseUrl: string;
  /** Shared by all clients, in order. */
  requests?: BenchRequest[];
  /** Or: one list per client (`concurrency` is then the number of lanes); samples come lane after lane. */
  lanes?: BenchRequest[][];
  concurrency: number;
  /** Called about once a second while the load runs (for a progress line). */
  onProgress?: (done: number, total: number, seconds: number) => void;
  /** Turns a response into the outcome kept in the sample. */
  classify: (res: BenchResponse, req: BenchRequest, index: number, retried: boolean) => T;
  /** True when the response is a transport-level drop that a client would retry with the same key. */
  retryable?: (res: BenchResponse) => boolean;
  maxRetries?: number;
  timeoutMs?: number;
}

/** One keep-alive request (POST unless said otherwise); network errors become status 0. */
async function send(agent: http.Agent, url: URL, req: BenchRequest, timeoutMs: number): Promise<BenchResponse> {
  const res = await sendRaw(
    agent,
    { host: url.hostname, port: url.port },
    {
      method: req.method ?? "POST",
      path: req.path,
      headers: req.headersAtSend ? { ...req.headers, ...req.headersAtSend() } : req.headers,
      body: req.body,
    },
    timeoutMs,
  );
  const header = (name: string) => String(res.headers[name] ?? "");
  return {
    status: res.status,
    contentType: header("content-type"),
    etag: header("etag"),
    source: header("x-cart-source"),
    text: res.text,
  };
}

export async function runLoad<T>(opts: LoadOptions<T>): Promise<LoadResult<T>> {
  const url = new URL(opts.baseUrl);
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const maxRetries = opts.maxRetries ?? 5;
  const lanes = opts.lanes ?? null;
  const all = lanes ? lanes.flat() : (opts.requests ?? []);
  const clients = lanes ? lanes.length : Math.min(opts.concurrency, all.length);
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients, maxFreeSockets: clients });
  const samples: Sample<T>[] = new Array(all.length);
  let next = 0;
  let done = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const progress = opts.onProgress
    ? setInterval(() => opts.onProgress!(done, all.length, (performance.now() - t0) / 1000), 1000)
    : undefined;
  const run = async (i: number) => {
    const req = all[i]!;
    const start = performance.now();
    let res = await send(agent, url, req, timeoutMs);
    let retries = 0;
    while (opts.retryable?.(res) && retries < maxRetries) {
      retries++;
      res = await send(agent, url, req, timeoutMs);
    }
    samples[i] = {
      outcome: opts.classify(res, req, i, retries > 0),
      latencyMs: performance.now() - start,
      startMs: start - t0,
      retries,
    };
    done++;
  };
  const shared = async () => {
    for (let i = next++; i < all.length; i = next++) await run(i);
  };
  let offset = 0;
  const laneRunners = (lanes ?? []).map((lane) => {
    const first = offset;
    offset += lane.length;
    return async () => {
      for (let i = first; i < first + lane.length; i++) await run(i);
    };
  });
  await Promise.all(lanes ? laneRunners.map((r) => r()) : Array.from({ length: clients }, shared));
  clearInterval(progress);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  agent.destroy();
  return { samples, seconds, clientCpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: Float64Array | number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}
