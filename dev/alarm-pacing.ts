// Paces the Durable Object alarms that are due when the local stack starts (docs/invariants.md 8).
//
// workerd's local alarm scheduler loads every stored alarm at start and fires all the overdue
// ones at once, with no bound: after a crash with thousands of due alarms it constructs
// thousands of actors together, each opening its SQLite database, and the process-wide SQLite
// heap runs out (SQLITE_NOMEM from ~3,000 open actor databases on this machine; requests fail
// too) while the one event loop has no time left for requests. Measured (bench/restart.ts): 3,704
// due alarms kept the Worker from serving for 44 s under `npm start` and for over 120 s under
// `npm run dev`, and it was so with alarm handlers that returned at once: the cost is the
// runtime waking the actors, not what they do. On Cloudflare an account's actors are spread
// over many machines and this does not happen.
//
// So before the Worker starts, the stack re-times the alarms that are due (or due within the
// pacing window) to a steady rate, in due order: an alarm is only ever moved later, never
// dropped, and fires once the runtime gets to it, as after a longer outage (alarms fire at or
// after their time). workerd keeps each alarm twice, in the namespace's `metadata.sqlite`
// (`_cf_ALARM`, what the scheduler loads) and in the actor's own database (`_cf_METADATA` key 1,
// which the actor checks: a run whose time differs from it is cancelled), so both are written.
// Needs the `sqlite3` command; without it, or with a storage layout this does not recognise,
// nothing is changed and one warning says so. That is safe for everyday use: pacing only ever
// moves alarms later, and without it every due alarm still fires, all at once; it matters after
// a crash with thousands of them due. The tests need it (test/e2e/restart.test.ts). Why workerd's
// tables and not a public API: docs/decisions.md 17.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { findBinary } from "./redis-server.ts";

export interface AlarmPacingOptions {
  /** Alarms released per second once the Worker starts. */
  perSecond?: number;
  /** When the first paced alarm fires, after now (the Worker starts meanwhile). */
  startAfterMs?: number;
  now?: number;
}

export interface AlarmPacingResult {
  /** Alarms re-timed, over all namespaces. */
  paced: number;
  /** When the last paced alarm fires (ms since epoch), or null when none was paced. */
  lastAt: number | null;
  /** Why nothing was done, when so. */
  skipped?: string;
}

/** Default rate: with actors closed ~10 s after their alarm, ~500 open actor databases at a time. */
export const DEFAULT_ALARMS_PER_SECOND = 50;
/** When the first paced alarm fires, after pacing, by default (the Worker starts meanwhile). */
export const DEFAULT_PACING_START_AFTER_MS = 3_000;

const NS_PER_MS = 1_000_000n;

/** How to get the sqlite3 command, said where it is missing. */
export const SQLITE3_MISSING =
  "the sqlite3 command is not installed: apt-get install sqlite3 (Debian/Ubuntu; macOS ships it)";

/**
 * Re-times the alarms stored under `persistRoot` (a `--persist-to` directory: `<root>/v3/do/<ns>/`)
 * that fire before the pace reaches them, so at most `perSecond` fire per second from
 * `now + startAfterMs`. Run it only while no Worker uses that state.
 */
export function paceDueAlarms(persistRoot: string, opts: AlarmPacingOptions = {}): AlarmPacingResult {
  const perSecond = opts.perSecond ?? DEFAULT_ALARMS_PER_SECOND;
  const now = opts.now ?? Date.now();
  const start = now + (opts.startAfterMs ?? DEFAULT_PACING_START_AFTER_MS);
  if (perSecond <= 0) return { paced: 0, lastAt: null };
  const stored = readAlarms(persistRoot);
  if ("skipped" in stored)
    return {
      paced: 0,
      lastAt: null,
      skipped:
        stored.skipped === SQLITE3_MISSING
          ? `due Durable Object alarms are not paced at start (only a restart after a crash with thousands due is slow without it): ${SQLITE3_MISSING}`
          : stored.skipped,
    };
  const { sqlite3, alarms } = stored;
  // In due order over every namespace, so the pace is shared.
  alarms.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));

  const moves = new Map<string, { actorId: string; at: bigint }[]>();
  let lastAt: number | null = null;
  for (const [i, alarm] of alarms.entries()) {
    const slot = BigInt(Math.round(start + (i * 1000) / perSecond)) * NS_PER_MS;
    if (alarm.at >= slot) break; // this one and every later one fire after their slot anyway
    if (!fs.existsSync(path.join(alarm.ns, `${alarm.actorId}.sqlite`))) continue;
    const list = moves.get(alarm.ns) ?? [];
    list.push({ actorId: alarm.actorId, at: slot });
    moves.set(alarm.ns, list);
    lastAt = Number(slot / NS_PER_MS);
  }

  let paced = 0;
  for (const [ns, list] of moves) {
    writeAlarms(sqlite3, ns, list);
    paced += list.length;
  }
  return { paced, lastAt };
}

