import { describe, expect, it } from 'vitest';
import { startedAtOf } from '../../src/adapters/kubernetes/vm-mapping.js';
import type { VirtualMachineInstance } from '../../src/adapters/kubernetes/vm-objects.js';
import { csvCell, labUsageCsv, wantsCsv } from '../../src/api/rest/usage.js';
import { runningSpans } from '../../src/domain/usage/usage-meter.js';

describe('usage CSV', () => {
  it('quotes per RFC 4180 and defuses cells a spreadsheet would run as formulas', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
    for (const lead of ['=', '+', '-', '@', '\t']) expect(csvCell(`${lead}SUM(A1)`)).toBe(`'${lead}SUM(A1)`);
    expect(csvCell('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvCell(-1.5)).toBe('-1.5');
    expect(csvCell(false)).toBe('false');
    expect(csvCell(undefined)).toBe('');
  });

  it('has a header row and one CRLF-ended row per student', () => {
    const csv = labUsageCsv({
      tenant: 'cs101',
      lab: 'nets',
      at: '2026-03-02T18:00:00.000Z',
      quotaHours: 10,
      students: [
        {
          student: { id: 's1', displayName: 'Ada, L.' },
          vm: 'nets-1',
          usedHours: 10.5,
          quotaHours: 10,
          addedHours: 2,
          leftHours: 1.5,
          exhausted: false,
        },
      ],
    });
    expect(csv).toBe(
      'student_id,email,display_name,vm,used_hours,quota_hours,added_hours,left_hours,exhausted,running_since,exhausts_at\r\n' +
        's1,,"Ada, L.",nets-1,10.5,10,2,1.5,false,,\r\n',
    );
  });

  it('is chosen by Accept, JSON winning ties and absence', () => {
    expect(wantsCsv(undefined)).toBe(false);
    expect(wantsCsv('application/json')).toBe(false);
    expect(wantsCsv('text/csv')).toBe(true);
    expect(wantsCsv('text/csv;q=0.5, application/json')).toBe(false);
    expect(wantsCsv('application/json;q=0.2, text/csv')).toBe(true);
    expect(wantsCsv('text/csv, */*')).toBe(false);
    expect(wantsCsv('text/csv;q=0')).toBe(false);
  });
});

describe('when a VMI started', () => {
  const vmi = (status: Record<string, unknown>): VirtualMachineInstance =>
    ({ metadata: { creationTimestamp: '2026-03-02T08:00:00Z' }, status }) as unknown as VirtualMachineInstance;
  it('is its latest Running phase transition, else its creation', () => {
    expect(
      startedAtOf(
        vmi({
          phaseTransitionTimestamps: [
            { phase: 'Scheduling', phaseTransitionTimestamp: '2026-03-02T08:00:01Z' },
            { phase: 'Running', phaseTransitionTimestamp: '2026-03-02T08:00:09Z' },
          ],
        }),
      ),
    ).toBe('2026-03-02T08:00:09.000Z');
    expect(startedAtOf(vmi({ phase: 'Scheduling' }))).toBe('2026-03-02T08:00:00.000Z');
  });
});

describe('runs at one instant', () => {
  it('a run that ends as the next starts leaves the next one open; one that starts and ends at once counts nothing', () => {
    const t = (h: number) => new Date(Date.UTC(2026, 2, 2, h)).toISOString();
    const now = Date.UTC(2026, 2, 2, 3);
    // Ids sort the new run's start before the old run's end: the order of ids must not matter.
    const handover = runningSpans(
      [
        { id: 'b:stopped', at: t(1), state: 'stopped' },
        { id: 'a:running', at: t(1), state: 'running' },
        { id: 'b:running', at: t(0), state: 'running' },
      ],
      now,
    );
    expect(handover.openSince).toBe(Date.UTC(2026, 2, 2, 1));
    const blink = runningSpans(
      [
        { id: 'a:stopped', at: t(1), state: 'stopped' },
        { id: 'a:running', at: t(1), state: 'running' },
      ],
      now,
    );
    expect(blink).toEqual({ spans: [] });
  });
});
