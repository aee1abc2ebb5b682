import { describe, expect, it } from 'vitest';
import type { LabSchedule, Weekday } from '../../src/domain/labs/lab.js';
import { desiredPower, dueEvent, nextEvent, scheduleIssues, type ScheduleSource } from '../../src/domain/labs/schedule.js';

const WEEKDAYS_ONLY = ['mon', 'tue', 'wed', 'thu', 'fri'] as const;

function window(overrides: Partial<LabSchedule> = {}): LabSchedule {
  return { name: 'class', days: [...WEEKDAYS_ONLY], startTime: '08:00', stopTime: '18:00', timeZone: 'Europe/Berlin', ...overrides };
}

function lab(schedules: readonly LabSchedule[], end: Partial<Pick<ScheduleSource, 'endsAt' | 'endGracePeriodDays'>> = {}): ScheduleSource {
  return { schedules, endGracePeriodDays: 14, ...end };
}

const at = (iso: string): Date => new Date(iso);
const due = (source: ScheduleSource, now: string, after?: string) => dueEvent(source, at(now), after);

describe('weekly windows across daylight-saving changes', () => {
  it('in Europe/Berlin, 08:00 is 07:00Z before the spring change and 06:00Z after it', () => {
    const berlin = lab([window()]);
    expect(due(berlin, '2025-03-28T07:00:00Z')).toEqual({ action: 'start', dueAt: '2025-03-28T07:00:00.000Z', schedule: 'class' });
    expect(due(berlin, '2025-03-28T06:59:59Z')?.dueAt).toBe('2025-03-27T17:00:00.000Z');
    expect(due(berlin, '2025-03-31T06:00:00Z')).toMatchObject({ action: 'start', dueAt: '2025-03-31T06:00:00.000Z' });
    expect(due(berlin, '2025-03-31T16:00:00Z')).toMatchObject({ action: 'stop', dueAt: '2025-03-31T16:00:00.000Z' });
  });

  it('in Europe/Berlin, 08:00 is 06:00Z before the autumn change and 07:00Z after it', () => {
    const berlin = lab([window()]);
    expect(due(berlin, '2025-10-24T06:00:00Z')).toMatchObject({ action: 'start', dueAt: '2025-10-24T06:00:00.000Z' });
    expect(nextEvent(berlin, at('2025-10-24T16:00:00Z'))).toMatchObject({ action: 'start', dueAt: '2025-10-27T07:00:00.000Z' });
    expect(due(berlin, '2025-10-27T06:59:00Z')).toMatchObject({ action: 'stop', dueAt: '2025-10-24T16:00:00.000Z' });
  });

  it('in America/New_York, 09:00 moves from 14:00Z to 13:00Z in March and back in November', () => {
    const ny = lab([window({ startTime: '09:00', stopTime: '17:00', timeZone: 'America/New_York' })]);
    expect(nextEvent(ny, at('2025-03-06T22:00:00Z'))).toMatchObject({ action: 'start', dueAt: '2025-03-07T14:00:00.000Z' });
    expect(nextEvent(ny, at('2025-03-07T22:00:00Z'))).toMatchObject({ action: 'start', dueAt: '2025-03-10T13:00:00.000Z' });
    expect(nextEvent(ny, at('2025-10-31T21:00:00Z'))).toMatchObject({ action: 'start', dueAt: '2025-11-03T14:00:00.000Z' });
    expect(due(ny, '2025-11-03T13:59:00Z')).toMatchObject({ action: 'stop', dueAt: '2025-10-31T21:00:00.000Z' });
  });

  it('a start at a local time skipped by spring forward happens at the first valid instant after it', () => {
    const berlin = lab([window({ days: ['sun'], startTime: '02:30', stopTime: '05:00' })]);
    expect(nextEvent(berlin, at('2025-03-29T12:00:00Z'))).toMatchObject({ action: 'start', dueAt: '2025-03-30T01:00:00.000Z' });
    const ny = lab([window({ days: ['sun'], startTime: '02:30', stopTime: '05:00', timeZone: 'America/New_York' })]);
    expect(nextEvent(ny, at('2025-03-08T12:00:00Z'))).toMatchObject({ action: 'start', dueAt: '2025-03-09T07:00:00.000Z' });
  });

  it('a start at a local time that occurs twice at fall back happens at its first occurrence', () => {
    const berlin = lab([window({ days: ['sun'], startTime: '02:30', stopTime: '05:00' })]);
    expect(nextEvent(berlin, at('2025-10-25T12:00:00Z'))).toMatchObject({ action: 'start', dueAt: '2025-10-26T00:30:00.000Z' });
    const ny = lab([window({ days: ['sun'], startTime: '01:30', stopTime: '05:00', timeZone: 'America/New_York' })]);
    expect(nextEvent(ny, at('2025-11-01T12:00:00Z'))).toMatchObject({ action: 'start', dueAt: '2025-11-02T05:30:00.000Z' });
  });
});

