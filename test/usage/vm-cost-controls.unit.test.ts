import { describe, expect, it } from 'vitest';
import { studentVmName } from '../../src/domain/labs/lab-rules.js';
import { DEFAULT_LAB_COST_CONTROLS, type CostControls } from '../../src/domain/usage/cost-controls.js';
import type { VmWatch } from '../../src/domain/usage/idle-state-store.js';
import {
  autoShutdownViewOf,
  costControlsOf,
  inClassHours,
  inExemptClassHours,
  quotaAppliesToRun,
  quotaStep,
  QUOTA_STOP_RETRY_MS,
  START_TO_RUN_MS,
} from '../../src/domain/usage/vm-cost-controls.js';

const NOW = new Date('2027-01-11T20:00:00Z');
const at = (min: number) => new Date(NOW.getTime() + min * 60_000).toISOString();
const tenantControls: CostControls = { autoShutdown: DEFAULT_LAB_COST_CONTROLS.autoShutdown, warningPeriod: 'PT10M' };
const lab = { name: 'os-101', schedules: [], endGracePeriodDays: 14 };

describe('costControlsOf', () => {
  const studentVm = { lab: 'os-101', name: studentVmName('os-101', 'Stud-1'), ownerId: 'Stud-1' };
  it("a lab student's VM has its lab's controls, or none when the lab has none (the tenant's do not apply)", () => {
    expect(costControlsOf(studentVm, { ...lab, costControls: DEFAULT_LAB_COST_CONTROLS }, { costControls: tenantControls })).toMatchObject({
      scope: 'lab',
      controls: DEFAULT_LAB_COST_CONTROLS,
    });
    expect(costControlsOf(studentVm, lab, { costControls: tenantControls })).toBeUndefined();
  });
  it("any other VM has its tenant's: one outside labs, one labelled into a lab by hand, one whose lab is gone", () => {
    const byHand = { lab: 'os-101', name: 'my-own', ownerId: 'Stud-1' };
    expect(costControlsOf({ name: 'web-1', ownerId: 'olga' }, undefined, { costControls: tenantControls })).toEqual({
      scope: 'tenant',
      controls: tenantControls,
    });
    expect(costControlsOf(byHand, { ...lab, costControls: DEFAULT_LAB_COST_CONTROLS }, { costControls: tenantControls })?.scope).toBe('tenant');
    expect(costControlsOf(studentVm, undefined, { costControls: tenantControls })?.scope).toBe('tenant');
    expect(costControlsOf({ name: 'web-1', ownerId: 'olga' }, undefined, {})).toBeUndefined();
  });
});

describe('quotaStep', () => {
  const period = 5 * 60_000;
  it('nothing while the quota lasts beyond the warning period', () => {
    expect(quotaStep(undefined, { exhausted: false, exhaustsAt: at(6) }, NOW, period)).toEqual({ watch: {}, action: 'none' });
  });
  it('warns with the stop at the later of the exhaustion and the end of the warning period', () => {
    expect(quotaStep(undefined, { exhausted: false, exhaustsAt: at(4) }, NOW, period)).toEqual({
      watch: { warnedAt: at(0), stopAt: at(5) },
      action: 'warn',
    });
    expect(quotaStep(undefined, { exhausted: false, exhaustsAt: at(3) }, NOW, 60_000)).toEqual({ watch: {}, action: 'none' });
    expect(quotaStep(undefined, { exhausted: true }, NOW, period)).toEqual({ watch: { warnedAt: at(0), stopAt: at(5) }, action: 'warn' });
  });
  it('a stop asked is not asked again until it had time to take', () => {
    const asked = { warnedAt: at(-10), stopAt: at(-5), stopRequestedAt: at(-1) };
    expect(quotaStep(asked, { exhausted: true }, NOW, period)).toEqual({ watch: asked, action: 'none' });
    const later = new Date(NOW.getTime() + QUOTA_STOP_RETRY_MS);
    expect(quotaStep(asked, { exhausted: true }, later, period)).toEqual({
      watch: { warnedAt: at(-10), stopAt: at(-5), stopRequestedAt: later.toISOString() },
      action: 'stop',
    });
  });
});

