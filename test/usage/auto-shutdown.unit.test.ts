import { describe, expect, it } from 'vitest';
import {
  DEFAULT_AUTO_SHUTDOWN_PROFILE,
  DEFAULT_USAGE_THRESHOLDS,
  autoShutdownProfileIssues,
  durationMs,
  resolveAutoShutdown,
  warningPeriodIssues,
  type AutoShutdownProfile,
} from '../../src/domain/usage/auto-shutdown.js';

const MIN = 60_000;

describe('ISO 8601 durations', () => {
  it.each([
    ['PT15M', 15 * MIN],
    ['PT1H30M', 90 * MIN],
    ['PT24H', 24 * 60 * MIN],
    ['P1D', 24 * 60 * MIN],
    ['PT0S', 0],
    ['PT90S', 1.5 * MIN],
    ['P1W', 7 * 24 * 60 * MIN],
    ['P1DT1H', 25 * 60 * MIN],
    ['PT0.5S', 500],
  ])('reads %s', (text, expected) => {
    expect(durationMs(text)).toBe(expected);
  });
  it.each([
    '15',
    'P',
    'PT',
    'P1DT',
    '15m',
    'P1M',
    'P1Y',
    'PT-5M',
    'PT1H1D',
    '-PT5M',
    'pt15m',
    'PT1,5M',
    '',
    'PT15M ',
    42,
    null,
    undefined,
    `PT${'1'.repeat(80)}M`,
  ])('refuses %s', (text) => {
    expect(durationMs(text)).toBeUndefined();
  });
});

describe('the default profile', () => {
  it('turns all three settings on, 15 minutes each, idle on user absence, as Azure Lab Services does', () => {
    expect(DEFAULT_AUTO_SHUTDOWN_PROFILE).toEqual({
      shutdownOnDisconnect: { enabled: true, delay: 'PT15M' },
      shutdownWhenNotConnected: { enabled: true, delay: 'PT15M' },
      shutdownOnIdle: { mode: 'userAbsence', delay: 'PT15M' },
    });
    expect(autoShutdownProfileIssues(DEFAULT_AUTO_SHUTDOWN_PROFILE)).toEqual([]);
  });
});

