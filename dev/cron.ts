// Cron Triggers for `npm start`: Cloudflare's five-field syntax (UTC; weekdays 1-7 with
// 1 = Sunday, or SUN-SAT; `L` for the last day of the month, `5L` for the last Thursday,
// `2#1` for the first Monday), and a scheduler that calls `dispatch` at every minute a
// trigger matches, like a deployed Worker's triggers fire.
const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

interface Field {
  any: boolean;
  values: Set<number>;
}

export interface Cron {
  source: string;
  matches(at: Date): boolean;
}

function field(text: string, min: number, max: number, names: string[] = [], nameBase = 1): Field {
  if (text === "*" || text === "?") return { any: true, values: new Set() };
  const values = new Set<number>();
  const num = (s: string): number => {
    const i = names.indexOf(s.toUpperCase());
    const n = i >= 0 ? i + nameBase : Number(s);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${s} is not in ${min}-${max}`);
    return n;
  };
  for (const part of text.split(",")) {
    const [range, stepText] = part.split("/") as [string, string | undefined];
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw new Error(`bad step in ${part}`);
    const [a, b] =
      range === "*"
        ? [min, max]
        : range.includes("-")
          ? range.split("-").map(num)
          : [num(range), stepText ? max : num(range)];
    for (let v = a!; v <= b!; v += step) values.add(v);
  }
  return { any: false, values };
}

/** Parses one trigger; throws on syntax it does not know (the caller names the trigger). */
export function parseCron(source: string): Cron {
  const parts = source.trim().split(/\s+/);
  if (parts.length !== 5) throw new Error(`cron "${source}": expected 5 fields`);
  const [mi, h, dom, mo, dow] = parts as [string, string, string, string, string];
  try {
    const minute = field(mi, 0, 59);
    const hour = field(h, 0, 23);
    const month = field(mo, 1, 12, MONTHS);
    const lastDay = dom.toUpperCase() === "L";
    if (/W/i.test(dom)) throw new Error("W is not supported locally");
    const day = lastDay ? { any: false, values: new Set<number>() } : field(dom, 1, 31);
    // Weekday specials: `nL` (last n-day of the month), `n#k` (k-th n-day); n in 1-7 or a name.
    const special = /^(\w+)(L|#([1-5]))$/i.exec(dow);
    const weekday = special ? field(special[1]!, 1, 7, DAYS) : field(dow, 1, 7, DAYS);
    const weekdayMatches = (at: Date): boolean => {
      const wd = at.getUTCDay() + 1;
      if (!weekday.any && !weekday.values.has(wd)) return false;
      if (!special) return true;
      const d = at.getUTCDate();
      if (special[2]!.toUpperCase() === "L") return d + 7 > daysInMonth(at);
      return Math.ceil(d / 7) === Number(special[3]);
    };
    const dayMatches = (at: Date): boolean =>
      lastDay ? at.getUTCDate() === daysInMonth(at) : day.any || day.values.has(at.getUTCDate());
    const dayRestricted = lastDay || !day.any;
    const weekdayRestricted = !!special || !weekday.any;
    return {
      source,
      matches(at) {
        if (!minute.any && !minute.values.has(at.getUTCMinutes())) return false;
        if (!hour.any && !hour.values.has(at.getUTCHours())) return false;
        if (!month.any && !month.values.has(at.getUTCMonth() + 1)) return false;
        // As in cron: when both day fields are restricted, either may match.
        if (dayRestricted && weekdayRestricted) return dayMatches(at) || weekdayMatches(at);
        return dayMatches(at) && weekdayMatches(at);
      },
    };
  } catch (err) {
    throw new Error(`cron "${source}": ${(err as Error).message}`);
  }
}

function daysInMonth(at: Date): number {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 0)).getUTCDate();
}

/**
 * Calls `dispatch(cron, scheduledTime)` for every trigger that matches each new minute (UTC),
 * starting with the next minute boundary. Returns a stop function.
 */
export function scheduleCrons(sources: string[], dispatch: (cron: string, scheduledTime: Date) => void): () => void {
  const crons = sources.map(parseCron);
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    const next = Math.floor(Date.now() / 60_000) * 60_000 + 60_000;
    timer = setTimeout(() => {
      const at = new Date(next);
      for (const c of crons) if (c.matches(at)) dispatch(c.source, at);
      arm();
    }, next - Date.now());
    timer.unref();
  };
  if (crons.length) arm();
  return () => clearTimeout(timer);
}
