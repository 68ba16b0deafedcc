// Small helpers shared by the dev/ tools.
import net from "node:net";
import getPort from "get-port";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** Repository root (dev/..), so the tools work from any cwd. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** True when the module was started as a script (`tsx dev/x.ts`), false when imported. */
export function isMain(moduleUrl: string): boolean {
  const entry = process.argv[1];
  return entry !== undefined && pathToFileURL(path.resolve(entry)).href === moduleUrl;
}

/**
 * A free TCP port on `host` (a tiny race until the caller binds it; fine for dev). get-port never
 * hands out the same one twice within 15 s in this process, so concurrent stacks don't collide.
 */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return getPort({ host });
}

/** `preferred` when it is free (stable URLs for people), else a free one; 0 stays 0 (bind picks). */
export async function pickPort(preferred: number): Promise<number> {
  return preferred === 0 ? 0 : getPort({ port: preferred });
}

/** True if something accepts TCP connections on host:port within `timeoutMs`. */
export function tcpAnswers(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once("connect", () => done(true));
    sock.once("error", () => done(false));
  });
}

/**
 * The environment for a wrangler command whose exit we wait for (a build, a deploy step). Its
 * banner's update check asks the npm registry for wrangler's package document, several MB, and
 * the socket keeps the process alive until that download ends, even after its 3 s timeout: on a
 * slow registry a 3 s build waited over two minutes. No banner, no check; no metrics either.
 */
export const WRANGLER_ENV = { WRANGLER_HIDE_BANNER: "true", WRANGLER_SEND_METRICS: "false" } as const;

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Listens an http/net server and resolves with the bound port. */
export function listen(server: net.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

/** Host to put in URLs: a wildcard bind is reachable on loopback. */
export function urlHost(host: string): string {
  if (host === "0.0.0.0" || host === "::") return "127.0.0.1";
  return host.includes(":") ? `[${host}]` : host;
}
