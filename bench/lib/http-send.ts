// One HTTP/1.1 request on a keep-alive agent, for every load generator here: the body is sent
// with its Content-Length, the answer read to its last byte, and anything that goes wrong on the
// way (refused, reset, a connection that dies mid-body, a timeout) becomes status 0 with the
// error as text, so a run never aborts half-way and never waits on a dead socket.
import http from "node:http";

export interface RawRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

export function sendRaw(
  agent: http.Agent,
  target: { host: string; port: number | string },
  req: RawRequest,
  timeoutMs: number,
): Promise<RawResponse> {
  return new Promise((resolve) => {
    const failed = (err: unknown): RawResponse => ({ status: 0, headers: {}, text: String(err) });
    const body = req.body === undefined ? undefined : Buffer.from(req.body);
    const r = http.request(
      {
        agent,
        host: target.host,
        port: target.port,
        method: req.method,
        path: req.path,
        headers: body ? { ...req.headers, "content-length": String(body.length) } : req.headers,
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString("utf8") }),
        );
        res.on("error", (err) => resolve(failed(err)));
        // A connection that dies mid-body ends the response without "end" or "error" on some paths.
        res.on("close", () => {
          if (!res.complete) resolve(failed(new Error("response aborted")));
        });
      },
    );
    r.on("timeout", () => r.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    r.on("error", (err) => resolve(failed(err)));
    r.end(body);
  });
}
