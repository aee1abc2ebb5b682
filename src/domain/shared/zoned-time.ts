/**
 * Wall-clock arithmetic in IANA time zones on the runtime's own `Intl` (ICU tz data), so the domain
 * needs no date library. Instants are epoch milliseconds; local dates are epoch day numbers (days
 * since 1970-01-01 on the proleptic Gregorian calendar, no zone).
 */

const DAY_MS = 86_400_000;
const ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/;
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, f);
  }
  return f;
}

/** Wall-clock fields of an instant in a zone, as if they were UTC (milliseconds, whole seconds). */
function wallClockMs(zone: string, instantMs: number): number {
  const fields: Record<string, number> = {};
  for (const part of formatter(zone).formatToParts(new Date(instantMs))) {
    if (part.type !== 'literal') fields[part.type] = Number(part.value);
  }
  const { year = NaN, month = NaN, day = NaN, hour = NaN, minute = NaN, second = NaN } = fields;
  const utc = new Date(0);
  utc.setUTCFullYear(year, month - 1, day);
  utc.setUTCHours(hour, minute, second, 0);
  return utc.getTime();
}

/**
 * True for an IANA zone name the runtime knows (`Europe/Berlin`, `UTC`, `Etc/GMT+5`); fixed
 * offsets such as `+01:00` are refused even where `Intl` accepts them.
 */
export function isTimeZone(name: string): boolean {
  if (!ZONE_NAME.test(name)) return false;
  try {
    formatter(name);
    return true;
  } catch {
    return false;
  }
}

/** UTC offset of `zone` at an instant, in milliseconds (positive east of Greenwich). Throws RangeError for an unknown zone. */
export function zoneOffsetMs(zone: string, instantMs: number): number {
  const whole = Math.floor(instantMs / 1000) * 1000;
  return wallClockMs(zone, whole) - whole;
}

/** The local date (epoch day number) of an instant in `zone`. */
export function localDay(zone: string, instantMs: number): number {
  return Math.floor((instantMs + zoneOffsetMs(zone, instantMs)) / DAY_MS);
}

/** Epoch day number of a `YYYY-MM-DD` calendar date, or undefined when it is malformed or not a real date. */
export function parseLocalDate(text: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (m === null) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const ms = Date.UTC(y, mo - 1, d);
  const back = new Date(ms);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) return undefined;
  return ms / DAY_MS;
}

/** Minutes since local midnight of an `HH:MM` (00:00–23:59) time, or undefined when malformed. */
export function parseLocalTime(text: string): number | undefined {
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(text);
  return m === null ? undefined : Number(m[1]) * 60 + Number(m[2]);
}

/** Day of the week of an epoch day number: 0 Monday … 6 Sunday. */
export function isoWeekdayIndex(day: number): number {
  return (((day + 3) % 7) + 7) % 7;
}

/**
 * The instant at which the wall clock in `zone` shows `minuteOfDay` on local date `day`.
 *
 * - A local time skipped by a forward transition (spring forward) resolves to the transition
 *   itself: the first valid instant after it (02:30 on a 02:00→03:00 night is 03:00 new time).
 * - A local time that occurs twice (fall back) resolves to its first occurrence.
 *
 * Assumes at most one offset change within a day of the local time (true of every IANA zone).
 */
export function zonedInstant(zone: string, day: number, minuteOfDay: number): number {
  const local = day * DAY_MS + minuteOfDay * 60_000;
  const before = zoneOffsetMs(zone, local - DAY_MS);
  const after = zoneOffsetMs(zone, local + DAY_MS);
  const valid = [...new Set([before, after])].map((o) => local - o).filter((t) => local - zoneOffsetMs(zone, t) === t);
  if (valid.length > 0) return Math.min(...valid);
  // In a gap: offset `before` holds until the transition T, `after` from T on, T in (local-after, local-before].
  let lo = local - after;
  let hi = local - before;
  while (hi - lo > 1000) {
    const mid = Math.floor((lo + hi) / 2000) * 1000;
    if (zoneOffsetMs(zone, mid) === before) lo = mid;
    else hi = mid;
  }
  return hi;
}
