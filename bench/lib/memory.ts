// Peak memory of the processes that serve a target: the resident set (RSS) of every process
// below the given roots (Node servers, the Miniflare host, workerd, the stack's helpers),
// sampled twice a second. Databases (postgres, redis-server) are left out: every target
// uses them, and the shared ones are not ours. Linux only (/proc); elsewhere null.
import fs from "node:fs";

const EXCLUDED = new Set(["postgres", "redis-server"]);

function processes(): Map<number, { ppid: number; comm: string }> {
  const out = new Map<number, { ppid: number; comm: string }>();
  for (const e of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      out.set(Number(e), {
        comm: stat.slice(stat.indexOf("(") + 1, close),
        ppid: Number(stat.slice(close + 2).split(" ")[1]),
      });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function rssKiB(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** MiB per command name, summed over the trees below `roots`. */
export function treeRss(roots: number[]): Record<string, number> | null {
  let procs: Map<number, { ppid: number; comm: string }>;
  try {
    procs = processes();
  } catch {
    return null;
  }
  const children = new Map<number, number[]>();
  for (const [pid, p] of procs) (children.get(p.ppid) ?? children.set(p.ppid, []).get(p.ppid)!).push(pid);
  const byName: Record<string, number> = {};
  const stack = roots.filter((r) => procs.has(r));
  while (stack.length) {
    const pid = stack.pop()!;
    stack.push(...(children.get(pid) ?? []));
    const comm = procs.get(pid)!.comm;
    if (EXCLUDED.has(comm) || comm.startsWith("redis-server")) continue;
    byName[comm] = (byName[comm] ?? 0) + rssKiB(pid) / 1024;
  }
  return byName;
}

export interface PeakRss {
  /** MiB, at the sample where the total was highest. */
  totalMiB: number;
  byProcess: Record<string, number>;
}

/** Samples until the returned function is called; it gives the peak (null without /proc). */
export function sampleRss(roots: number[], everyMs = 500): () => PeakRss | null {
  let peak: PeakRss | null = null;
  const sample = () => {
    const by = treeRss(roots);
    if (!by) return;
    const total = Object.values(by).reduce((a, b) => a + b, 0);
    if (!peak || total > peak.totalMiB) {
      peak = {
        totalMiB: Math.round(total),
        byProcess: Object.fromEntries(Object.entries(by).map(([k, v]) => [k, Math.round(v)])),
      };
    }
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return () => {
    clearInterval(timer);
    sample();
    return peak;
  };
}