describe('profile validation', () => {
  const valid: AutoShutdownProfile = {
    shutdownOnDisconnect: { enabled: true, delay: 'PT5M' },
    shutdownWhenNotConnected: { enabled: false, delay: 'PT24H' },
    shutdownOnIdle: { mode: 'lowUsage', delay: 'PT1H', thresholds: { cpuCores: 0.25, networkBytesPerSecond: 0, diskBytesPerSecond: 5000 } },
  };
  const withPatch = (patch: Record<string, unknown>): unknown => ({ ...valid, ...patch });

  it('accepts the bounds and thresholds', () => {
    expect(autoShutdownProfileIssues(valid, '/autoShutdown')).toEqual([]);
  });

  it.each<[string, unknown, string[]]>([
    ['not an object', 'PT15M', ['/autoShutdown']],
    ['an array', [], ['/autoShutdown']],
    ['a delay below 5 min', withPatch({ shutdownOnDisconnect: { enabled: true, delay: 'PT4M59S' } }), ['/autoShutdown/shutdownOnDisconnect/delay']],
    [
      'a delay above 24 h',
      withPatch({ shutdownWhenNotConnected: { enabled: true, delay: 'PT24H1S' } }),
      ['/autoShutdown/shutdownWhenNotConnected/delay'],
    ],
    [
      'a bad delay on a disabled setting',
      withPatch({ shutdownWhenNotConnected: { enabled: false, delay: '15 minutes' } }),
      ['/autoShutdown/shutdownWhenNotConnected/delay'],
    ],
    ['a month', withPatch({ shutdownOnIdle: { mode: 'userAbsence', delay: 'P1M' } }), ['/autoShutdown/shutdownOnIdle/delay']],
    [
      'enabled not a boolean',
      withPatch({ shutdownOnDisconnect: { enabled: 'yes', delay: 'PT15M' } }),
      ['/autoShutdown/shutdownOnDisconnect/enabled'],
    ],
    ['a missing setting', withPatch({ shutdownOnDisconnect: undefined }), ['/autoShutdown/shutdownOnDisconnect']],
    ['an unknown mode', withPatch({ shutdownOnIdle: { mode: 'sleepy', delay: 'PT15M' } }), ['/autoShutdown/shutdownOnIdle/mode']],
    ['a missing idle setting', withPatch({ shutdownOnIdle: null }), ['/autoShutdown/shutdownOnIdle']],
    [
      'negative and non-numeric thresholds',
      withPatch({
        shutdownOnIdle: { mode: 'lowUsage', delay: 'PT15M', thresholds: { cpuCores: -1, networkBytesPerSecond: '5', diskBytesPerSecond: Infinity } },
      }),
      [
        '/autoShutdown/shutdownOnIdle/thresholds/cpuCores',
        '/autoShutdown/shutdownOnIdle/thresholds/networkBytesPerSecond',
        '/autoShutdown/shutdownOnIdle/thresholds/diskBytesPerSecond',
      ],
    ],
    [
      'thresholds not an object',
      withPatch({ shutdownOnIdle: { mode: 'lowUsage', delay: 'PT15M', thresholds: 3 } }),
      ['/autoShutdown/shutdownOnIdle/thresholds'],
    ],
  ])('points at %s', (_name, profile, fields) => {
    expect(autoShutdownProfileIssues(profile, '/autoShutdown').map((i) => i.field)).toEqual(fields);
  });

  it('names the body as a whole without a base', () => {
    expect(autoShutdownProfileIssues(7)).toEqual([{ field: '/', message: expect.any(String) }]);
  });

  it('says the bounds in the message', () => {
    const [issue] = autoShutdownProfileIssues(withPatch({ shutdownOnDisconnect: { enabled: true, delay: 'PT1M' } }));
    expect(issue?.message).toBe('must be between 5 min and 24 h');
  });
});

describe('warning period', () => {
  it.each(['PT0S', 'PT5M', 'PT1H'])('accepts %s', (p) => expect(warningPeriodIssues(p)).toEqual([]));
  it.each(['PT1H1S', 'soon', 'P1M'])('refuses %s', (p) => expect(warningPeriodIssues(p).map((i) => i.field)).toEqual(['/warningPeriod']));
});

describe('resolution to milliseconds', () => {
  it('gives the enabled delays and default thresholds', () => {
    expect(resolveAutoShutdown({ ...DEFAULT_AUTO_SHUTDOWN_PROFILE, shutdownOnIdle: { mode: 'lowUsage', delay: 'PT30M' } })).toEqual({
      disconnectMs: 15 * MIN,
      notConnectedMs: 15 * MIN,
      idle: { mode: 'lowUsage', delayMs: 30 * MIN, thresholds: DEFAULT_USAGE_THRESHOLDS },
    });
  });
  it('leaves out disabled settings and idle mode none', () => {
    expect(
      resolveAutoShutdown({
        shutdownOnDisconnect: { enabled: false, delay: 'PT15M' },
        shutdownWhenNotConnected: { enabled: false, delay: 'PT15M' },
        shutdownOnIdle: { mode: 'none', delay: 'PT15M' },
      }),
    ).toEqual({});
  });
  it('treats an unreadable or out-of-bounds delay as off, never as zero', () => {
    expect(
      resolveAutoShutdown({
        shutdownOnDisconnect: { enabled: true, delay: 'bogus' },
        shutdownWhenNotConnected: { enabled: true, delay: 'PT1M' },
        shutdownOnIdle: { mode: 'lowUsage', delay: 'PT15M', thresholds: { cpuCores: Number.NaN, networkBytesPerSecond: 1, diskBytesPerSecond: 1 } },
      }),
    ).toEqual({});
  });
});
