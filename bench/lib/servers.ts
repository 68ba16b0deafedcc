// The processes a bench run starts: each `tsx <file>` runs as the leader of its own process
// group (dev/processes.ts), prints `READY <info>` when it serves, and is stopped with its
// whole group (a local stack's workerd included); if the bench dies first, the exit hook kills them.
import path from "node:path";
import { killGroup, killGroupNow, spawnGroup } from "../../dev/processes.ts";
import { ROOT } from "../../dev/util.ts";

export interface Child {
  /** What the child printed after `READY `. */
  ready: string;
  pid: number;
  stop(): Promise<void>;
}

const started = new Set<Child>();

/**
 * Stops every child (Ctrl-C, a failed run) gracefully, so a local stack drops its database,
 * and waits for stops already under way: exiting earlier would SIGKILL them half-way.
 */
export async function stopAllChildren(): Promise<void> {
  await Promise.all([...started].map((c) => c.stop()));
}

export async function startChild(
  file: string,
  args: string[],
  env: Record<string, string>,
  opts: { startMs?: number; stopMs?: number } = {},
): Promise<Child> {
  const child = spawnGroup(process.execPath, ["--import", "tsx", path.join(ROOT, file), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
  });
  const pid = child.pid!;
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (d: string) => {
    stderr = (stderr + d).slice(-4000);
  });
  const killNow = () => killGroupNow(pid);
  process.once("exit", killNow);
  let stopping: Promise<void> | null = null;
  // Once: every later call waits for the same stop.
  const stop = () =>
    (stopping ??= (async () => {
      await killGroup(pid, opts.stopMs ?? 5000);
      process.off("exit", killNow);
    })());
  const handle: Child = { ready: "", pid, stop };
  const startMs = opts.startMs ?? 60_000;
  const ready = await new Promise<string>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(
      () => reject(new Error(`${file} did not start within ${startMs / 1000} s\n${stderr}`)),
      startMs,
    );
    const onData = (d: string) => {
      out += d;
      const m = /READY (.*)\n/.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout!.off("data", onData);
        child.stdout!.resume(); // keep draining whatever else it prints
        resolve(m[1]!);
      }
    };
    child.stdout!.setEncoding("utf8").on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${file} exited (${code}) before it was ready\n${stderr}`));
    });
  }).catch(async (err: unknown) => {
    await stop();
    throw err;
  });
  handle.ready = ready;
  started.add(handle);
  return handle;
}
