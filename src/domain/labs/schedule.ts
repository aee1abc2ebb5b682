import { isoWeekdayIndex, localDay, parseLocalDate, parseLocalTime, zonedInstant } from '../shared/zoned-time.js';
import { WEEKDAYS, type LabSchedule, type LabScheduleAction, type LabSpec } from './lab.js';
import { parseDateTime, scheduleIssues } from './schedule-issues.js';

export { scheduleIssues, MAX_SCHEDULES } from './schedule-issues.js';

/** What of a lab its schedule events are computed from (a `LabRecord` is one). */
export type ScheduleSource = Pick<LabSpec, 'schedules' | 'endsAt' | 'endGracePeriodDays'>;

/** One event of a lab's schedule. */
export interface ScheduleEvent {
  readonly action: LabScheduleAction;
  /** When it is (was) due: ISO 8601 UTC with milliseconds (`Date.prototype.toISOString`). */
  readonly dueAt: string;
  /** The schedule a `start`/`stop` comes from; absent for `end`/`remove`. */
  readonly schedule?: string;
}

/** What the schedules say a lab's VMs should be doing. */
export type DesiredPower = 'running' | 'stopped';

const DAY_MS = 86_400_000;
/** Weekly events: the latest (next) occurrence lies within 7 local days; one more for zone offsets. */
const WINDOW_DAYS = 8;
/** Of events due at the same instant, the higher rank is the one that counts. */
const RANK: Readonly<Record<LabScheduleAction, number>> = { start: 0, stop: 1, end: 2, remove: 3 };

interface Occurrence {
  readonly action: LabScheduleAction;
  readonly at: number;
  readonly schedule?: string;
}

interface Window {
  readonly schedule: LabSchedule;
  readonly days: ReadonlySet<number>;
  /** `dayOffset` 1: a stop before its start ends the window on the next local day. */
  readonly times: readonly { readonly action: 'start' | 'stop'; readonly minute: number; readonly dayOffset: 0 | 1 }[];
  readonly firstDay: number;
  readonly lastDay: number;
}

/** A schedule in computable form, or undefined when it could never fire (or is invalid: see `scheduleIssues`). */
function windowOf(schedule: LabSchedule): Window | undefined {
  if (scheduleIssues([schedule]).length > 0) return undefined;
  const times: { action: 'start' | 'stop'; minute: number; dayOffset: 0 | 1 }[] = [];
  const start = schedule.startTime === undefined ? undefined : parseLocalTime(schedule.startTime);
  const stop = schedule.stopTime === undefined ? undefined : parseLocalTime(schedule.stopTime);
  if (start !== undefined) times.push({ action: 'start', minute: start, dayOffset: 0 });
  if (stop !== undefined) times.push({ action: 'stop', minute: stop, dayOffset: start !== undefined && stop < start ? 1 : 0 });
  return {
    schedule,
    days: new Set(schedule.days.map((d) => WEEKDAYS.indexOf(d))),
    times,
    firstDay: (schedule.startDate === undefined ? undefined : parseLocalDate(schedule.startDate)) ?? -Infinity,
    lastDay: (schedule.endDate === undefined ? undefined : parseLocalDate(schedule.endDate)) ?? Infinity,
  };
}

/**
 * Occurrences of the windows that open on local days `from..to` (inclusive, clipped to the
 * schedule's date range; the stop of a window crossing midnight falls on the day after).
 */
function occurrencesOn(w: Window, from: number, to: number): Occurrence[] {
  const out: Occurrence[] = [];
  for (let day = Math.max(from, w.firstDay); day <= Math.min(to, w.lastDay); day += 1) {
    if (!w.days.has(isoWeekdayIndex(day))) continue;
    for (const t of w.times) {
      out.push({ action: t.action, at: zonedInstant(w.schedule.timeZone, day + t.dayOffset, t.minute), schedule: w.schedule.name });
    }
  }
  return out;
}

/** Highest instant first; at the same instant, the higher rank first. */
function latestFirst(a: Occurrence, b: Occurrence): number {
  return b.at - a.at || RANK[b.action] - RANK[a.action];
}

function toEvent(o: Occurrence): ScheduleEvent {
  return { action: o.action, dueAt: new Date(o.at).toISOString(), ...(o.schedule === undefined ? {} : { schedule: o.schedule }) };
}

/** `end` at endsAt and `remove` endGracePeriodDays later; none without a (valid) endsAt. */
function endOccurrences(source: ScheduleSource): { readonly endsAt: number | undefined; readonly events: Occurrence[] } {
  const endsAt = source.endsAt === undefined ? undefined : parseDateTime(source.endsAt);
  if (endsAt === undefined) return { endsAt, events: [] };
  const graceMs = Math.max(0, source.endGracePeriodDays) * DAY_MS;
  return {
    endsAt,
    events: [
      { action: 'end', at: endsAt },
      { action: 'remove', at: endsAt + graceMs },
    ],
  };
}

