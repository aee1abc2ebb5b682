import type { FieldIssue } from '../shared/errors.js';

/**
 * Usage metering of a student's VM in a lab: the hours it ran outside the lab's class hours, against the
 * student's quota (as in Azure Lab Services, scheduled hours do not count against the quota).
 *
 * It is computed from the VM's power transitions as recorded durably, each with a stable id: the same
 * event recorded twice (a worker replaying after a restart) counts once, and events may arrive out of
 * order. The result depends only on the set of events, the class hours and `now`.
 */

export interface PowerTransition {
  /** Stable id of the event (the same transition replayed keeps its id). */
  readonly id: string;
  /** ISO 8601: when the VM entered `state`. */
  readonly at: string;
  readonly state: 'running' | 'stopped';
}

/** A span of class hours, `[start, end)`, ISO 8601. */
export interface TimeWindow {
  readonly start: string;
  readonly end: string;
}

export interface UsageQuota {
  /** The lab's quota per student, hours. */
  readonly quotaHours: number;
  /** Hours instructors added for this student. */
  readonly addedHours: number;
}

export interface UsageInput extends UsageQuota {
  readonly transitions: readonly PowerTransition[];
  /** The lab's class hours up to `now` (at least); they do not count. */
  readonly exemptWindows: readonly TimeWindow[];
  readonly now: Date;
}

export interface UsageReport {
  readonly usedMs: number;
  /** Hours, to the hundredth (rounded down, so a student is never shown a quota used before it is). */
  readonly usedHours: number;
  readonly quotaHours: number;
  readonly addedHours: number;
  /** Hours left, to the hundredth (rounded down); never below 0. */
  readonly leftHours: number;
  readonly exhausted: boolean;
  /** ISO 8601: when the VM started, if it runs now. */
  readonly runningSince?: string;
  /**
   * ISO 8601: when the quota runs out if the VM keeps running (class hours in `exemptWindows` after
   * `now` taken into account); only for a running VM whose quota is not exhausted yet.
   */
  readonly exhaustsAt?: string;
}

export const MAX_QUOTA_HOURS = 2000;
const HOUR_MS = 3_600_000;

/** Issues of a quota or of added hours (whole quarters of an hour, 0 to `MAX_QUOTA_HOURS`). */
export function quotaHoursIssues(hours: unknown, field: string): FieldIssue[] {
  const ok = typeof hours === 'number' && Number.isFinite(hours) && hours >= 0 && hours <= MAX_QUOTA_HOURS && Number.isInteger(hours * 4);
  return ok ? [] : [{ field, message: `must be a number of hours from 0 to ${MAX_QUOTA_HOURS}, in quarters of an hour` }];
}

interface Span {
  readonly start: number;
  readonly end: number;
}

const parse = (text: string): number | undefined => {
  const t = Date.parse(text);
  return Number.isNaN(t) ? undefined : t;
};

/**
 * The running spans up to `now` from the transitions: duplicates (by id) counted once, ordered by time
 * then id (at one instant, a running VM's stop comes before a start, a stopped VM's start before a
 * stop); a `running` while running and a `stopped` while stopped change nothing. Events after `now`
 * and events whose time cannot be read are left out.
 */
export function runningSpans(transitions: readonly PowerTransition[], now: number): { spans: Span[]; openSince?: number } {
  const byId = new Map<string, { at: number; id: string; state: PowerTransition['state'] }>();
  for (const t of transitions) {
    const at = parse(t.at);
    if (at === undefined || at > now) continue;
    const known = byId.get(t.id);
    // Two different records under one id should not exist; if they do, the earlier one is kept.
    if (known === undefined || at < known.at) byId.set(t.id, { at, id: t.id, state: t.state });
  }
  const events = [...byId.values()].sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const spans: Span[] = [];
  let since: number | undefined;
  const apply = (e: { at: number; state: PowerTransition['state'] }): void => {
    if (e.state === 'running' && since === undefined) since = e.at;
    else if (e.state === 'stopped' && since !== undefined) {
      if (e.at > since) spans.push({ start: since, end: e.at });
      since = undefined;
    }
  };
  // Events at the same instant: a running VM stops first (one run ends as the next starts), a
  // stopped one starts first (a run that started and ended at that instant leaves it stopped).
  for (let i = 0; i < events.length; ) {
    let j = i;
    while (j < events.length && events[j]?.at === events[i]?.at) j += 1;
    const group = events.slice(i, j);
    const first = since === undefined ? 'running' : 'stopped';
    for (const e of group) if (e.state === first) apply(e);
    for (const e of group) if (e.state !== first) apply(e);
    i = j;
  }
  if (since !== undefined && now > since) spans.push({ start: since, end: now });
  return since === undefined ? { spans } : { spans, openSince: since };
}

/** The windows as sorted, merged spans (unreadable or empty ones left out). */
function mergedWindows(windows: readonly TimeWindow[]): Span[] {
  const spans = windows
    .map((w) => ({ start: parse(w.start), end: parse(w.end) }))
    .filter((w): w is Span => w.start !== undefined && w.end !== undefined && w.end > w.start)
    .sort((a, b) => a.start - b.start);
  const merged: Span[] = [];
  for (const w of spans) {
    const last = merged.at(-1);
    if (last !== undefined && w.start <= last.end) merged[merged.length - 1] = { start: last.start, end: Math.max(last.end, w.end) };
    else merged.push(w);
  }
  return merged;
}

/** Milliseconds of `span` outside the (merged) windows. */
function outside(span: Span, windows: readonly Span[]): number {
  let total = span.end - span.start;
  for (const w of windows) {
    const overlap = Math.min(span.end, w.end) - Math.max(span.start, w.start);
    if (overlap > 0) total -= overlap;
  }
  return total;
}

/** When `leftMs` of counted time will have passed from `from` on, skipping the windows. */
function exhaustionAt(from: number, leftMs: number, windows: readonly Span[]): number {
  let t = from;
  let left = leftMs;
  for (const w of windows) {
    if (w.start > t) {
      if (w.start - t >= left) return t + left;
      left -= w.start - t;
    }
    t = Math.max(t, w.end);
  }
  return t + left;
}

const floorHundredth = (hours: number): number => Math.floor(hours * 100 + 1e-9) / 100;

/** A student's usage and quota as of `now`. */
export function meterUsage(input: UsageInput): UsageReport {
  const now = input.now.getTime();
  const windows = mergedWindows(input.exemptWindows);
  const { spans, openSince } = runningSpans(input.transitions, now);
  const usedMs = spans.reduce((sum, s) => sum + outside(s, windows), 0);
  const allowedMs = Math.round((input.quotaHours + input.addedHours) * HOUR_MS);
  const exhausted = usedMs >= allowedMs;
  const leftMs = Math.max(0, allowedMs - usedMs);
  return {
    usedMs,
    usedHours: floorHundredth(usedMs / HOUR_MS),
    quotaHours: input.quotaHours,
    addedHours: input.addedHours,
    leftHours: floorHundredth(leftMs / HOUR_MS),
    exhausted,
    ...(openSince === undefined ? {} : { runningSince: new Date(openSince).toISOString() }),
    ...(openSince === undefined || exhausted ? {} : { exhaustsAt: new Date(exhaustionAt(now, leftMs, windows)).toISOString() }),
  };
}
