// Local stand-in for Upstash Redis: speaks the Upstash REST protocol (as @upstash/redis
// sends it) and forwards every command to a real Redis over RESP2.
//
// Protocol, as read from @upstash/redis 1.39 (pkg/http.ts, pkg/pipeline.ts):
//  - every request is POST with `Authorization: Bearer <token>` and a JSON body;
//    single command: POST <base>            body ["SET","k","v"]      -> {"result": ...}
//    pipeline:       POST <base>/pipeline   body [["SET",..],[..]]    -> [{"result"}|{"error"}, ...]
//    transaction:    POST <base>/multi-exec body like pipeline         -> same shape, atomic
//  - auto-pipelining is ON by default, so most single calls arrive via /pipeline.
//  - `Upstash-Encoding: base64` (the default) means every string in `result`, also nested
//    in arrays, is base64 of the raw bytes; numbers and null stay as they are. `error`
//    strings are never encoded. The client special-cases a top-level "OK".
//  - a non-2xx response must still be JSON `{"error": "..."}` (the client throws with it);
//    a failed command inside a pipeline is a 200 with `{"error"}` in its slot.
//  - the client echoes `upstash-sync-token` (read-your-writes); we hand out a counter.
import http from "node:http";
import { timingSafeEqual } from "node:crypto";
import { RespConnection, RespError, type RespValue } from "./resp.ts";
import { isMain, listen, urlHost } from "./util.ts";

export interface UpstashAdapterOptions {
  redisUrl: string;
  token: string;
  /** 0 = random free port (default 0). */
  port?: number;
  host?: string;
}

export interface UpstashAdapter {
  url: string;
  port: number;
  close(): Promise<void>;
}

type Arg = string | number | boolean;

// Commands that would change connection state shared by every HTTP request, or never reply.
const REFUSED = new Set([
  "subscribe",
  "psubscribe",
  "ssubscribe",
  "unsubscribe",
  "punsubscribe",
  "sunsubscribe",
  "monitor",
  "sync",
  "psync",
  "quit",
  "reset",
  "select",
  "hello",
  "auth",
  "multi",
  "exec",
  "discard",
  "watch",
  "unwatch",
]);
// Commands that can block: they get a connection of their own so they can't stall others.
const BLOCKING = new Set([
  "blpop",
  "brpop",
  "brpoplpush",
  "blmove",
  "blmpop",
  "bzpopmin",
  "bzpopmax",
  "bzmpop",
  "wait",
  "waitaof",
]);

const MAX_BODY = 64 * 1024 * 1024;

function refusal(cmd: Arg[]): string | null {
  const name = String(cmd[0]).toLowerCase();
  if (REFUSED.has(name)) return `ERR Command is not available over REST: '${name}'`;
  if (name === "client" && String(cmd[1] ?? "").toLowerCase() === "reply") {
    return "ERR Command is not available over REST: 'client reply'";
  }
  return null;
}

function isBlocking(cmd: Arg[]): boolean {
  const name = String(cmd[0]).toLowerCase();
  if (BLOCKING.has(name)) return true;
  return (name === "xread" || name === "xreadgroup") && cmd.some((a) => String(a).toLowerCase() === "block");
}

function isCommand(x: unknown): x is Arg[] {
  return (
    Array.isArray(x) &&
    x.length > 0 &&
    x.every((a) => typeof a === "string" || typeof a === "number" || typeof a === "boolean")
  );
}

/** Reply -> JSON value of the Upstash protocol. */
function encode(v: RespValue, base64: boolean): unknown {
  if (v === null || typeof v === "number") return v;
  if (Buffer.isBuffer(v)) return base64 ? v.toString("base64") : v.toString("utf8");
  if (v instanceof RespError) return encode(Buffer.from(v.message), base64); // only nested (EXEC/EVAL)
  return v.map((x) => encode(x, base64));
}

