import { describe, expect, it } from 'vitest';
import { meterUsage, quotaHoursIssues, runningSpans, type PowerTransition, type TimeWindow } from '../../src/domain/usage/usage-meter.js';

const T0 = Date.parse('2026-03-02T00:00:00.000Z');
const H = 3_600_000;
const at = (hours: number): string => new Date(T0 + hours * H).toISOString();
const on = (id: string, hours: number): PowerTransition => ({ id, at: at(hours), state: 'running' });
const off = (id: string, hours: number): PowerTransition => ({ id, at: at(hours), state: 'stopped' });
const win = (from: number, to: number): TimeWindow => ({ start: at(from), end: at(to) });

const meter = (transitions: PowerTransition[], nowHours: number, windows: TimeWindow[] = [], quotaHours = 10, addedHours = 0) =>
  meterUsage({ transitions, exemptWindows: windows, quotaHours, addedHours, now: new Date(T0 + nowHours * H) });

describe('running spans', () => {
  it.each<[string, PowerTransition[], number, [number, number][]]>([
    ['one closed run', [on('a', 1), off('b', 3)], 10, [[1, 3]]],
    ['an open run ends now', [on('a', 1)], 4, [[1, 4]]],
    [
      'two runs',
      [on('a', 1), off('b', 2), on('c', 5), off('d', 6.5)],
      10,
      [
        [1, 2],
        [5, 6.5],
      ],
    ],
    [
      'out of order',
      [off('d', 6.5), on('c', 5), off('b', 2), on('a', 1)],
      10,
      [
        [1, 2],
        [5, 6.5],
      ],
    ],
    ['duplicates by id', [on('a', 1), on('a', 1), off('b', 2), off('b', 2)], 10, [[1, 2]]],
    [
      'one id recorded twice at different times keeps the earlier',
      [on('a', 1), off('b', 3), { id: 'b', at: at(3.5), state: 'running' }],
      5,
      [[1, 3]],
    ],
    ['a second running while running changes nothing', [on('a', 1), on('b', 2), off('c', 3)], 10, [[1, 3]]],
    ['a stopped while stopped changes nothing', [off('x', 0), on('a', 1), off('b', 2), off('c', 4)], 10, [[1, 2]]],
    ['events after now are left out', [on('a', 1), off('b', 12)], 10, [[1, 10]]],
    ['unreadable times are left out', [on('a', 1), { id: 'b', at: 'yesterday', state: 'stopped' }], 3, [[1, 3]]],
  ])('%s', (_name, transitions, nowHours, expected) => {
    const { spans } = runningSpans(transitions, T0 + nowHours * H);
    expect(spans.map((s) => [(s.start - T0) / H, (s.end - T0) / H])).toEqual(expected);
  });
});

describe('usage against the quota', () => {
  it('counts the running hours and what is left', () => {
    expect(meter([on('a', 1), off('b', 4)], 10)).toEqual({
      usedMs: 3 * H,
      usedHours: 3,
      quotaHours: 10,
      addedHours: 0,
      leftHours: 7,
      exhausted: false,
    });
  });
  it('replaying every event (a restarted worker) counts nothing twice', () => {
    const events = [on('a', 1), off('b', 4), on('c', 6), off('d', 7)];
    expect(meter([...events, ...events.toReversed(), ...events], 10)).toEqual(meter(events, 10));
  });
  it('does not count class hours', () => {
    // Runs 8-13, class 9-12: 2 hours count.
    expect(meter([on('a', 8), off('b', 13)], 20, [win(9, 12)]).usedHours).toBe(2);
  });
  it('does not count overlapping class hours twice', () => {
    // Runs 8-13, classes 9-11 and 10-12 (together 9-12), and one outside the run.
    expect(meter([on('a', 8), off('b', 13)], 20, [win(10, 12), win(9, 11), win(15, 16)]).usedHours).toBe(2);
  });
  it('ignores empty or unreadable windows', () => {
    expect(meter([on('a', 8), off('b', 13)], 20, [win(10, 10), win(12, 9), { start: 'x', end: at(13) }]).usedHours).toBe(5);
  });
  it('a run entirely in class hours costs nothing', () => {
    expect(meter([on('a', 9), off('b', 11)], 20, [win(8, 12)]).usedMs).toBe(0);
  });
  it('adds the instructor hours to the quota', () => {
    const r = meter([on('a', 0), off('b', 12)], 20, [], 10, 5);
    expect(r).toMatchObject({ usedHours: 12, leftHours: 3, exhausted: false });
  });
  it('is exhausted at the quota exactly, and never shows negative hours left', () => {
    expect(meter([on('a', 0), off('b', 10)], 20)).toMatchObject({ exhausted: true, leftHours: 0 });
    expect(meter([on('a', 0), off('b', 14)], 20)).toMatchObject({ exhausted: true, leftHours: 0, usedHours: 14 });
    expect(meter([on('a', 0), off('b', 9.99)], 20)).toMatchObject({ exhausted: false });
  });
  it('a zero quota is exhausted from the start', () => {
    expect(meter([], 5, [], 0)).toMatchObject({ usedMs: 0, exhausted: true });
  });
  it('rounds hours down to the hundredth', () => {
    // 1 h 59 min 59 s used of 10: 1.99 used, 8.00 left.
    const r = meter([on('a', 0), { id: 'b', at: new Date(T0 + 2 * H - 1000).toISOString(), state: 'stopped' }], 5);
    expect(r).toMatchObject({ usedHours: 1.99, leftHours: 8 });
  });
});

describe('a running VM', () => {
  it('says since when it runs and when its quota runs out', () => {
    expect(meter([on('a', 1)], 3)).toMatchObject({ usedHours: 2, runningSince: at(1), exhaustsAt: at(11) });
  });
  it('skips coming class hours when saying when the quota runs out', () => {
    // 2 h used at 3:00, 8 h left; class 5-9 does not count: runs out at 15:00.
    expect(meter([on('a', 1)], 3, [win(5, 9)])).toMatchObject({ exhaustsAt: at(15) });
    // Now inside class hours 2-6: nothing counts until 6.
    expect(meter([on('a', 1)], 3, [win(2, 6)])).toMatchObject({ usedHours: 1, exhaustsAt: at(15) });
    // Class hours after the quota runs out change nothing.
    expect(meter([on('a', 1)], 3, [win(20, 22)])).toMatchObject({ exhaustsAt: at(11) });
  });
  it('says nothing of exhaustion when stopped or exhausted', () => {
    expect(meter([on('a', 1), off('b', 2)], 3).exhaustsAt).toBeUndefined();
    expect(meter([on('a', 1), off('b', 2)], 3).runningSince).toBeUndefined();
    expect(meter([on('a', 0)], 12)).toMatchObject({ exhausted: true, runningSince: at(0) });
    expect(meter([on('a', 0)], 12).exhaustsAt).toBeUndefined();
  });
});

describe('quota hours', () => {
  it.each([0, 0.25, 10, 2000])('accepts %s', (h) => expect(quotaHoursIssues(h, '/usageQuotaHours')).toEqual([]));
  it.each([-1, 0.1, 2000.25, Number.NaN, Infinity, '10', null])('refuses %s', (h) =>
    expect(quotaHoursIssues(h, '/usageQuotaHours').map((i) => i.field)).toEqual(['/usageQuotaHours']),
  );
});
