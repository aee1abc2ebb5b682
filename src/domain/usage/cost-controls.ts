import type { FieldIssue } from '../shared/errors.js';
import {
  autoShutdownProfileIssues,
  isRecord,
  DEFAULT_AUTO_SHUTDOWN_PROFILE,
  DEFAULT_WARNING_PERIOD,
  warningPeriodIssues,
  type AutoShutdownProfile,
} from './auto-shutdown.js';
import { MAX_QUOTA_HOURS, quotaHoursIssues } from './usage-meter.js';

/**
 * The cost controls of the VMs of a tenant outside labs (the tenant default), and of a lab's VMs
 * (with the lab's own additions in {@link LabCostControls}).
 */
export interface CostControls {
  /** When a running VM is stopped for lack of use (Azure Lab Services' three settings). */
  readonly autoShutdown: AutoShutdownProfile;
  /**
   * ISO 8601 duration between the warning (`vm.idle-warning` / `vm.quota-warning` webhook) and the
   * stop, 0 to 1 h (`PT0S` stops on the next look after the warning).
   */
  readonly warningPeriod: string;
}

/** A lab's cost controls: auto-shutdown, and a quota of hours per student. */
export interface LabCostControls extends CostControls {
  /** Auto-shutdown does not act during the lab's scheduled class hours (default true). */
  readonly exemptClassHours: boolean;
  /**
   * Hours each student's VM may run outside the lab's class hours (scheduled hours never count, as
   * in Azure Lab Services); absent: no quota.
   */
  readonly usageQuotaHours?: number;
  /** Student id → hours instructors added to that student's quota (whole quarters of an hour). */
  readonly addedHours: Readonly<Record<string, number>>;
}

/**
 * What a new lab gets when its creator says nothing: Azure Lab Services' defaults (all three
 * auto-shutdown settings on, see `DEFAULT_AUTO_SHUTDOWN_PROFILE`), a 5-minute warning, class hours
 * exempt, no quota. Labs stored before cost controls existed have none (`LabSpec.costControls`
 * absent): nothing they did not ask for is switched on under them.
 */
export const DEFAULT_LAB_COST_CONTROLS: LabCostControls = {
  autoShutdown: DEFAULT_AUTO_SHUTDOWN_PROFILE,
  warningPeriod: DEFAULT_WARNING_PERIOD,
  exemptClassHours: true,
  addedHours: {},
};

/** Cost controls as callers give them on a tenant: absent parts take the defaults (create) or stay (update). */
export interface CostControlsInput {
  readonly autoShutdown?: AutoShutdownProfile;
  readonly warningPeriod?: string;
}

/**
 * A lab's cost controls as callers give them. `usageQuotaHours: null` removes the quota (update only).
 * `addedHours` is not part of it: instructors add hours per student through their own request.
 */
export interface LabCostControlsInput extends CostControlsInput {
  readonly exemptClassHours?: boolean;
  readonly usageQuotaHours?: number | null;
}

/** The tenant default when a tenant is given cost controls without some of their parts. */
export const DEFAULT_COST_CONTROLS: CostControls = {
  autoShutdown: DEFAULT_AUTO_SHUTDOWN_PROFILE,
  warningPeriod: DEFAULT_WARNING_PERIOD,
};

const TENANT_FIELDS = ['autoShutdown', 'warningPeriod'] as const;
const LAB_FIELDS = [...TENANT_FIELDS, 'exemptClassHours', 'usageQuotaHours'] as const;

/**
 * Issues of cost controls as they arrive (JSON: anything), fields as JSON Pointers under `base`
 * (e.g. `/costControls/autoShutdown/shutdownOnIdle/delay`). `autoShutdown`, when given, is a complete
 * profile. Lab only: `exemptClassHours` and `usageQuotaHours` (`null` removes the quota, on `update`
 * only). `addedHours` is read-only here.
 */
