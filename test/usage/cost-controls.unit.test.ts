import { describe, expect, it } from 'vitest';
import { DEFAULT_AUTO_SHUTDOWN_PROFILE, type AutoShutdownProfile } from '../../src/domain/usage/auto-shutdown.js';
import {
  DEFAULT_COST_CONTROLS,
  DEFAULT_LAB_COST_CONTROLS,
  addedHoursIssues,
  costControlsIssues,
  mergeCostControls,
  mergeLabCostControls,
  type LabCostControls,
} from '../../src/domain/usage/cost-controls.js';
import { costControlsOf } from '../../src/adapters/kubernetes/tenant-mapping.js';

const LAB = { lab: true } as const;
const fields = (input: unknown, options: { lab: boolean; update?: boolean } = LAB) =>
  costControlsIssues(input, '/costControls', options).map((i) => i.field);

const LOW_USAGE: AutoShutdownProfile = {
  shutdownOnDisconnect: { enabled: false, delay: 'PT30M' },
  shutdownWhenNotConnected: { enabled: true, delay: 'PT1H' },
  shutdownOnIdle: { mode: 'lowUsage', delay: 'PT20M', thresholds: { cpuCores: 0.5, networkBytesPerSecond: 1, diskBytesPerSecond: 2 } },
};

describe('costControlsIssues', () => {
  it('accepts nothing at all, and every part of a lab’s controls', () => {
    expect(fields({})).toEqual([]);
    expect(fields({ autoShutdown: LOW_USAGE, warningPeriod: 'PT0S', exemptClassHours: false, usageQuotaHours: 12.75 })).toEqual([]);
    expect(fields({ autoShutdown: LOW_USAGE, warningPeriod: 'PT1H' }, { lab: false })).toEqual([]);
  });

  it('names a body that is not an object at the base', () => {
    expect(fields(null)).toEqual(['/costControls']);
    expect(fields([1])).toEqual(['/costControls']);
    expect(costControlsIssues('x', '', LAB).map((i) => i.field)).toEqual(['/']);
  });

  it('wants a complete auto-shutdown profile, naming each missing or bad setting', () => {
    expect(fields({ autoShutdown: { shutdownOnDisconnect: { enabled: true, delay: 'PT15M' } } })).toEqual([
      '/costControls/autoShutdown/shutdownWhenNotConnected',
      '/costControls/autoShutdown/shutdownOnIdle',
    ]);
    const bad = { ...DEFAULT_AUTO_SHUTDOWN_PROFILE, shutdownOnIdle: { mode: 'sleepy', delay: 'PT1M' } };
    expect(fields({ autoShutdown: bad })).toEqual([
      '/costControls/autoShutdown/shutdownOnIdle/mode',
      '/costControls/autoShutdown/shutdownOnIdle/delay',
    ]);
    expect(fields({ autoShutdown: 'on' })).toEqual(['/costControls/autoShutdown']);
  });

  it('checks the warning period (0 to 1 h, ISO 8601)', () => {
    expect(fields({ warningPeriod: 'PT2H' })).toEqual(['/costControls/warningPeriod']);
    expect(fields({ warningPeriod: '5 minutes' })).toEqual(['/costControls/warningPeriod']);
    expect(fields({ warningPeriod: 300 })).toEqual(['/costControls/warningPeriod']);
  });

  it('checks exemptClassHours and usageQuotaHours on labs', () => {
    expect(fields({ exemptClassHours: 'yes' })).toEqual(['/costControls/exemptClassHours']);
    for (const bad of [-1, 2000.25, 1.1, Number.NaN, '10']) expect(fields({ usageQuotaHours: bad })).toEqual(['/costControls/usageQuotaHours']);
    expect(fields({ usageQuotaHours: 0 })).toEqual([]);
    expect(fields({ usageQuotaHours: 2000 })).toEqual([]);
  });

  it('takes usageQuotaHours: null (remove the quota) on an update only', () => {
    expect(fields({ usageQuotaHours: null }, { lab: true, update: true })).toEqual([]);
    expect(fields({ usageQuotaHours: null })).toEqual(['/costControls/usageQuotaHours']);
  });

  it('refuses addedHours (read-only) and settings it does not know', () => {
    const issues = costControlsIssues({ addedHours: { a: 1 }, colour: 'red' }, '/costControls', LAB);
    expect(issues.map((i) => i.field)).toEqual(['/costControls/addedHours', '/costControls/colour']);
    expect(issues[0]?.message).toContain('usage-hours');
  });

  it('refuses the lab-only settings on a tenant', () => {
    expect(fields({ exemptClassHours: true, usageQuotaHours: 3 }, { lab: false })).toEqual([
      '/costControls/exemptClassHours',
      '/costControls/usageQuotaHours',
    ]);
  });
});