describe('window shapes', () => {
  it('a window from 22:00 to 02:00 stops on the morning after each listed day', () => {
    const night = lab([window({ days: ['fri'], startTime: '22:00', stopTime: '02:00', timeZone: 'UTC' })]);
    expect(due(night, '2025-05-09T23:00:00Z')).toMatchObject({ action: 'start', dueAt: '2025-05-09T22:00:00.000Z' });
    expect(nextEvent(night, at('2025-05-09T23:00:00Z'))).toMatchObject({ action: 'stop', dueAt: '2025-05-10T02:00:00.000Z' });
    expect(nextEvent(night, at('2025-05-10T01:00:00Z'))).toMatchObject({ action: 'stop', dueAt: '2025-05-10T02:00:00.000Z' });
    expect(due(night, '2025-05-10T02:00:00Z')).toMatchObject({ action: 'stop', dueAt: '2025-05-10T02:00:00.000Z' });
    expect(desiredPower(night, at('2025-05-09T01:00:00Z'))).toBe('stopped');
    expect(desiredPower(night, at('2025-05-10T01:59:00Z'))).toBe('running');
  });

  it('a start-only schedule never stops the VMs, and nothing is desired before its first start', () => {
    const { stopTime: _, ...startOnly } = window();
    const source = lab([startOnly]);
    expect(desiredPower(source, at('2025-05-05T05:00:00Z'))).toBe('running');
    expect(nextEvent(source, at('2025-05-05T07:00:00Z'))).toMatchObject({ action: 'start', dueAt: '2025-05-06T06:00:00.000Z' });
    const fresh = lab([{ name: 'once', days: ['mon'], startTime: '08:00', timeZone: 'UTC', startDate: '2025-05-05' }]);
    expect(desiredPower(fresh, at('2025-05-05T07:59:00Z'))).toBeUndefined();
  });

  it('a stop-only schedule stops the VMs every listed evening', () => {
    const source = lab([{ name: 'nightly', days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], stopTime: '23:00', timeZone: 'Europe/Berlin' }]);
    expect(due(source, '2025-05-06T21:30:00Z')).toEqual({ action: 'stop', dueAt: '2025-05-06T21:00:00.000Z', schedule: 'nightly' });
    expect(desiredPower(source, at('2025-05-06T20:00:00Z'))).toBe('stopped');
  });

  it('fires only between startDate and endDate, and remembers the last stop long after endDate', () => {
    const term = lab([window({ timeZone: 'UTC', startDate: '2025-04-07', endDate: '2025-04-11' })]);
    expect(due(term, '2025-04-06T12:00:00Z')).toBeUndefined();
    expect(nextEvent(term, at('2025-03-01T00:00:00Z'))).toMatchObject({ action: 'start', dueAt: '2025-04-07T08:00:00.000Z' });
    expect(due(term, '2025-06-30T12:00:00Z')).toMatchObject({ action: 'stop', dueAt: '2025-04-11T18:00:00.000Z' });
    expect(desiredPower(term, at('2025-06-30T12:00:00Z'))).toBe('stopped');
    expect(nextEvent(term, at('2025-04-11T18:00:00Z'))).toBeUndefined();
  });
});

describe('end of course', () => {
  const endsAt = '2025-07-31T18:00:00+02:00';

  it('the end beats a stop due at the same instant, and later starts are ignored', () => {
    const source = lab([window()], { endsAt });
    expect(due(source, '2025-07-31T16:00:00Z')).toEqual({ action: 'end', dueAt: '2025-07-31T16:00:00.000Z' });
    expect(due(source, '2025-08-04T09:00:00Z')).toEqual({ action: 'end', dueAt: '2025-07-31T16:00:00.000Z' });
    expect(desiredPower(source, at('2025-08-04T09:00:00Z'))).toBe('stopped');
    expect(nextEvent(source, at('2025-07-31T16:00:00Z'))).toEqual({ action: 'remove', dueAt: '2025-08-14T16:00:00.000Z' });
  });

  it('the removal comes endGracePeriodDays after the end, and beats the end when there is no grace', () => {
    const source = lab([window()], { endsAt });
    expect(due(source, '2025-08-14T15:59:59Z')?.action).toBe('end');
    expect(due(source, '2025-08-14T16:00:00Z')).toEqual({ action: 'remove', dueAt: '2025-08-14T16:00:00.000Z' });
    expect(due(lab([], { endsAt, endGracePeriodDays: 0 }), '2025-07-31T16:00:00Z')?.action).toBe('remove');
    expect(nextEvent(source, at('2025-08-14T16:00:00Z'))).toBeUndefined();
  });

  it('end and removal are found however long ago they were, with no schedule at all', () => {
    expect(due(lab([], { endsAt }), '2026-07-31T00:00:00Z')).toEqual({ action: 'remove', dueAt: '2025-08-14T16:00:00.000Z' });
  });

  it('before the end, the next event is the next stop, not the end', () => {
    expect(nextEvent(lab([window()], { endsAt }), at('2025-07-30T07:00:00Z'))).toMatchObject({ action: 'stop', dueAt: '2025-07-30T16:00:00.000Z' });
  });
});