describe('autoShutdownViewOf', () => {
  const watch: VmWatch = {
    runId: 'run-2',
    runStartedAt: at(-60),
    idle: { signals: 'available', active: false, idleSince: at(-20), warnedAt: at(-2), reason: 'AutoShutdown:Idle' },
    quota: { warnedAt: at(-1), stopAt: at(4) },
    updatedAt: at(0),
  };
  it('shows the warning that stops the VM first, with its stop time', () => {
    // The idle warning stops at -2 + 10 min = +8; the quota's at +4.
    expect(autoShutdownViewOf(watch, 'run-2', tenantControls)).toEqual({
      signals: 'available',
      active: false,
      idleSince: at(-20),
      warnedAt: at(-1),
      reason: 'UsageQuota:Exhausted',
      stopAt: at(4),
    });
    expect(autoShutdownViewOf({ ...watch, quota: {} }, 'run-2', tenantControls)).toMatchObject({ reason: 'AutoShutdown:Idle', stopAt: at(8) });
  });
  it('a record of another run (or a VM not running) shows nothing known', () => {
    expect(autoShutdownViewOf(watch, 'run-3', tenantControls)).toEqual({ signals: 'unavailable', active: false });
    expect(autoShutdownViewOf(watch, undefined, tenantControls)).toEqual({ signals: 'unavailable', active: false });
    expect(autoShutdownViewOf(undefined, 'run-2', tenantControls)).toEqual({ signals: 'unavailable', active: false });
  });
});

describe('quotaAppliesToRun', () => {
  const run = at(0);
  it('applies to a run the student started, or one nobody started with a start operation (provisioning, schedules)', () => {
    expect(quotaAppliesToRun('stud-1', run, undefined)).toBe(true);
    expect(quotaAppliesToRun('stud-1', run, { createdBy: 'stud-1', createdAt: at(-1) })).toBe(true);
  });
  it('not to a run someone else (an owner, instructor, admin) started with the latest start', () => {
    expect(quotaAppliesToRun('stud-1', run, { createdBy: 'olga', createdAt: at(-1) })).toBe(false);
  });
  it('applies again once that start is not the one that started this run (long before it, or after it)', () => {
    expect(quotaAppliesToRun('stud-1', run, { createdBy: 'olga', createdAt: new Date(NOW.getTime() - START_TO_RUN_MS - 60_000).toISOString() })).toBe(
      true,
    );
    expect(quotaAppliesToRun('stud-1', run, { createdBy: 'olga', createdAt: at(2) })).toBe(true);
  });
});

describe('class hours', () => {
  // Mondays 19:00-21:00 UTC; NOW is Monday 2027-01-11 20:00 UTC.
  const scheduled = {
    ...lab,
    schedules: [{ name: 'mon', days: ['mon' as const], startTime: '19:00', stopTime: '21:00', timeZone: 'UTC' }],
  };
  const applied = (exemptClassHours: boolean) =>
    costControlsOf(
      { lab: 'os-101', name: studentVmName('os-101', 'Stud-1'), ownerId: 'Stud-1' },
      { ...scheduled, costControls: { ...DEFAULT_LAB_COST_CONTROLS, exemptClassHours } },
      {},
    )!;
  it('the quota never acts in class hours, whether auto-shutdown exempts them or not', () => {
    expect(inClassHours(applied(false), NOW)).toBe(true);
    expect(inExemptClassHours(applied(false), NOW)).toBe(false);
    expect(inExemptClassHours(applied(true), NOW)).toBe(true);
    expect(inClassHours(applied(false), new Date('2027-01-11T22:00:00Z'))).toBe(false);
  });
});
