import { describe, expect, it } from 'vitest';
import type { LabSchedule } from '../../src/domain/labs/lab.js';
import { classWindows, type ScheduleSource } from '../../src/domain/labs/schedule.js';

const schedule = (overrides: Partial<LabSchedule> = {}): LabSchedule => ({
  name: 'class',
  days: ['mon', 'wed'],
  startTime: '09:00',
  stopTime: '11:00',
  timeZone: 'Europe/Berlin',
  ...overrides,
});
const lab = (schedules: LabSchedule[], endsAt?: string): ScheduleSource => ({
  schedules,
  endGracePeriodDays: 14,
  ...(endsAt === undefined ? {} : { endsAt }),
});
const spans = (source: ScheduleSource, from: string, to: string) =>
  classWindows(source, new Date(from), new Date(to)).map((w) => `${w.start}/${w.end}`);

describe('class windows of a lab (class hours, for usage)', () => {
  it('gives each occurrence in local time (Berlin, winter: UTC+1)', () => {
    // 2026-03-02 is a Monday.
    expect(spans(lab([schedule()]), '2026-03-02T00:00:00Z', '2026-03-09T00:00:00Z')).toEqual([
      '2026-03-02T08:00:00.000Z/2026-03-02T10:00:00.000Z',
      '2026-03-04T08:00:00.000Z/2026-03-04T10:00:00.000Z',
    ]);
  });
  it('follows daylight saving (Berlin, summer: UTC+2)', () => {
    expect(spans(lab([schedule()]), '2026-03-30T00:00:00Z', '2026-03-31T00:00:00Z')).toEqual(['2026-03-30T07:00:00.000Z/2026-03-30T09:00:00.000Z']);
  });
  it('clips to the range asked', () => {
    expect(spans(lab([schedule()]), '2026-03-02T09:00:00Z', '2026-03-04T09:00:00Z')).toEqual([
      '2026-03-02T09:00:00.000Z/2026-03-02T10:00:00.000Z',
      '2026-03-04T08:00:00.000Z/2026-03-04T09:00:00.000Z',
    ]);
  });
  it('includes a window crossing midnight that began the day before the range', () => {
    const night = schedule({ days: ['sun'], startTime: '22:00', stopTime: '02:00' });
    expect(spans(lab([night]), '2026-03-02T00:00:00Z', '2026-03-03T00:00:00Z')).toEqual(['2026-03-02T00:00:00.000Z/2026-03-02T01:00:00.000Z']);
  });
  it('has none for start-only or stop-only schedules', () => {
    const { stopTime: _s, ...startOnly } = schedule();
    const { startTime: _t, ...stopOnly } = schedule();
    expect(spans(lab([startOnly, stopOnly]), '2026-03-02T00:00:00Z', '2026-03-09T00:00:00Z')).toEqual([]);
  });
  it('ends at the end of the course', () => {
    expect(spans(lab([schedule()], '2026-03-02T09:30:00+01:00'), '2026-03-02T00:00:00Z', '2026-03-09T00:00:00Z')).toEqual([
      '2026-03-02T08:00:00.000Z/2026-03-02T08:30:00.000Z',
    ]);
  });
  it('keeps to the schedule dates and orders several schedules by start', () => {
    const dated = schedule({ name: 'lab', days: ['wed'], startTime: '07:00', stopTime: '12:00', startDate: '2026-03-04', endDate: '2026-03-04' });
    expect(spans(lab([schedule(), dated]), '2026-03-02T00:00:00Z', '2026-03-16T00:00:00Z')).toEqual([
      '2026-03-02T08:00:00.000Z/2026-03-02T10:00:00.000Z',
      '2026-03-04T06:00:00.000Z/2026-03-04T11:00:00.000Z',
      '2026-03-04T08:00:00.000Z/2026-03-04T10:00:00.000Z',
      '2026-03-09T08:00:00.000Z/2026-03-09T10:00:00.000Z',
      '2026-03-11T08:00:00.000Z/2026-03-11T10:00:00.000Z',
    ]);
  });
  it('leaves out an invalid schedule', () => {
    expect(spans(lab([schedule({ timeZone: 'Mars/Olympus' })]), '2026-03-02T00:00:00Z', '2026-03-09T00:00:00Z')).toEqual([]);
  });
});
