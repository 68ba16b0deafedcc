// Cron Triggers for `npm start`: Cloudflare's five-field syntax (UTC; weekdays 1-7 with
// 1 = Sunday, or SUN-SAT; `L` for the last day of the month, `5L` for the last Thursday,
// `2#1` for the first Monday, `15W` for the weekday nearest the 15th), read and scheduled by
// croner, and a dispatch at every minute a trigger matches, as a deployed Worker's triggers fire.
// What croner is told (or checked here) so that it reads Cloudflare's syntax: see CLOUDFLARE_SYNTAX.
import { Cron, type CronOptions } from "croner";

const CLOUDFLARE_SYNTAX: CronOptions = {
  timezone: "UTC",
  mode: "5-part",
  // Weekdays 1-7 from Sunday (Quartz numbering), not cron's 0-6.
  alternativeWeekdays: true,
  // `5/20` (from 5, every 20), as Quartz reads it; croner wants `*/20` or a range unless told.
  sloppyRanges: true,
  // When both day fields are restricted, either may match (croner's default, said here for the reader).
  domAndDow: false,
};

export interface CronTrigger {
  source: string;
  matches(at: Date): boolean;
}

/** Parses one trigger; throws on syntax Cloudflare would refuse (the message names the trigger). */
export function parseCron(source: string): CronTrigger {
  const job = cron(source);
  return { source, matches: (at) => job.match(at) };
}

function cron(source: string, onTick?: (job: Cron) => void): Cron {
  const fail = (why: string) => new Error(`cron "${source}": ${why}`);
  const fields = source.trim().split(/\s+/);
  if (fields.length !== 5) throw fail("expected 5 fields");
  // croner takes 8 for Sunday (its 7 + 1) and says "-1" for 0; Cloudflare has 1-7 (not after `#`).
  for (const m of fields[4]!.matchAll(/(?<!#)\d+/g)) {
    if (Number(m[0]) < 1 || Number(m[0]) > 7) throw fail(`weekday ${m[0]} is not in 1-7`);
  }
  try {
    return onTick
      ? new Cron(source, { ...CLOUDFLARE_SYNTAX, unref: true }, onTick)
      : new Cron(source, CLOUDFLARE_SYNTAX);
  } catch (err) {
    throw fail((err as Error).message.replace(/^CronPattern: /, ""));
  }
}

/**
 * Calls `dispatch(cron, scheduledTime)` for every trigger that matches each new minute (UTC),
 * starting with the next minute boundary. Returns a stop function.
 */
export function scheduleCrons(sources: string[], dispatch: (cron: string, scheduledTime: Date) => void): () => void {
  const jobs = sources.map((source) =>
    // croner runs a job at or after its minute; the minute it was due is the scheduled time.
    cron(source, (job) => dispatch(source, new Date(Math.floor(job.currentRun()!.getTime() / 60_000) * 60_000))),
  );
  return () => {
    for (const job of jobs) job.stop();
  };
}
