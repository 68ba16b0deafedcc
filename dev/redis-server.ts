// A private, throwaway redis-server (no persistence) on a free port: isolation for tests
// and a fallback for dev machines that have the binary but no running Redis.
import fs from "node:fs";
import path from "node:path";
import os from "node:os";
import { RespConnection } from "./resp.ts";
import { killGroup, killGroupNow, spawnGroup } from "./processes.ts";
import { freePort, sleep } from "./util.ts";

/** The executable `name` on `pathVar` (default $PATH), or null. */
export function findBinary(name: string, pathVar = process.env.PATH): string | null {
  for (const dir of (pathVar ?? "").split(path.delimiter).filter(Boolean)) {
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {
      // keep looking
    }
  }
  return null;
}

export async function redisAnswers(url: string): Promise<boolean> {
  try {
    const conn = await RespConnection.open(url);
    const [pong] = await conn.send([["PING"]]).finally(() => conn.close());
    return Buffer.isBuffer(pong) && pong.toString() === "PONG";
  } catch {
    return false;
  }
}

export interface RedisServer {
  url: string;
  /** Also its process group id. */
  pid: number;
  close(): Promise<void>;
}

/**
 * Starts `redis-server` (must be on PATH) and waits until it answers PING.
 * `port` (default: a free one) lets a test restart a stopped server at the same address.
 */
export async function startRedisServer(opts: { port?: number } = {}): Promise<RedisServer> {
  const binary = findBinary("redis-server");
  if (!binary) throw new Error("redis-server is not installed");
  const port = opts.port || (await freePort());
  const child = spawnGroup(
    binary,
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"],
    { cwd: os.tmpdir(), env: process.env },
  );
  let output = "";
  child.stdout?.on("data", (c: Buffer) => (output = (output + c.toString()).slice(-4000)));
  const pid = child.pid!;
  const url = `redis://127.0.0.1:${port}`;
  // It runs in its own process group, so it would outlive us: kill it if we exit first.
  const onExit = () => killGroupNow(pid);
  process.on("exit", onExit);
  const server = {
    url,
    pid,
    async close() {
      process.off("exit", onExit);
      await killGroup(pid);
    },
  };
  for (let i = 0; i < 50 && child.exitCode === null; i++) {
    if (await redisAnswers(url)) return server;
    await sleep(100);
  }
  await server.close();
  throw new Error(`redis-server did not start on port ${port}:\n${output}`);
}