describe('merging cost controls', () => {
  const stored: LabCostControls = {
    autoShutdown: LOW_USAGE,
    warningPeriod: 'PT10M',
    exemptClassHours: false,
    usageQuotaHours: 20,
    addedHours: { s1: 2 },
  };

  it('gives a new lab Azure Lab Services’ defaults for every part not given', () => {
    expect(mergeLabCostControls({})).toEqual(DEFAULT_LAB_COST_CONTROLS);
    expect(mergeLabCostControls({ usageQuotaHours: 8 })).toEqual({ ...DEFAULT_LAB_COST_CONTROLS, usageQuotaHours: 8 });
  });

  it('changes only the given parts over the stored ones, and keeps the added hours', () => {
    expect(mergeLabCostControls({ warningPeriod: 'PT1M' }, stored)).toEqual({ ...stored, warningPeriod: 'PT1M' });
    expect(mergeLabCostControls({ autoShutdown: DEFAULT_AUTO_SHUTDOWN_PROFILE, exemptClassHours: true }, stored)).toEqual({
      ...stored,
      autoShutdown: DEFAULT_AUTO_SHUTDOWN_PROFILE,
      exemptClassHours: true,
    });
  });

  it('removes the quota on usageQuotaHours: null', () => {
    const { usageQuotaHours: _q, ...withoutQuota } = stored;
    expect(mergeLabCostControls({ usageQuotaHours: null }, stored)).toEqual(withoutQuota);
  });

  it('stores only the known fields of a profile', () => {
    const extra = {
      ...LOW_USAGE,
      colour: 'red',
      shutdownOnDisconnect: { enabled: true, delay: 'PT15M', extra: 1 },
    } as unknown as AutoShutdownProfile;
    const merged = mergeCostControls({ autoShutdown: extra });
    expect(merged.autoShutdown).toEqual({ ...LOW_USAGE, shutdownOnDisconnect: { enabled: true, delay: 'PT15M' } });
    expect(mergeCostControls({})).toEqual(DEFAULT_COST_CONTROLS);
  });
});

describe('addedHoursIssues', () => {
  it.each([0.25, -0.25, 2, -2000, 2000])('accepts %s hours', (h) => expect(addedHoursIssues(h)).toEqual([]));
  it.each([0, 0.1, 2000.25, -2001, Number.POSITIVE_INFINITY, '2', null])('refuses %s at /hours', (h) =>
    expect(addedHoursIssues(h).map((i) => i.field)).toEqual(['/hours']),
  );
});

describe('a tenant’s cost-control annotation', () => {
  it('reads complete valid controls', () => {
    expect(costControlsOf(JSON.stringify(DEFAULT_COST_CONTROLS))).toEqual({ costControls: DEFAULT_COST_CONTROLS });
    expect(costControlsOf(undefined)).toEqual({});
  });

  it.each([
    ['not JSON', '{nope'],
    ['an array', '[1]'],
    ['incomplete', JSON.stringify({ warningPeriod: 'PT5M' })],
    ['an invalid delay', JSON.stringify({ ...DEFAULT_COST_CONTROLS, warningPeriod: 'P1Y' })],
  ])('reads as none, with the reason, when it is %s', (_what, text) => {
    const read = costControlsOf(text);
    expect(read.costControls).toBeUndefined();
    expect(read.malformed).toEqual(expect.any(String));
  });
});
