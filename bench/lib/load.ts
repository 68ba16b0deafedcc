// The load generator: keep-alive HTTP/1.1 from node:http, a fixed number of requests in
// flight (each of `concurrency` workers sends its next request as soon as the previous
// one answered), per-request latency from send to the last byte of the body.
import http from "node:http";

export interface BenchRequest {
  /** Path and query, e.g. /v1/flash/sku-1/orders. */
  path: string;
  headers: Record<string, string>;
  body: string;
  /** Not sent: for the caller's bookkeeping (e.g. who the buyer is). */
  meta?: string;
}

export interface BenchResponse {
  status: number;
  contentType: string;
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
  requests: BenchRequest[];
  concurrency: number;
  /** Turns a response into the outcome kept in the sample. */
  classify: (res: BenchResponse, req: BenchRequest, index: number, retried: boolean) => T;
  /** True when the response is a transport-level drop that a client would retry with the same key. */
  retryable?: (res: BenchResponse) => boolean;
  maxRetries?: number;
  timeoutMs?: number;
}

/** One keep-alive POST; network errors become status 0 so a run never aborts half-way. */
function send(agent: http.Agent, url: URL, req: BenchRequest, timeoutMs: number): Promise<BenchResponse> {
  return new Promise((resolve) => {
    const body = Buffer.from(req.body);
    const r = http.request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        method: "POST",
        path: req.path,
        headers: { ...req.headers, "content-length": String(body.length) },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, contentType: String(res.headers["content-type"] ?? ""), text: Buffer.concat(chunks).toString("utf8") }),
        );
        res.on("error", (err) => resolve({ status: 0, contentType: "", text: String(err) }));
      },
    );
    r.on("timeout", () => r.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    r.on("error", (err) => resolve({ status: 0, contentType: "", text: String(err) }));
    r.end(body);
  });
}

export async function runLoad<T>(opts: LoadOptions<T>): Promise<LoadResult<T>> {
  const url = new URL(opts.baseUrl);
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const maxRetries = opts.maxRetries ?? 5;
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.concurrency, maxFreeSockets: opts.concurrency });
  const samples: Sample<T>[] = new Array(opts.requests.length);
  let next = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const worker = async () => {
    for (let i = next++; i < opts.requests.length; i = next++) {
      const req = opts.requests[i]!;
      const start = performance.now();
      let res = await send(agent, url, req, timeoutMs);
      let retries = 0;
      while (opts.retryable?.(res) && retries < maxRetries) {
        retries++;
        res = await send(agent, url, req, timeoutMs);
      }
      samples[i] = { outcome: opts.classify(res, req, i, retries > 0), latencyMs: performance.now() - start, startMs: start - t0, retries };
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.concurrency, opts.requests.length) }, worker));
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
