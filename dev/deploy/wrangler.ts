// The wrangler commands `npm run deploy` runs, behind one injectable runner so the tests can
// replace the CLI with a recording stand-in.
import { spawn } from "node:child_process";
import path from "node:path";
import { ROOT, WRANGLER_ENV } from "../util.ts";

export interface WranglerResult {
  status: number;
  stdout: string;
  stderr: string;
}

export interface WranglerCallOptions {
  /** Written to wrangler's stdin (secret values: never on the command line). */
  input?: string;
  /** Also show the output as it comes (the upload), besides returning it. */
  echo?: boolean;
}

/** Runs wrangler with arguments; returns its exit status and output. Injected by the tests. */
export type WranglerRunner = (args: string[], opts?: WranglerCallOptions) => WranglerResult | Promise<WranglerResult>;

export const runWrangler: WranglerRunner = (args, opts = {}) =>
  new Promise((resolve) => {
    const bin = path.join(ROOT, "node_modules", ".bin", "wrangler");
    // stdout is a pipe, so wrangler runs non-interactively (as in CI): a prompt takes its default.
    const child = spawn(bin, args, {
      cwd: ROOT,
      env: { ...process.env, ...WRANGLER_ENV },
      stdio: [opts.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk;
      if (opts.echo) process.stdout.write(chunk);
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk;
      if (opts.echo) process.stderr.write(chunk);
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    child.on("error", (err) => resolve({ status: 1, stdout, stderr: stderr + err.message }));
    child.on("close", (code) => resolve({ status: code ?? 1, stdout, stderr }));
  });

/** The last line wrangler wrote about a failure, for an error message. */
export function failureOf(res: WranglerResult): string {
  return (res.stderr.trim() || res.stdout.trim()).split("\n").pop() ?? `exit ${res.status}`;
}

/** Queue names in `wrangler queues list` output (a table; any cell that is exactly a name counts). */
export function queueNamesIn(listing: string): Set<string> {
  const names = new Set<string>();
  for (const line of listing.split("\n")) {
    for (const cell of line.split(/[│|]/)) {
      const name = cell.trim();
      if (/^[a-z0-9][a-z0-9-]{0,62}$/.test(name)) names.add(name);
    }
  }
  return names;
}

/** Lists every page of queues (until a page adds no name). */
export async function existingQueues(run: WranglerRunner, configArgs: string[] = []): Promise<Set<string>> {
  const all = new Set<string>();
  for (let page = 1; page <= 50; page++) {
    const res = await run(["queues", "list", "--page", String(page), ...configArgs]);
    if (res.status !== 0) throw new Error(`wrangler queues list failed: ${failureOf(res)}`);
    const before = all.size;
    for (const name of queueNamesIn(res.stdout)) all.add(name);
    if (all.size === before) break;
  }
  return all;
}

/** Creates the queues that do not exist yet; returns the ones it created. */
export async function ensureQueues(
  run: WranglerRunner,
  wanted: string[],
  configArgs: string[] = [],
): Promise<string[]> {
  const existing = await existingQueues(run, configArgs);
  const missing = wanted.filter((q) => !existing.has(q));
  for (const queue of missing) {
    const res = await run(["queues", "create", queue, ...configArgs]);
    if (res.status !== 0) throw new Error(`wrangler queues create ${queue} failed: ${failureOf(res)}`);
  }
  return missing;
}

/** Names of the Worker's secrets, or null when the Worker does not exist yet. */
export async function secretNames(run: WranglerRunner, targetArgs: string[]): Promise<string[] | null> {
  const res = await run(["secret", "list", ...targetArgs, "--format", "json"]);
  if (res.status !== 0) {
    if (/does not exist|not found|10007/i.test(res.stderr + res.stdout)) return null;
    throw new Error(`wrangler secret list failed: ${failureOf(res)}`);
  }
  const json = res.stdout.slice(res.stdout.indexOf("["));
  return (JSON.parse(json) as { name: string }[]).map((s) => s.name);
}
