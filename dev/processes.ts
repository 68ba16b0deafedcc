// Child processes of the dev stack: each is spawned as the leader of its own process
// group, so killing the group also kills what it spawned (wrangler -> node -> workerd x2),
// and Ctrl-C in the terminal reaches only the supervisor, which then stops them in order.
// Why groups and /proc rather than tree-kill or execa: docs/decisions.md 17.
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import { sleep } from "./util.ts";

export interface ChildRecord {
  name: string;
  /** Also the process group id: children are spawned detached. */
  pid: number;
  /** A substring of the group members' command lines, to tell our processes from a recycled pid. */
  match: string;
}

export interface PidFile {
  supervisor: number;
  startedAt: string;
  port?: number;
  children: ChildRecord[];
}

export function spawnGroup(cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }): ChildProcess {
  const child = spawn(cmd, args, { ...opts, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  if (child.pid === undefined) throw new Error(`could not start ${cmd}`);
  child.on("error", () => {}); // exit is watched by the caller; don't crash on a late spawn error
  return child;
}

function cmdline(pid: number): string | null {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return null;
  }
}

/** Non-zombie members of process group `pgid` (zombies can't be killed and may never be reaped here). */
function liveMembers(pgid: number): number[] | null {
  let entries: string[];
  try {
    entries = fs.readdirSync("/proc").filter((e) => /^\d+$/.test(e));
  } catch {
    return null; // no /proc (macOS): caller falls back to kill(-pgid, 0)
  }
  const members: number[] = [];
  for (const e of entries) {
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, "utf8");
      // "pid (comm) state ppid pgrp ..." - comm may contain spaces, so split after the last ')'.
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(pgrp) === pgid && state !== "Z") members.push(Number(e));
    } catch {
      // process went away while we looked
    }
  }
  return members;
}

export function groupAlive(pgid: number): boolean {
  const members = liveMembers(pgid);
  if (members) return members.length > 0;
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

/** SIGTERM the whole group, give it `graceMs` to exit, then SIGKILL. */
export async function killGroup(pgid: number, graceMs = 5000): Promise<void> {
  if (!groupAlive(pgid)) return;
  signalGroup(pgid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!groupAlive(pgid)) return;
    await sleep(100);
  }
  signalGroup(pgid, "SIGKILL");
  for (let i = 0; i < 20 && groupAlive(pgid); i++) await sleep(50);
}

/** SIGKILL the whole group at once, as a crash would (nothing flushed), and wait until it is gone. */
export async function crashGroup(pgid: number): Promise<void> {
  signalGroup(pgid, "SIGKILL");
  for (let i = 0; i < 100 && groupAlive(pgid); i++) await sleep(50);
}

/** Synchronous last resort for process.on("exit"), where nothing async runs. */
export function killGroupNow(pgid: number): void {
  signalGroup(pgid, "SIGKILL");
}

export function readPidFile(file: string): PidFile | null {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as PidFile;
  } catch {
    return null;
  }
}

export function writePidFile(file: string, data: PidFile): void {
  fs.writeFileSync(file, JSON.stringify(data, null, 2) + "\n");
}

/**
 * Handles what a previous run left in `file`: throws if its supervisor still runs (a second
 * stack on the same state would fight over ports and data), otherwise kills its orphaned
 * children. Returns what was killed, for the log.
 */
export async function cleanupStale(file: string): Promise<string[]> {
  const prev = readPidFile(file);
  if (!prev) return [];
  if (
    prev.supervisor !== process.pid &&
    pidAlive(prev.supervisor) &&
    (cmdline(prev.supervisor) ?? "node").includes("node")
  ) {
    throw new Error(
      `Another local stack is running (supervisor pid ${prev.supervisor}` +
        (prev.port ? `, Worker on port ${prev.port}` : "") +
        `). Stop it with Ctrl-C in its terminal or \`kill ${prev.supervisor}\`.`,
    );
  }
  const killed: string[] = [];
  for (const child of prev.children) {
    // Check every live member: wrangler may be gone while its workerd children linger.
    const members = liveMembers(child.pid) ?? (groupAlive(child.pid) ? [child.pid] : []);
    if (members.some((pid) => (cmdline(pid) ?? child.match).includes(child.match))) {
      await killGroup(child.pid, 3000);
      killed.push(`${child.name} (pid ${child.pid})`);
    }
  }
  fs.rmSync(file, { force: true });
  return killed;
}