/** The latest start/stop of each schedule at or before `upTo`, looking back one week from the last day that can count. */
function latestWeekly(source: ScheduleSource, upTo: number): Occurrence[] {
  const out: Occurrence[] = [];
  for (const schedule of source.schedules) {
    const w = windowOf(schedule);
    if (w === undefined) continue;
    const last = Math.min(localDay(schedule.timeZone, upTo), w.lastDay);
    const found = occurrencesOn(w, last - WINDOW_DAYS, last).filter((o) => o.at <= upTo);
    const latest = found.sort(latestFirst)[0];
    if (latest !== undefined) out.push(...found.filter((o) => o.at === latest.at));
  }
  return out;
}

/**
 * Events: each schedule's start and stop, wall-clock in its zone on its days within
 * startDate..endDate (when stopTime is before startTime the window crosses midnight and the stop
 * falls on the next day, even past endDate); `end` at endsAt; `remove` endGracePeriodDays later.
 *
 * The event a lab should be brought in line with now: the latest one due at or before `now` and
 * strictly after `after` (the `dueAt` of the event last applied), or undefined.
 *
 * Level-triggered: when several fell due (a worker was down across them) only the latest counts.
 * At one instant `remove` beats `end` beats `stop` beats `start`. Start/stop events after
 * `endsAt` never count. Schedules failing `scheduleIssues` and an unparsable `endsAt` are ignored;
 * an unparsable `after` counts as absent.
 */
export function dueEvent(source: ScheduleSource, now: Date, after?: string): ScheduleEvent | undefined {
  const nowMs = now.getTime();
  const afterMs = after === undefined ? NaN : Date.parse(after);
  const end = endOccurrences(source);
  const weeklyUpTo = end.endsAt === undefined ? nowMs : Math.min(nowMs, end.endsAt);
  const candidates = [...latestWeekly(source, weeklyUpTo), ...end.events].filter((o) => o.at <= nowMs && !(o.at <= afterMs)).sort(latestFirst);
  const first = candidates[0];
  return first === undefined ? undefined : toEvent(first);
}

/**
 * The next event strictly after `now` (for display), or undefined when none is coming. Of events at
 * the same instant, the one that will count (see `dueEvent`) is returned.
 */
export function nextEvent(source: ScheduleSource, now: Date): ScheduleEvent | undefined {
  const nowMs = now.getTime();
  const end = endOccurrences(source);
  const candidates = end.events.filter((o) => o.at > nowMs);
  for (const schedule of source.schedules) {
    const w = windowOf(schedule);
    if (w === undefined) continue;
    const first = Math.max(localDay(schedule.timeZone, nowMs) - 1, w.firstDay);
    for (const o of occurrencesOn(w, first, first + WINDOW_DAYS)) {
      if (o.at > nowMs && (end.endsAt === undefined || o.at <= end.endsAt)) candidates.push(o);
    }
  }
  candidates.sort((a, b) => a.at - b.at || RANK[b.action] - RANK[a.action]);
  const next = candidates[0];
  return next === undefined ? undefined : toEvent(next);
}

/**
 * What the schedules say the VMs should be now: `running` after a start, `stopped` after a stop,
 * the end of the course or the removal; undefined when no event has fired yet.
 */
export function desiredPower(source: ScheduleSource, now: Date): DesiredPower | undefined {
  const event = dueEvent(source, now);
  if (event === undefined) return undefined;
  return event.action === 'start' ? 'running' : 'stopped';
}

/** A span of class hours, `[start, end)`, ISO 8601 UTC. */
export interface ClassWindow {
  readonly start: string;
  readonly end: string;
  readonly schedule: string;
}

/**
 * The class hours of a lab overlapping `[from, to)`: each occurrence of a schedule with both a start
 * and a stop time, from its start to its stop, clipped to `[from, to)` and cut at `endsAt`. A
 * start-only or stop-only schedule has no class hours. Ordered by start; they may overlap.
 */
export function classWindows(source: ScheduleSource, from: Date, to: Date): ClassWindow[] {
  const fromMs = from.getTime();
  const toMs = to.getTime();
  const endsAt = source.endsAt === undefined ? undefined : parseDateTime(source.endsAt);
  const upTo = Math.min(toMs, endsAt ?? Infinity);
  const out: { start: number; end: number; schedule: string }[] = [];
  for (const schedule of source.schedules) {
    const w = windowOf(schedule);
    const start = w?.times[0];
    const stop = w?.times[1];
    if (w === undefined || start === undefined || stop === undefined) continue;
    const first = Math.max(localDay(schedule.timeZone, fromMs) - 1, w.firstDay);
    const last = Math.min(localDay(schedule.timeZone, upTo) + 1, w.lastDay);
    for (let day = first; day <= last; day += 1) {
      if (!w.days.has(isoWeekdayIndex(day))) continue;
      const s = Math.max(zonedInstant(schedule.timeZone, day, start.minute), fromMs);
      const e = Math.min(zonedInstant(schedule.timeZone, day + stop.dayOffset, stop.minute), upTo);
      if (e > s) out.push({ start: s, end: e, schedule: schedule.name });
    }
  }
  return out
    .sort((a, b) => a.start - b.start || a.end - b.end)
    .map((o) => ({ start: new Date(o.start).toISOString(), end: new Date(o.end).toISOString(), schedule: o.schedule }));
}
