// Local WebSocket -> TCP proxy for @neondatabase/serverless (what Neon runs in front of
// Postgres in production). The Worker is configured with
//   neonConfig.wsProxy = (host, port) => `${NEON_WS_PROXY}/v1?address=${host}:${port}`
//   useSecureWebSocket = false, pipelineTLS = false, pipelineConnect = false
// so the driver opens ws://NEON_WS_PROXY/v1?address=host:port and speaks the plain Postgres
// wire protocol in binary frames. We connect TCP to `address` and copy bytes both ways.
import http from "node:http";
import net from "node:net";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import { isMain, listen, urlHost } from "./util.ts";

export interface NeonWsProxyOptions {
  /** 0 = random free port (default 0). */
  port?: number;
  host?: string;
}

export interface NeonWsProxy {
  /** "127.0.0.1:PORT": the value for NEON_WS_PROXY. */
  address: string;
  port: number;
  close(): Promise<void>;
}

// Pause reading Postgres while this much is queued towards a slow WebSocket.
const HIGH_WATER = 1024 * 1024;

/** Parses "host:port" or "[v6]:port"; null if garbled. */
export function parseAddress(value: string | null): { host: string; port: number } | null {
  if (!value) return null;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9._-]+)):(\d{1,5})$/.exec(value);
  if (!m) return null;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return null;
  return { host: (m[1] ?? m[2])!, port };
}

function reject(socket: Duplex, status: number, reason: string): void {
  const body = `${reason}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: text/plain\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

export async function startNeonWsProxy(opts: NeonWsProxyOptions = {}): Promise<NeonWsProxy> {
  const host = opts.host ?? "127.0.0.1";
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  const live = new Set<{ ws: WebSocket; tcp: net.Socket }>();

  const server = http.createServer((_req, res) => {
    res.writeHead(426, { "content-type": "text/plain" }).end("WebSocket upgrade required: /v1?address=host:port\n");
  });

  server.on("upgrade", (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const target = parseAddress(new URL(req.url ?? "/", "http://proxy").searchParams.get("address"));
    if (!target) return reject(socket, 400, "missing or invalid ?address=host:port");

    // Connect to Postgres before accepting the upgrade, so an unreachable target is a clean 502.
    const tcp = net.connect(target);
    tcp.setNoDelay(true);
    const onConnectError = (err: Error) =>
      reject(socket, 502, `cannot reach ${target.host}:${target.port}: ${err.message}`);
    tcp.once("error", onConnectError);
    socket.once("error", () => tcp.destroy());
    tcp.once("connect", () => {
      tcp.off("error", onConnectError);
      if (socket.destroyed) return tcp.destroy(); // client gave up while we connected
      wss.handleUpgrade(req, socket, head, (ws) => pipe(ws, tcp));
    });
  });

  function pipe(ws: WebSocket, tcp: net.Socket): void {
    const entry = { ws, tcp };
    live.add(entry);

    ws.on("message", (data: Buffer | ArrayBuffer | Buffer[]) => {
      const chunk = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer);
      if (!tcp.write(chunk)) ws.pause();
    });
    tcp.on("drain", () => ws.resume());

    tcp.on("data", (chunk: Buffer) => {
      ws.send(chunk, { binary: true }, () => {
        if (ws.bufferedAmount < HIGH_WATER) tcp.resume();
      });
      if (ws.bufferedAmount >= HIGH_WATER) tcp.pause();
    });

    // Either side ending ends the other: Postgres hang-up closes the WebSocket normally,
    // a WebSocket close (client.end()) half-closes TCP so Postgres sees a clean disconnect.
    tcp.on("end", () => ws.close(1000, "upstream closed"));
    tcp.on("error", () => ws.terminate());
    tcp.on("close", () => {
      live.delete(entry);
      if (ws.readyState === ws.OPEN) ws.close(1000, "upstream closed");
    });
    ws.on("close", () => {
      tcp.end();
      setTimeout(() => tcp.destroy(), 1000).unref();
    });
    ws.on("error", () => tcp.destroy());
  }

  const port = await listen(server, opts.port ?? 0, host);
  return {
    address: `${urlHost(host)}:${port}`,
    port,
    async close() {
      for (const { ws, tcp } of live) {
        ws.terminate();
        tcp.destroy();
      }
      live.clear();
      // Also the WebSockets whose Postgres side already hung up: their closing handshake may wait for
      // the client up to ws's 30 s close timeout, and until then server.close() would not return.
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      wss.close();
    },
  };
}

if (isMain(import.meta.url)) {
  const proxy = await startNeonWsProxy({ port: Number(process.env.NEON_WS_PROXY_PORT ?? 5480) });
  console.log(`Neon WebSocket proxy on ws://${proxy.address}/v1?address=host:port`);
  console.log(`NEON_WS_PROXY=${proxy.address}`);
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.once(sig, () => void proxy.close().then(() => process.exit(0)));
  }
}
