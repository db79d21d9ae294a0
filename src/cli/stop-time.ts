/**
 * --stop-after and --stop-at: when a run must give up (upstream's
 * stop_at_utime, checked by the I/O loop; options.c parse_time reads the
 * --stop-at value). Times are local, as `man rsync` says.
 */
import { usageError } from "../errors.ts";

/** --stop-after=MINS (and its old name --time-limit): whole minutes from now, as atol reads them. */
export function stopAfter(arg: string, nowSeconds: number): number {
  const minutes = Number.parseInt(/^\s*[-+]?\d*/.exec(arg)![0], 10);
  if (!(minutes > 0)) throw usageError(`rsync: invalid --stop-after value: ${arg}`);
  return nowSeconds + minutes * 60;
}

/** --stop-at=y-m-dTh:m: the next moment matching what was given, in epoch seconds. */
export function stopAt(arg: string, nowSeconds: number): number {
  const at = parseStopAt(arg, nowSeconds);
  if (at === null) throw usageError(`rsync: invalid --stop-at format: ${arg}`);
  if (at <= nowSeconds) throw usageError(`rsync: --stop-at time is not in the future: ${arg}`);
  return at;
}

/** Which field a partial --stop-at value advances to reach the future: the first one left out. */
const enum Roll {
  None,
  Year,
  Month,
  Day,
}

/**
 * The value's grammar: numbers separated by '-' or '/' are a date whose
 * last number is the day (so "12-31" is a month and day), a 'T' starts the
 * time, and a number followed by ':' starts it too; "h:m" or ":m" (minutes
 * only, every hour). Left-out fields take today's values and then roll
 * forward until the moment is in the future. Returns null when malformed.
 */
export function parseStopAt(arg: string, nowSeconds: number): number | null {
  let year = -1;
  let mon = -1;
  let mday = -1;
  let hour = -1;
  let min = -1;
  // 1: reading the date; -1: after a 'T' (a lone number there is no time); 0: reading the time.
  let reading = 1;
  let i = 0;
  if (arg[0] === "T" || arg[0] === "t" || arg[0] === ":") {
    reading = arg[0] === ":" ? 0 : -1;
    i++;
  }
  const isDigit = (c: string | undefined) => c !== undefined && c >= "0" && c <= "9";
  for (;;) {
    if (!isDigit(arg[i])) return null;
    let n = 0;
    while (isDigit(arg[i])) n = n * 10 + Number(arg[i++]);
    const next = arg[i];
    if (next === ":") reading = 0;
    if (reading > 0) {
      if (year !== -1) return null;
      [year, mon, mday] = [mon, mday, n];
      if (next === undefined) break;
      if (next === "T" || next === "t") {
        if (i + 1 === arg.length) break;
        reading = -1;
      } else if (next !== "-" && next !== "/") return null;
      i++;
      continue;
    }
    if (hour !== -1) return null;
    [hour, min] = [min, n];
    if (next === undefined) {
      if (reading < 0) return null;
      break;
    }
    if (next !== ":") return null;
    reading = 0;
    i++;
  }

  const today = new Date(nowSeconds * 1000);
  let roll = Roll.None;
  if (year < 0) {
    year = today.getFullYear();
    roll = Roll.Year;
  } else if (year < 100) {
    // A two-digit year is the first such year from this one on.
    year += 1900;
    while (year < today.getFullYear()) year += 100;
  }
  if (mon < 0) {
    mon = today.getMonth();
    roll = Roll.Month;
  } else mon--;
  if (mday < 0) {
    mday = today.getDate();
    roll = Roll.Day;
  }
  let hourly = false;
  if (min < 0) {
    hour = min = 0;
  } else if (hour < 0) {
    // Minutes alone mean "the next hh:MM", which only makes sense without a date.
    if (roll !== Roll.Day) return null;
    roll = Roll.None;
    hour = today.getHours();
    hourly = true;
  }
  if (hour > 23 || min > 59 || mon < 0 || mon >= 12 || mday < 1 || mday > 31) return null;

  // Like mktime, a day past the month's end moves into the next month, and the fields are read back normalized.
  let wantedMday = mday;
  let when = 0;
  const compose = () => {
    const d = new Date(year, mon, mday, hour, min, 0, 0);
    [year, mon, mday] = [d.getFullYear(), d.getMonth(), d.getDate()];
    when = Math.floor(d.getTime() / 1000);
  };
  compose();
  while (roll !== Roll.None && (when <= nowSeconds || mday < wantedMday)) {
    if (roll === Roll.Day) {
      wantedMday = ++mday;
    } else if (roll === Roll.Month) {
      // A day the month does not have has already moved the date into the next month: keep that month.
      if (mday < wantedMday) mday = wantedMday;
      else if (++mon === 12) {
        mon = 0;
        year++;
      }
    } else {
      if (mday < wantedMday) {
        // Only February 29th may wait for a later year.
        if (mon !== 2 || wantedMday !== 29) return null;
        mon = 1;
        mday = 29;
      }
      year++;
    }
    compose();
  }
  if (hourly) while (when <= nowSeconds) when += 3600;
  return when;
}
