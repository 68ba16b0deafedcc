// Minimal RESP2 client: exact bytes in and out, no reply "helpers".
// We do not use ioredis here because it rewrites some replies by command name
// (HGETALL -> object, WITHSCORES -> pairs) even through callBuffer, and it speaks
// RESP3 by default; the Upstash REST protocol needs raw RESP2 shapes.
import net from "node:net";

/** An error reply from Redis ("-ERR ..."). Kept as a value so pipelines can carry it per command. */
export class RespError extends Error {
  override name = "RespError";
}

/** Bulk and simple strings are Buffers, integers numbers, nil null. */
export type RespValue = Buffer | number | null | RespError | RespValue[];

const CRLF = Buffer.from("\r\n");

export function encodeCommand(args: readonly (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = typeof arg === "string" ? Buffer.from(arg, "utf8") : arg;
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, CRLF);
  }
  return Buffer.concat(parts);
}

/** Thrown by parse() when the buffer holds only part of a reply; `need` is a lower bound of bytes required. */
class Incomplete {
  constructor(readonly need: number) {}
}

function parse(buf: Buffer, start: number): { value: RespValue; end: number } {
  const lineEnd = buf.indexOf(CRLF, start);
  if (lineEnd < 0) throw new Incomplete(buf.length + 1);
  const type = String.fromCharCode(buf[start]!);
  const line = buf.toString("utf8", start + 1, lineEnd);
  const next = lineEnd + 2;
  switch (type) {
    case "+":
      return { value: Buffer.from(buf.subarray(start + 1, lineEnd)), end: next };
    case "-":
      return { value: new RespError(line), end: next };
    case ":":
      return { value: Number(line), end: next };
    case "$": {
      const len = Number(line);
      if (len < 0) return { value: null, end: next };
      if (buf.length < next + len + 2) throw new Incomplete(next + len + 2);
      // Copy so the reply does not pin the whole socket buffer.
      return { value: Buffer.from(buf.subarray(next, next + len)), end: next + len + 2 };
    }
    case "*": {
      const count = Number(line);
      if (count < 0) return { value: null, end: next };
      const items: RespValue[] = [];
      let pos = next;
      for (let i = 0; i < count; i++) {
        const item = parse(buf, pos);
        items.push(item.value);
        pos = item.end;
      }
      return { value: items, end: pos };
    }
    default:
      throw new Error(`RESP protocol error: unexpected type byte ${JSON.stringify(type)}`);
  }
}

interface Pending {
  resolve(v: RespValue): void;
  reject(e: Error): void;
}

/** One Redis connection. Replies arrive in order, so a FIFO of pending callbacks is enough. */
export class RespConnection {
  private readonly socket: net.Socket;
  private readonly pending: Pending[] = [];
  private chunks: Buffer[] = [];
  private buffered = 0;
  private need = 0;
  private failure: Error | null = null;
  readonly ready: Promise<void>;

  private constructor(url: URL) {
    this.socket = net.connect({ host: url.hostname || "127.0.0.1", port: Number(url.port || 6379) });
    this.socket.setNoDelay(true);
    this.ready = new Promise((resolve, reject) => {
      this.socket.once("connect", resolve);
      this.socket.once("error", reject);
    });
    this.socket.on("data", (chunk: Buffer) => this.onData(chunk));
    this.socket.on("error", (err) => this.fail(err));
    this.socket.on("close", () => this.fail(new Error("Redis connection closed")));
  }

  /** Connects and runs AUTH / SELECT from a redis:// URL (user, password, /db). */
  static async open(redisUrl: string): Promise<RespConnection> {
    const url = new URL(redisUrl);
    if (url.protocol !== "redis:") throw new Error(`Only redis:// URLs are supported, got ${url.protocol}`);
    const conn = new RespConnection(url);
    try {
      await conn.ready;
      const setup: string[][] = [];
      const password = decodeURIComponent(url.password);
      const username = decodeURIComponent(url.username);
      if (password) setup.push(username ? ["AUTH", username, password] : ["AUTH", password]);
      const db = url.pathname.replace(/^\//, "");
      if (db && db !== "0") setup.push(["SELECT", db]);
      for (const reply of await conn.send(setup)) {
        if (reply instanceof RespError) throw reply;
      }
      return conn;
    } catch (err) {
      conn.close();
      throw err;
    }
  }

  get alive(): boolean {
    return this.failure === null;
  }

  /**
   * Writes all commands in ONE socket write, so nothing from another caller can land in
   * between (this is what keeps MULTI ... EXEC contiguous on a shared connection).
   * Resolves with one reply per command; error replies are RespError values, not rejections.
   */
  send(commands: readonly (readonly (string | Buffer)[])[]): Promise<RespValue[]> {
    if (this.failure) return Promise.reject(this.failure);
    if (commands.length === 0) return Promise.resolve([]);
    const replies = commands.map(
      () => new Promise<RespValue>((resolve, reject) => this.pending.push({ resolve, reject })),
    );
    this.socket.write(Buffer.concat(commands.map(encodeCommand)));
    return Promise.all(replies);
  }

  close(): void {
    this.fail(new Error("Redis connection closed by client"));
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    // Large bulk replies arrive in many chunks; don't re-parse until enough bytes are here.
    if (this.buffered < this.need) return;
    let buf = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    let pos = 0;
    while (pos < buf.length) {
      let parsed;
      try {
        parsed = parse(buf, pos);
      } catch (err) {
        if (err instanceof Incomplete) {
          this.need = err.need - pos;
          break;
        }
        this.fail(err as Error);
        this.socket.destroy();
        return;
      }
      pos = parsed.end;
      this.need = 0;
      this.pending.shift()?.resolve(parsed.value);
    }
    buf = buf.subarray(pos);
    this.chunks = buf.length ? [buf] : [];
    this.buffered = buf.length;
  }

  private fail(err: Error): void {
    if (!this.failure) this.failure = err;
    for (const p of this.pending.splice(0)) p.reject(err);
  }
}