export function costControlsIssues(input: unknown, base: string, options: { readonly lab: boolean; readonly update?: boolean }): FieldIssue[] {
  if (!isRecord(input)) return [{ field: base === '' ? '/' : base, message: 'must be an object' }];
  const issues: FieldIssue[] = [];
  const known: readonly string[] = options.lab ? LAB_FIELDS : TENANT_FIELDS;
  for (const key of Object.keys(input)) {
    if (key === 'addedHours' && options.lab) {
      issues.push({
        field: `${base}/addedHours`,
        message: 'is read-only: add hours per student with POST .../labs/{lab}/students/{studentId}/usage-hours',
      });
    } else if (!known.includes(key)) issues.push({ field: `${base}/${key}`, message: `is not a cost-control setting (${known.join(', ')})` });
  }
  if (input.autoShutdown !== undefined) issues.push(...autoShutdownProfileIssues(input.autoShutdown, `${base}/autoShutdown`));
  if (input.warningPeriod !== undefined) issues.push(...warningPeriodIssues(input.warningPeriod, `${base}/warningPeriod`));
  if (!options.lab) return issues;
  if (input.exemptClassHours !== undefined && typeof input.exemptClassHours !== 'boolean') {
    issues.push({ field: `${base}/exemptClassHours`, message: 'must be true or false' });
  }
  const quota = input.usageQuotaHours;
  if (quota === null) {
    if (options.update !== true) issues.push({ field: `${base}/usageQuotaHours`, message: 'must be a number of hours (leave it out for no quota)' });
  } else if (quota !== undefined) issues.push(...quotaHoursIssues(quota, `${base}/usageQuotaHours`));
  return issues;
}

/** A profile with its known fields only (what is stored and shown). */
export function autoShutdownProfileOf(p: AutoShutdownProfile): AutoShutdownProfile {
  const t = p.shutdownOnIdle.thresholds;
  return {
    shutdownOnDisconnect: { enabled: p.shutdownOnDisconnect.enabled, delay: p.shutdownOnDisconnect.delay },
    shutdownWhenNotConnected: { enabled: p.shutdownWhenNotConnected.enabled, delay: p.shutdownWhenNotConnected.delay },
    shutdownOnIdle: {
      mode: p.shutdownOnIdle.mode,
      delay: p.shutdownOnIdle.delay,
      ...(t === undefined
        ? {}
        : { thresholds: { cpuCores: t.cpuCores, networkBytesPerSecond: t.networkBytesPerSecond, diskBytesPerSecond: t.diskBytesPerSecond } }),
    },
  };
}

/** A tenant's cost controls: `input` (valid, see {@link costControlsIssues}) over `over` (the stored ones, else the defaults). */
export function mergeCostControls(input: CostControlsInput, over: CostControls = DEFAULT_COST_CONTROLS): CostControls {
  return {
    autoShutdown: autoShutdownProfileOf(input.autoShutdown ?? over.autoShutdown),
    warningPeriod: input.warningPeriod ?? over.warningPeriod,
  };
}

/**
 * A lab's cost controls: `input` (valid) over `over` (the stored ones, else the defaults of a new lab).
 * `usageQuotaHours: null` removes the quota; the hours instructors added are kept.
 */
export function mergeLabCostControls(input: LabCostControlsInput, over: LabCostControls = DEFAULT_LAB_COST_CONTROLS): LabCostControls {
  const quota = input.usageQuotaHours === undefined ? over.usageQuotaHours : (input.usageQuotaHours ?? undefined);
  return {
    ...mergeCostControls(input, over),
    exemptClassHours: input.exemptClassHours ?? over.exemptClassHours,
    ...(quota === undefined ? {} : { usageQuotaHours: quota }),
    addedHours: { ...over.addedHours },
  };
}

/** Hours an instructor may add (or take back) at once: whole quarters of an hour, not 0. */
export function addedHoursIssues(hours: unknown, field = '/hours'): FieldIssue[] {
  const ok = typeof hours === 'number' && Number.isFinite(hours) && hours !== 0 && Math.abs(hours) <= MAX_QUOTA_HOURS && Number.isInteger(hours * 4);
  return ok
    ? []
    : [{ field, message: `must be a number of hours other than 0, from -${MAX_QUOTA_HOURS} to ${MAX_QUOTA_HOURS}, in quarters of an hour` }];
}
