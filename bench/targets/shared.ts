// What every target shares: cleanups run in reverse on stop, and a baseline server started as a child.
import { JWT_SECRET } from "../config.ts";
import { startChild } from "../lib/servers.ts";

/** Runs `fn` after `stop`-style cleanups collected while starting, in reverse. */
export class Cleanups {
  private fns: (() => Promise<unknown>)[] = [];
  add(fn: () => Promise<unknown>): void {
    this.fns.push(fn);
  }
  async run(): Promise<void> {
    while (this.fns.length)
      await this.fns.pop()!().catch((err: Error) => console.warn(`[bench] cleanup failed: ${err.message}`));
  }
}

export async function baselineServer(
  file: string,
  env: Record<string, string>,
  cleanups: Cleanups,
): Promise<{ baseUrl: string; pid: number }> {
  const child = await startChild(file, [], { ...env, PORT: "0", JWT_SECRET });
  cleanups.add(() => child.stop());
  return { baseUrl: `http://127.0.0.1:${Number(child.ready)}`, pid: child.pid };
}