interface StoredAlarm {
  /** The namespace's directory (`<root>/v3/do/<ns>`). */
  ns: string;
  actorId: string;
  /** When it fires, in ns since the epoch (workerd's unit). */
  at: bigint;
}

/** Every alarm stored under `persistRoot`, or why they cannot be read. */
function readAlarms(persistRoot: string): { sqlite3: string; alarms: StoredAlarm[] } | { skipped: string } {
  const doRoot = path.join(persistRoot, "v3", "do");
  if (!fs.existsSync(doRoot)) return { sqlite3: "", alarms: [] };
  const namespaces = fs
    .readdirSync(doRoot, { withFileTypes: true })
    .filter((d) => d.isDirectory() && fs.existsSync(path.join(doRoot, d.name, "metadata.sqlite")))
    .map((d) => path.join(doRoot, d.name));
  if (namespaces.length === 0) return { sqlite3: "", alarms: [] };
  const sqlite3 = findBinary("sqlite3");
  if (!sqlite3) return { skipped: SQLITE3_MISSING };
  const alarms: StoredAlarm[] = [];
  for (const ns of namespaces) {
    let rows: string;
    try {
      rows = execFileSync(
        sqlite3,
        ["-readonly", path.join(ns, "metadata.sqlite"), "SELECT actor_id || '|' || scheduled_time FROM _cf_ALARM"],
        { encoding: "utf8" },
      );
    } catch (err) {
      return { skipped: `unrecognised alarm storage in ${ns}: ${(err as Error).message.split("\n")[0]}` };
    }
    for (const line of rows.split("\n").filter(Boolean)) {
      const [actorId, at] = line.split("|");
      if (!/^[0-9a-f]{64}$/.test(actorId ?? "") || !/^\d+$/.test(at ?? ""))
        return { skipped: `unrecognised alarm row in ${ns}` };
      alarms.push({ ns, actorId: actorId!, at: BigInt(at!) });
    }
  }
  return { sqlite3, alarms };
}

/**
 * Moves every alarm stored under `persistRoot` `byMs` earlier: the stored alarms as they stand
 * after `byMs` more of downtime (test/e2e/restart.test.ts: thousands of alarms due at a restart,
 * without waiting for them in real time). Only for a stopped Worker's state. Returns how many moved.
 */
export function ageStoredAlarms(persistRoot: string, byMs: number): number {
  const stored = readAlarms(persistRoot);
  if ("skipped" in stored) throw new Error(`cannot age the stored alarms: ${stored.skipped}`);
  const by = BigInt(Math.round(byMs)) * NS_PER_MS;
  const moves = new Map<string, { actorId: string; at: bigint }[]>();
  for (const alarm of stored.alarms) {
    if (!fs.existsSync(path.join(alarm.ns, `${alarm.actorId}.sqlite`))) continue;
    const list = moves.get(alarm.ns) ?? [];
    list.push({ actorId: alarm.actorId, at: alarm.at - by });
    moves.set(alarm.ns, list);
  }
  let moved = 0;
  for (const [ns, list] of moves) {
    writeAlarms(stored.sqlite3, ns, list);
    moved += list.length;
  }
  return moved;
}

/**
 * Sets the given actors' alarms in one namespace directory: each actor's own copy first, then the
 * scheduler's (both are checked by workerd, see above). One sqlite3 run; no Worker may use the state.
 */
function writeAlarms(sqlite3: string, ns: string, list: { actorId: string; at: bigint }[]): void {
  const script = [".bail on", "PRAGMA synchronous = OFF;"];
  for (const { actorId, at } of list) {
    script.push(
      `ATTACH '${path.join(ns, `${actorId}.sqlite`).replaceAll("'", "''")}' AS a;`,
      "PRAGMA a.synchronous = OFF;",
      `UPDATE a._cf_METADATA SET value = ${at} WHERE key = 1;`,
      "DETACH a;",
    );
  }
  script.push(
    "BEGIN;",
    ...list.map(({ actorId, at }) => `UPDATE _cf_ALARM SET scheduled_time = ${at} WHERE actor_id = '${actorId}';`),
    "COMMIT;",
  );
  execFileSync(sqlite3, [path.join(ns, "metadata.sqlite")], {
    input: script.join("\n"),
    stdio: ["pipe", "ignore", "pipe"],
    maxBuffer: 1 << 26,
  });
}
