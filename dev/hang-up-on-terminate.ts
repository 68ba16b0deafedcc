// A TCP front for the embedded Postgres that hangs up when a client says Terminate, as
// Postgres does. @electric-sql/pglite-socket keeps the socket open after a Terminate ('X')
// message and waits for the client to close it. The Neon driver (and pg) send Terminate and
// then wait for the server to hang up, so behind the WebSocket proxy every finished
// connection stayed open: a Worker's queue invocation never completed (workerd waits for its
// sockets), Miniflare delivered no further batch to that consumer, and the handlers piled up
// towards the server's connection limit.
import net from "node:net";
import { listen } from "./util.ts";

/** Major protocol version 3 in a StartupMessage (3.0 = 196608; 3.2 = 196610). */
const PROTOCOL_3 = 3;
const TERMINATE = 0x58; // 'X'

/**
 * Follows the client -> server half of the wire protocol just enough to find the end of a
 * Terminate message: untyped startup-phase packets (SSLRequest, GSSENCRequest, then the
 * StartupMessage), then typed messages. It never holds data back; it only counts lengths.
 */
export class TerminateFinder {
  #startup = true;
  #header = Buffer.alloc(0);
  #skip = 0;

  /** Offset in `chunk` just past a Terminate message, or -1 if `chunk` holds none. */
  feed(chunk: Buffer): number {
    let i = 0;
    while (i < chunk.length) {
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, chunk.length - i);
        this.#skip -= n;
        i += n;
        continue;
      }
      const headerLength = this.#startup ? 8 : 5;
      const take = Math.min(headerLength - this.#header.length, chunk.length - i);
      this.#header = Buffer.concat([this.#header, chunk.subarray(i, i + take)]);
      i += take;
      if (this.#header.length < headerLength) break;
      if (this.#startup) {
        // length (incl. itself), then a request code or the protocol version
        const length = this.#header.readInt32BE(0);
        if (this.#header.readInt32BE(4) >>> 16 === PROTOCOL_3) this.#startup = false;
        this.#skip = Math.max(0, length - 8);
      } else {
        // type byte, then length (incl. itself, not the type byte)
        const length = this.#header.readInt32BE(1);
        this.#skip = Math.max(0, length - 4);
        if (this.#header[0] === TERMINATE) return i + this.#skip;
      }
      this.#header = Buffer.alloc(0);
    }
    return -1;
  }
}

export interface HangUpFront {
  /** "127.0.0.1:PORT" */
  host: string;
  port: number;
  close(): Promise<void>;
}

/** Listens on host:port (0 = a free port) and relays each connection to `target`, hanging up after a Terminate. */
export async function startHangUpFront(
  target: { host: string; port: number },
  opts: { host?: string; port?: number } = {},
): Promise<HangUpFront> {
  const live = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target);
    live.add(client);
    live.add(upstream);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const finder = new TerminateFinder();
    let terminated = false;

    client.on("data", (chunk: Buffer) => {
      if (terminated) return;
      const end = finder.feed(chunk);
      if (end < 0) {
        if (!upstream.write(chunk)) client.pause();
        return;
      }
      // Nothing answers a Terminate: pass it on (the embedded server ends the session) and hang up both ways.
      terminated = true;
      upstream.unpipe(client);
      upstream.end(chunk.subarray(0, end));
      client.end();
    });
    upstream.on("drain", () => client.resume());
    upstream.pipe(client);

    const forget = () => {
      live.delete(client);
      live.delete(upstream);
    };
    // Either side failing or closing ends the other.
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
    client.on("close", () => {
      upstream.end();
      forget();
    });
    upstream.on("close", () => {
      client.end();
      forget();
    });
  });
  const host = opts.host ?? "127.0.0.1";
  const port = await listen(server, opts.port ?? 0, host);
  return {
    host,
    port,
    async close() {
      for (const socket of live) socket.destroy();
      live.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