function slot(v: RespValue, base64: boolean): { result: unknown } | { error: string } {
  return v instanceof RespError ? { error: v.message } : { result: encode(v, base64) };
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function startUpstashAdapter(opts: UpstashAdapterOptions): Promise<UpstashAdapter> {
  const host = opts.host ?? "127.0.0.1";
  const expectedAuth = Buffer.from(`Bearer ${opts.token}`);
  let shared: Promise<RespConnection> | null = null;
  let syncToken = 0;

  // One shared connection; reopened lazily if Redis went away.
  async function connection(): Promise<RespConnection> {
    if (shared) {
      const conn = await shared.catch(() => null);
      if (conn?.alive) return conn;
    }
    shared = RespConnection.open(opts.redisUrl);
    shared.catch(() => (shared = null));
    return shared;
  }

  async function run(commands: Arg[][]): Promise<RespValue[]> {
    const args = commands.map((c) => c.map(String));
    if (!commands.some(isBlocking)) return (await connection()).send(args);
    const own = await RespConnection.open(opts.redisUrl);
    try {
      return await own.send(args);
    } finally {
      own.close();
    }
  }

  async function single(cmd: Arg[], base64: boolean): Promise<unknown> {
    const refused = refusal(cmd);
    if (refused) throw new HttpError(400, refused);
    const [reply] = await run([cmd]);
    if (reply instanceof RespError) throw new HttpError(400, reply.message);
    return { result: encode(reply ?? null, base64) };
  }

  async function pipeline(cmds: Arg[][], base64: boolean): Promise<unknown> {
    const allowed = cmds.filter((c) => !refusal(c));
    const replies = await run(allowed);
    let i = 0;
    return cmds.map((c) => {
      const refused = refusal(c);
      return refused ? { error: refused } : slot(replies[i++] ?? null, base64);
    });
  }

  async function multiExec(cmds: Arg[][], base64: boolean): Promise<unknown> {
    for (const c of cmds) {
      const refused = refusal(c);
      if (refused) throw new HttpError(400, refused);
    }
    // MULTI, the commands and EXEC go out in one write on one connection.
    const replies = await run([["MULTI"], ...cmds, ["EXEC"]]);
    const exec = replies[replies.length - 1];
    // A command rejected while queueing (unknown command, wrong arity) aborts it all.
    const queued = replies.slice(1, -1).find((r) => r instanceof RespError);
    if (queued instanceof RespError) throw new HttpError(400, queued.message);
    if (exec instanceof RespError) throw new HttpError(400, exec.message);
    if (!Array.isArray(exec)) throw new HttpError(400, "ERR transaction aborted");
    return exec.map((r) => slot(r, base64));
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const auth = Buffer.from(req.headers.authorization ?? "");
    if (auth.length !== expectedAuth.length || !timingSafeEqual(auth, expectedAuth)) {
      throw new HttpError(401, "Unauthorized");
    }
    const base64 = String(req.headers["upstash-encoding"] ?? "").toLowerCase() === "base64";
    const { pathname } = new URL(req.url ?? "/", "http://adapter");
    const raw = await readBody(req);
    let body: unknown;
    if (raw.length) {
      try {
        body = JSON.parse(raw.toString("utf8"));
      } catch {
        if (pathname === "/" || pathname === "/pipeline" || pathname === "/multi-exec") {
          throw new HttpError(400, "ERR failed to parse command: body is not JSON");
        }
        body = raw.toString("utf8"); // path-style command with a raw value as last argument
      }
    }

    let reply: unknown;
    if (pathname === "/pipeline" || pathname === "/multi-exec") {
      if (!Array.isArray(body) || body.length === 0 || !body.every(isCommand)) {
        throw new HttpError(400, "ERR failed to parse pipeline request: expected a JSON array of commands");
      }
      reply = pathname === "/pipeline" ? await pipeline(body, base64) : await multiExec(body, base64);
    } else if (pathname === "/") {
      if (!isCommand(body)) throw new HttpError(400, "ERR failed to parse command: expected a JSON array");
      reply = await single(body, base64);
    } else {
      // Path style (handy with curl): /set/key/value, a body becomes the last argument.
      const cmd: Arg[] = pathname.split("/").filter(Boolean).map(decodeURIComponent);
      if (body !== undefined) cmd.push(typeof body === "string" ? body : JSON.stringify(body));
      reply = await single(cmd, base64);
    }
    send(res, 200, reply);
  }

  function send(res: http.ServerResponse, status: number, body: unknown): void {
    const json = JSON.stringify(body);
    res.writeHead(status, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(json),
      "upstash-sync-token": String(++syncToken),
    });
    res.end(json);
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent) return res.destroy();
      if (err instanceof HttpError) return send(res, err.status, { error: err.message });
      // Redis unreachable or protocol failure: a 5xx, still with the JSON body the client parses.
      send(res, 502, { error: `ERR local Upstash adapter: ${(err as Error).message}` });
    });
  });
  server.keepAliveTimeout = 60_000;

  const port = await listen(server, opts.port ?? 0, host);
  return {
    url: `http://${urlHost(host)}:${port}`,
    port,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      const conn = await shared?.catch(() => null);
      conn?.close();
    },
  };
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new HttpError(413, "ERR request body too large"));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

if (isMain(import.meta.url)) {
  const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
  const token = process.env.UPSTASH_REDIS_REST_TOKEN ?? "dev-upstash-token";
  const adapter = await startUpstashAdapter({
    redisUrl,
    token,
    port: Number(process.env.UPSTASH_ADAPTER_PORT ?? 8079),
  });
  console.log(`Upstash REST adapter on ${adapter.url} -> ${redisUrl}`);
  console.log(`UPSTASH_REDIS_REST_URL=${adapter.url}\nUPSTASH_REDIS_REST_TOKEN=${token}`);
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.once(sig, () => void adapter.close().then(() => process.exit(0)));
  }
}
