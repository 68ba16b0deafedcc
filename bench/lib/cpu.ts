// Where the CPU went during a measured phase: CPU time per process group (workerd, the Miniflare host,
// Postgres, ...) from /proc, and the busiest single thread (a single-threaded component
// at ~1.0 core is the bottleneck). Linux only; elsewhere it reports nothing.
import { execFileSync } from "node:child_process";
import fs from "node:fs";

let ticksPerSecond = 100;
try {
  ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
} catch {
  // keep the usual 100
}

interface Times {
  ticks: number;
  name: string;
  ppid: string;
}

/** utime + stime of /proc/<pid>/stat or /proc/<pid>/task/<tid>/stat, and the comm. */
function readStat(file: string): Times | null {
  try {
    const stat = fs.readFileSync(file, "utf8");
    const close = stat.lastIndexOf(")");
    const fields = stat.slice(close + 2).split(" ");
    return {
      ticks: Number(fields[11]) + Number(fields[12]),
      name: stat.slice(stat.indexOf("(") + 1, close),
      ppid: fields[1]!,
    };
  } catch {
    return null;
  }
}

function cmdline(pid: string): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return "";
  }
}

const OTHERS = "other processes";

/** The component a process belongs to: by its command line if the bench started it, else Postgres, Redis or someone else's. */
function categorize(pid: string, comm: string, cmd: string, ours: boolean): string {
  if (Number(pid) === process.pid) return "load generator (bench process)";
  if (comm === "postgres" || cmd.startsWith("postgres")) return "postgres";
  if (comm.startsWith("redis-server")) return "redis-server";
  if (!ours) return OTHERS;
  if (cmd.includes("workerd")) return "workerd (Worker, actors, queue consumer)";
  if (cmd.includes("bench/lib/edge-stack.ts")) return "stack helpers (Upstash adapter, Neon WS proxy)";
  if (cmd.includes("dev/serve-worker.ts")) return "Miniflare host (node)";
  if (cmd.includes("wrangler") || comm === "esbuild") return "wrangler (node)";
  if (cmd.includes("bench/baselines/")) return "baseline server (node)";
  return "bench children (other)";
}

interface Snapshot {
  at: number;
  processes: Map<string, { ticks: number; category: string }>;
  threads: Map<string, { ticks: number; label: string }>;
}

function snapshot(): Snapshot | null {
  let pids: string[];
  try {
    pids = fs.readdirSync("/proc").filter((e) => /^\d+$/.test(e));
  } catch {
    return null;
  }
  const stats = new Map<string, Times>();
  for (const pid of pids) {
    const p = readStat(`/proc/${pid}/stat`);
    if (p) stats.set(pid, p);
  }
  /** Started by this process, directly or not (wrangler's children are in their own process group, not reparented). */
  const ours = (pid: string): boolean => {
    for (
      let cur: string | undefined = pid, hops = 0;
      cur && cur !== "0" && hops < 64;
      cur = stats.get(cur)?.ppid, hops++
    ) {
      if (Number(cur) === process.pid) return true;
    }
    return false;
  };
  const processes = new Map<string, { ticks: number; category: string }>();
  const threads = new Map<string, { ticks: number; label: string }>();
  for (const [pid, p] of stats) {
    const category = categorize(pid, p.name, cmdline(pid), ours(pid));
    processes.set(pid, { ticks: p.ticks, category });
    if (p.ticks === 0) continue;
    let tids: string[] = [];
    try {
      tids = fs.readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      const t = readStat(`/proc/${pid}/task/${tid}/stat`);
      if (t) threads.set(`${pid}/${tid}`, { ticks: t.ticks, label: `${category}: thread ${t.name}` });
    }
  }
  return { at: performance.now(), processes, threads };
}

export interface CpuUse {
  /** Cores used on average during the phase, per component (1.0 = one core all the time). */
  byComponent: Record<string, number>;
  /** The three busiest threads and the cores each used (at most 1.0 each). */
  busiestThreads: { label: string; cores: number }[];
}

/** Starts a measurement; call the result at the end of the phase. */
export function cpuUse(): () => CpuUse | null {
  const a = snapshot();
  return () => {
    const b = snapshot();
    if (!a || !b) return null;
    const seconds = (b.at - a.at) / 1000;
    const cores = (ticks: number) => Math.round((ticks / ticksPerSecond / seconds) * 100) / 100;
    const byTicks: Record<string, number> = {};
    for (const [pid, p] of b.processes) {
      const d = p.ticks - (a.processes.get(pid)?.ticks ?? 0);
      if (d > 0) byTicks[p.category] = (byTicks[p.category] ?? 0) + d;
    }
    const byComponent: Record<string, number> = {};
    for (const [k, t] of Object.entries(byTicks).sort((x, y) => y[1] - x[1])) byComponent[k] = cores(t);
    const busiest = [...b.threads]
      .map(([id, t]) => ({ label: t.label, ticks: t.ticks - (a.threads.get(id)?.ticks ?? 0) }))
      .sort((x, y) => y.ticks - x.ticks)
      .slice(0, 3);
    return {
      byComponent,
      busiestThreads: busiest.map((t) => ({ label: t.label, cores: Math.min(1, cores(t.ticks)) })),
    };
  };
}