describe('catching up and applied events', () => {
  const berlin = lab([window(), window({ name: 'lunch', startTime: '12:00', stopTime: '13:00' })]);

  it('after a week of down time only the latest missed event is due', () => {
    const event = due(berlin, '2025-05-09T11:30:00Z', '2025-05-02T06:00:00.000Z');
    expect(event).toEqual({ action: 'stop', dueAt: '2025-05-09T11:00:00.000Z', schedule: 'lunch' });
  });

  it('an event already applied is not due again, and the next one is', () => {
    expect(due(berlin, '2025-05-09T09:00:00Z', '2025-05-09T06:00:00.000Z')).toBeUndefined();
    expect(due(berlin, '2025-05-09T10:00:00Z', '2025-05-09T06:00:00.000Z')).toMatchObject({ action: 'start', dueAt: '2025-05-09T10:00:00.000Z' });
    expect(due(berlin, '2025-05-09T10:00:00Z', '2025-05-09T10:00:00.000Z')).toBeUndefined();
  });

  it('when schedules overlap at one instant, the stop wins over the start', () => {
    const overlap = lab([window({ timeZone: 'UTC' }), window({ name: 'evening', startTime: '18:00', stopTime: '20:00', timeZone: 'UTC' })]);
    expect(due(overlap, '2025-05-09T18:00:00Z')).toMatchObject({ action: 'stop', dueAt: '2025-05-09T18:00:00.000Z', schedule: 'class' });
  });
});

describe('scheduleIssues', () => {
  it('accepts a valid set of schedules and an end with an offset', () => {
    expect(
      scheduleIssues(
        [window(), window({ name: 'late', startTime: '22:00', stopTime: '02:00', startDate: '2025-02-28', endDate: '2025-02-28' })],
        '2025-07-31T18:00:00Z',
      ),
    ).toEqual([]);
  });

  it.each<[string, Partial<LabSchedule>, string]>([
    ['a name that is not a DNS label', { name: 'Class_1' }, '/schedules/0/name'],
    ['a name longer than 40 characters', { name: 'a'.repeat(41) }, '/schedules/0/name'],
    ['no days', { days: [] }, '/schedules/0/days'],
    ['an unknown day', { days: ['mon', 'funday' as unknown as Weekday] }, '/schedules/0/days/1'],
    ['a day listed twice', { days: ['mon', 'tue', 'mon'] }, '/schedules/0/days/2'],
    ['a time past 23:59', { startTime: '24:00' }, '/schedules/0/startTime'],
    ['a time without leading zero', { stopTime: '8:00' }, '/schedules/0/stopTime'],
    ['the same start and stop time', { stopTime: '08:00' }, '/schedules/0/stopTime'],
    ['an unknown time zone', { timeZone: 'Mars/Olympus' }, '/schedules/0/timeZone'],
    ['a fixed offset instead of a zone', { timeZone: '+01:00' }, '/schedules/0/timeZone'],
    ['an impossible date', { startDate: '2025-02-30' }, '/schedules/0/startDate'],
    ['a date in another format', { endDate: '31.07.2025' }, '/schedules/0/endDate'],
    ['an endDate before the startDate', { startDate: '2025-05-02', endDate: '2025-05-01' }, '/schedules/0/endDate'],
  ])('reports %s', (_what, overrides, field) => {
    expect(scheduleIssues([window(overrides)]).map((i) => i.field)).toEqual([field]);
  });

  it('reports a schedule with neither start nor stop time', () => {
    const { startTime: _s, stopTime: _t, ...bare } = window();
    expect(scheduleIssues([bare]).map((i) => i.field)).toEqual(['/schedules/0']);
  });

  it('reports a duplicate name and more than 20 schedules', () => {
    expect(scheduleIssues([window(), window()]).map((i) => i.field)).toEqual(['/schedules/1/name']);
    const many = Array.from({ length: 21 }, (_, i) => window({ name: `s${i}` }));
    expect(scheduleIssues(many).map((i) => i.field)).toEqual(['/schedules']);
  });

  it.each([
    '2025-07-31T18:00:00',
    '2025-07-31',
    '2025-07-31T18:00Z',
    '2025-02-29T10:00:00Z',
    '2025-07-31T24:00:00Z',
    '2025-07-31T18:00:00+2:00',
    'tomorrow',
  ])('refuses the end of course %s', (endsAt) => {
    expect(scheduleIssues([], endsAt)).toEqual([{ field: '/endsAt', message: expect.any(String) }]);
  });

  it('ignores schedules with issues when computing events', () => {
    expect(due(lab([window({ timeZone: 'Mars/Olympus' })]), '2025-05-09T12:00:00Z')).toBeUndefined();
  });
});
