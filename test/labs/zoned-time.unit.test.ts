import fc from 'fast-check';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { isTimeZone, localDay, parseLocalDate, zonedInstant, zoneOffsetMs } from '../../src/domain/shared/zoned-time.js';

const ZONES = ['Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kolkata', 'America/Santiago', 'Pacific/Chatham', 'UTC'];

/** Luxon is the oracle here; it knows each candidate offset of a local time (two when it repeats, none valid in a gap). */
function luxonCandidates(zone: string, day: number, minute: number): { instants: number[]; exists: boolean } {
  const d = new Date(day * 86_400_000);
  const local = { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: Math.floor(minute / 60), minute: minute % 60 };
  const dt = DateTime.fromObject(local, { zone });
  const exists = dt.hour === local.hour && dt.minute === local.minute && dt.day === local.day;
  return { instants: dt.getPossibleOffsets().map((o) => o.toMillis()), exists };
}

describe('zoned time on Intl', () => {
  it('agrees with luxon on every local time that exists, taking the first of two when it repeats', () => {
    const days = fc.integer({ min: parseLocalDate('2000-01-01') ?? 0, max: parseLocalDate('2040-12-31') ?? 0 });
    fc.assert(
      fc.property(fc.constantFrom(...ZONES), days, fc.integer({ min: 0, max: 1439 }), (zone, day, minute) => {
        const { instants, exists } = luxonCandidates(zone, day, minute);
        fc.pre(exists);
        expect(zonedInstant(zone, day, minute)).toBe(Math.min(...instants));
      }),
      // Random local times (luxon, the oracle, costs ~1 ms a run); the transitions themselves are
      // checked minute by minute in the tests below, and each run draws a new seed.
      { numRuns: 500 },
    );
  });

  it('agrees with luxon through whole fall-back nights, taking the first occurrence of repeated times', () => {
    for (const [zone, date] of [
      ['Europe/Berlin', '2025-10-26'],
      ['America/New_York', '2025-11-02'],
      ['Australia/Lord_Howe', '2025-04-06'],
    ] as const) {
      const day = parseLocalDate(date) ?? NaN;
      for (let minute = 0; minute < 1440; minute += 5) {
        expect(zonedInstant(zone, day, minute)).toBe(Math.min(...luxonCandidates(zone, day, minute).instants));
      }
    }
  });

  it('resolves local times skipped on spring-forward nights to the transition instant', () => {
    const dayOf = (iso: string) => parseLocalDate(iso) ?? NaN;
    let skipped = 0;
    for (const [zone, date] of [
      ['Europe/Berlin', '2025-03-30'],
      ['America/New_York', '2025-03-09'],
      ['Australia/Lord_Howe', '2025-10-05'],
    ] as const) {
      for (let minute = 0; minute < 1440; minute += 5) {
        const t = zonedInstant(zone, dayOf(date), minute);
        const shown = t + zoneOffsetMs(zone, t);
        const wanted = dayOf(date) * 86_400_000 + minute * 60_000;
        if (shown !== wanted) {
          skipped += 1;
          expect(shown).toBeGreaterThan(wanted);
          expect(zoneOffsetMs(zone, t - 1000)).not.toBe(zoneOffsetMs(zone, t));
        }
      }
    }
    expect(skipped).toBe(12 + 12 + 6);
  });

  it('gives the local date of an instant in the zone', () => {
    expect(localDay('Pacific/Auckland', Date.parse('2025-05-09T13:00:00Z'))).toBe(parseLocalDate('2025-05-10'));
    expect(localDay('America/Los_Angeles', Date.parse('2025-05-09T03:00:00Z'))).toBe(parseLocalDate('2025-05-08'));
  });

  it('knows IANA zones and refuses fixed offsets and unknown names', () => {
    expect(['Europe/Berlin', 'UTC', 'Etc/GMT+5', 'America/Argentina/Buenos_Aires'].every(isTimeZone)).toBe(true);
    expect(['+01:00', 'Z', 'Mars/Olympus', '', 'Europe/Berlin '].some(isTimeZone)).toBe(false);
  });
});
