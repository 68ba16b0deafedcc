// A stand-in identity provider's key set endpoint, served over real HTTP from Node for the
// workerd tests (test/support/global-setup.ts starts it). Each test names its own set, so
// tests never share keys or counters:
//   GET  /{set}/jwks.json   the set's public keys as the Worker fetches them (counted)
//   PUT  /admin/{set}       the test steers it: { jwks?, delayMs?, failure? }
//   GET  /admin/{set}       { fetches }: how often the Worker fetched it
// A failure is "status500" (a 5xx), "notJson" (200 with an HTML page) or "close" (the
// connection is dropped without an answer); delayMs holds the answer back (a slow provider).
import type { AddressInfo } from "node:net";
import { createServer } from "node:http";

type Failure = "status500" | "notJson" | "close";

interface KeySetState {
  jwks: unknown;
  delayMs: number;
  failure: Failure | null;
  fetches: number;
}

export interface JwksServer {
  /** http://127.0.0.1:<port> */
  url: string;
  /** A URL on a port nothing listens on: the provider is down (connection refused). */
  refusedUrl: string;
  stop(): Promise<void>;
}

async function readBody(req: import("node:http").IncomingMessage): Promise<string> {
  let body = "";
  for await (const chunk of req) body += chunk;
  return body;
}

export async function startJwksServer(): Promise<JwksServer> {
  const sets = new Map<string, KeySetState>();
  const stateOf = (name: string) => {
    let state = sets.get(name);
    if (!state) {
      state = { jwks: { keys: [] }, delayMs: 0, failure: null, fetches: 0 };
      sets.set(name, state);
    }
    return state;
  };
  const server = createServer(async (req, res) => {
    const admin = /^\/admin\/([\w-]+)$/.exec(req.url ?? "");
    if (admin) {
      const state = stateOf(admin[1]!);
      if (req.method === "PUT") Object.assign(state, JSON.parse(await readBody(req)));
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ fetches: state.fetches }));
      return;
    }
    const keys = /^\/([\w-]+)\/jwks\.json$/.exec(req.url ?? "");
    if (!keys || req.method !== "GET") {
      res.writeHead(404).end();
      return;
    }
    const state = stateOf(keys[1]!);
    state.fetches++;
    if (state.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, state.delayMs));
    if (state.failure === "close") req.socket.destroy();
    else if (state.failure === "status500") res.writeHead(500).end("upstream error");
    else if (state.failure === "notJson") res.writeHead(200, { "content-type": "text/html" }).end("<html>login</html>");
    else res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(state.jwks));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  // A port that was free a moment ago and is closed again: connecting to it is refused.
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
  const refusedPort = (closed.address() as AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));

  return {
    url,
    refusedUrl: `http://127.0.0.1:${refusedPort}/down/jwks.json`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
