import type { FieldIssue } from '../shared/errors.js';
import { DNS_LABEL } from '../shared/ids.js';
import { isTimeZone, parseLocalDate, parseLocalTime } from '../shared/zoned-time.js';
import { WEEKDAYS, type LabSchedule, type Weekday } from './lab.js';

/** At most this many schedules per lab. */
export const MAX_SCHEDULES = 20;
/** Longest schedule name (a DNS label). */
export const MAX_SCHEDULE_NAME = 40;

const DATE_TIME = /^(\d{4}-\d{2}-\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;

/**
 * Epoch milliseconds of an RFC 3339 date-time that carries its offset (`Z` or `±HH:MM`), or
 * undefined when it is malformed, has no offset, or names an impossible date or time (leap
 * seconds, `:60`, are refused).
 */
export function parseDateTime(text: string): number | undefined {
  const m = DATE_TIME.exec(text);
  if (m === null) return undefined;
  const day = parseLocalDate(m[1] ?? '');
  const [h, min, s] = [Number(m[2]), Number(m[3]), Number(m[4])];
  const [offH, offMin] = [Number(m[7] ?? 0), Number(m[8] ?? 0)];
  if (day === undefined || h > 23 || min > 59 || s > 59 || offH > 23 || offMin > 59) return undefined;
  const ms = Math.floor(Number(`0${m[5] ?? ''}`) * 1000);
  const offset = (m[6] === '-' ? -1 : 1) * (offH * 60 + offMin) * 60_000;
  return day * 86_400_000 + ((h * 60 + min) * 60 + s) * 1000 + ms - offset;
}

function timeIssues(s: LabSchedule, at: string): FieldIssue[] {
  const issues: FieldIssue[] = [];
  if (s.startTime === undefined && s.stopTime === undefined) {
    issues.push({ field: at, message: 'A schedule needs a startTime, a stopTime or both.' });
  }
  for (const key of ['startTime', 'stopTime'] as const) {
    const value = s[key];
    if (value !== undefined && parseLocalTime(value) === undefined) {
      issues.push({ field: `${at}/${key}`, message: 'Must be a 24-hour time HH:MM between 00:00 and 23:59.' });
    }
  }
  if (s.startTime !== undefined && s.startTime === s.stopTime) {
    issues.push({ field: `${at}/stopTime`, message: 'Must differ from startTime.' });
  }
  return issues;
}

function dayIssues(days: readonly string[], at: string): FieldIssue[] {
  if (days.length === 0) return [{ field: `${at}/days`, message: 'Name at least one day.' }];
  const issues: FieldIssue[] = [];
  const seen = new Set<string>();
  days.forEach((d, j) => {
    if (!WEEKDAYS.includes(d as Weekday)) issues.push({ field: `${at}/days/${j}`, message: `Must be one of ${WEEKDAYS.join(', ')}.` });
    else if (seen.has(d)) issues.push({ field: `${at}/days/${j}`, message: `'${d}' is listed twice.` });
    seen.add(d);
  });
  return issues;
}

function dateIssues(s: LabSchedule, at: string): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const parsed: Partial<Record<'startDate' | 'endDate', number>> = {};
  for (const key of ['startDate', 'endDate'] as const) {
    const value = s[key];
    if (value === undefined) continue;
    const day = parseLocalDate(value);
    if (day === undefined) issues.push({ field: `${at}/${key}`, message: 'Must be a calendar date YYYY-MM-DD.' });
    else parsed[key] = day;
  }
  if (parsed.startDate !== undefined && parsed.endDate !== undefined && parsed.endDate < parsed.startDate) {
    issues.push({ field: `${at}/endDate`, message: 'Must not be before startDate.' });
  }
  return issues;
}

function oneScheduleIssues(s: LabSchedule, at: string): FieldIssue[] {
  const issues: FieldIssue[] = [];
  if (s.name.length > MAX_SCHEDULE_NAME || !DNS_LABEL.test(s.name)) {
    issues.push({ field: `${at}/name`, message: `Must be a DNS label (a-z, 0-9, '-') of at most ${MAX_SCHEDULE_NAME} characters.` });
  }
  issues.push(...dayIssues(s.days, at), ...timeIssues(s, at));
  if (!isTimeZone(s.timeZone)) {
    issues.push({ field: `${at}/timeZone`, message: 'Must be an IANA time zone such as Europe/Berlin.' });
  }
  issues.push(...dateIssues(s, at));
  return issues;
}

/**
 * What is wrong with a lab's schedules and end of course, as JSON-pointer field issues
 * (`/schedules/0/timeZone`, `/endsAt`); empty when they are valid.
 */
export function scheduleIssues(schedules: readonly LabSchedule[], endsAt?: string): FieldIssue[] {
  const issues: FieldIssue[] = [];
  if (schedules.length > MAX_SCHEDULES) {
    issues.push({ field: '/schedules', message: `At most ${MAX_SCHEDULES} schedules per lab.` });
  }
  const names = new Set<string>();
  schedules.forEach((s, i) => {
    const at = `/schedules/${i}`;
    issues.push(...oneScheduleIssues(s, at));
    if (names.has(s.name)) issues.push({ field: `${at}/name`, message: `Another schedule is already named '${s.name}'.` });
    names.add(s.name);
  });
  if (endsAt !== undefined && parseDateTime(endsAt) === undefined) {
    issues.push({ field: '/endsAt', message: 'Must be an RFC 3339 date-time with an offset, e.g. 2025-07-31T18:00:00+02:00.' });
  }
  return issues;
}
