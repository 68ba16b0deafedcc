// One start of the local stack in progress: its state directory and pid file, the children it
// spawned, and the cleanups that stop() runs in reverse order (also when a later step fails).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { cleanupStale, killGroup, killGroupNow, writePidFile, type ChildRecord } from "../processes.ts";
import { ROOT, freePort, tcpAnswers } from "../util.ts";
import { execFileSync } from "node:child_process";
import type { LocalStackOptions } from "./types.ts";
import { devStateDir, requestedPort } from "./scope.ts";

export class Startup {
  /** Test mode (a `databaseName` was given): fresh database, private Redis, temporary state. */
  readonly testMode: boolean;
  /** The Worker's port (0 until claimed: a free one is picked). */
  port: number;
  /** Child processes, recorded in pids.json (for the next run) and killed by stop() or the exit hook. */
  readonly children: ChildRecord[] = [];
  private readonly cleanups: (() => Promise<void>)[] = [];
  private readonly tempState: string | null;
  /** Null until the port is known when the state directory follows it (dev/stack/scope.ts). */
  private chosenStateDir: string | null;
  private stopped = false;
  /** False while another live stack owns the pid file: we must not delete it. */
  private ownsPidFile = false;
  private readonly onExit = () => this.children.forEach((c) => killGroupNow(c.pid));

  constructor(readonly opts: LocalStackOptions) {
    this.testMode = opts.databaseName !== undefined;
    this.tempState =
      this.testMode && !opts.persistDir ? fs.mkdtempSync(path.join(os.tmpdir(), "edge-cart-stack-")) : null;
    this.port = opts.port ?? requestedPort();
    const given = opts.persistDir ?? this.tempState;
    this.chosenStateDir = given ? path.resolve(ROOT, given) : this.port ? devStateDir(this.port) : null;
  }

  /** Where pids.json, PGlite data and the Worker's Durable Object state live. */
  get stateDir(): string {
    if (!this.chosenStateDir) throw new Error("the stack's state directory is known once its port is claimed");
    return this.chosenStateDir;
  }

  private get pidFile(): string {
    return path.join(this.stateDir, "pids.json");
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  log(msg: string): void {
    if (!this.opts.quiet) console.log(`[dev] ${msg}`);
  }

  warn(msg: string): void {
    if (!this.opts.quiet) console.warn(`[dev] WARNING: ${msg}`);
  }

  /**
   * Settles the port (0: a free one) and with it the state directory, stops leftovers of a previous
   * run there, then claims the Worker port first: a taken one fails before anything starts.
   */
  async claimWorkerPort(): Promise<void> {
    const picked = this.port === 0;
    if (picked) this.port = await freePort();
    this.chosenStateDir ??= devStateDir(this.port);
    fs.mkdirSync(this.stateDir, { recursive: true });
    for (const k of await cleanupStale(this.pidFile)) this.log(`stopped leftover ${k} from a previous run`);
    if (!picked && (await tcpAnswers("127.0.0.1", this.port))) {
      throw new Error(
        `Port ${this.port} is already in use${portOwner(this.port)}. Stop that process or use another port (PORT=8788 npm run dev).`,
      );
    }
    this.savePids();
    this.ownsPidFile = true;
    process.on("exit", this.onExit);
  }

  savePids(): void {
    writePidFile(this.pidFile, {
      supervisor: process.pid,
      startedAt: new Date().toISOString(),
      port: this.port,
      children: this.children,
    });
  }

  /** Something stop() must undo. */
  onStop(cleanup: () => Promise<void>): void {
    this.cleanups.push(cleanup);
  }

  /** Records a child process, killed by stop() or, if this process dies first, by the exit hook. */
  trackChild(rec: ChildRecord): void {
    this.children.push(rec);
    this.savePids();
    this.onStop(async () => {
      await killGroup(rec.pid);
      this.children.splice(this.children.indexOf(rec), 1);
    });
  }

  /** Called after every slow step: a stop() that came meanwhile must not leave later steps running. */
  checkpoint(): void {
    if (this.stopped) throw new Error("stopped while starting");
  }

  /** Safe to call again and concurrently: each cleanup is popped and runs once. */
  readonly stop = async (): Promise<void> => {
    this.stopped = true;
    while (this.cleanups.length) {
      await this.cleanups.pop()!().catch((err: Error) => this.warn(`cleanup failed: ${err.message}`));
    }
    if (this.children.length === 0) process.off("exit", this.onExit);
    if (this.ownsPidFile) fs.rmSync(this.pidFile, { force: true });
    if (this.tempState) fs.rmSync(this.tempState, { recursive: true, force: true });
  };
}

/** Who listens on `port`, for a helpful message (best effort, Linux `ss`). */
function portOwner(port: number): string {
  try {
    const out = execFileSync("ss", ["-ltnpH", `sport = :${port}`], { encoding: "utf8", timeout: 2000 });
    const m = /users:\(\("([^"]+)",pid=(\d+)/.exec(out);
    return m ? ` by ${m[1]} (pid ${m[2]})` : "";
  } catch {
    return "";
  }
}
