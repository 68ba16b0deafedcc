// Machine facts for the report, and how busy all cores were during a measured phase
// (from /proc/stat; null where there is no /proc).
import fs from "node:fs";
import os from "node:os";

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  platform: string;
  date: string;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? "unknown",
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    date: new Date().toISOString(),
  };
}

interface CpuTimes {
  busy: number;
  total: number;
}

function readCpu(): CpuTimes | null {
  try {
    const line = fs.readFileSync("/proc/stat", "utf8").split("\n")[0]!;
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = (f[3] ?? 0) + (f[4] ?? 0); // idle + iowait
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0); // user..steal
    return { busy: total - idle, total };
  } catch {
    return null;
  }
}

/** Starts a measurement; the returned function gives the busy share of all cores since then (0..1). */
export function cpuMeter(): () => number | null {
  const a = readCpu();
  return () => {
    const b = readCpu();
    if (!a || !b || b.total === a.total) return null;
    return (b.busy - a.busy) / (b.total - a.total);
  };
}
