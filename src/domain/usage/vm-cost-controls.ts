import { studentVmName } from '../labs/lab-rules.js';
import type { LabSpec } from '../labs/lab.js';
import { classWindows } from '../labs/schedule.js';
import type { Tenant } from '../tenants/tenant.js';
import type { VmRecord } from '../vms/vm.js';
import { DEFAULT_WARNING_PERIOD, durationMs, resolveAutoShutdown } from './auto-shutdown.js';
import type { CostControls, LabCostControls } from './cost-controls.js';
import type { QuotaWatch, VmWatch } from './idle-state-store.js';
import type { UsageVmRef } from './ports.js';
import type { UsageReport } from './usage-meter.js';

/**
 * The cost controls that apply to a VM: a lab student's VM (in a lab, named as the lab names its
 * students' VMs) has its lab's, any other VM its tenant's. Absent there: none (nothing is watched).
 * A VM labelled into a lab by hand is not the lab's, so it cannot shed its tenant's controls that way.
 */
export type AppliedCostControls =
  | { readonly scope: 'lab'; readonly lab: Pick<LabSpec, 'name' | 'schedules' | 'endsAt' | 'endGracePeriodDays'>; readonly controls: LabCostControls }
  | { readonly scope: 'tenant'; readonly controls: CostControls };

/** Whether `vm` is the deterministic VM of one of `lab`'s students (by name, as the lab provisions it). */
export function isLabStudentVm(vm: Pick<VmRecord, 'lab' | 'name' | 'ownerId'>, lab: Pick<LabSpec, 'name'>): boolean {
  return vm.lab === lab.name && vm.name === studentVmName(lab.name, vm.ownerId);
}

export function costControlsOf(
  vm: Pick<VmRecord, 'lab' | 'name' | 'ownerId'>,
  lab: (Pick<LabSpec, 'name' | 'schedules' | 'endsAt' | 'endGracePeriodDays'> & Pick<LabSpec, 'costControls'>) | undefined,
  tenant: Pick<Tenant, 'costControls'> | undefined,
): AppliedCostControls | undefined {
  if (lab !== undefined && isLabStudentVm(vm, lab)) {
    return lab.costControls === undefined ? undefined : { scope: 'lab', lab, controls: lab.costControls };
  }
  return tenant?.costControls === undefined ? undefined : { scope: 'tenant', controls: tenant.costControls };
}

/** Whether any auto-shutdown setting is on (and readable): otherwise the VM's sessions need not be read. */
export function watchesIdle(controls: CostControls): boolean {
  const r = resolveAutoShutdown(controls.autoShutdown);
  return r.disconnectMs !== undefined || r.notConnectedMs !== undefined || r.idle !== undefined;
}

/** True when the lab exempts its class hours and `now` is inside one. */
export function inExemptClassHours(applied: AppliedCostControls, now: Date): boolean {
  if (applied.scope !== 'lab' || !applied.controls.exemptClassHours) return false;
  return inClassHours(applied, now);
}

/**
 * True when `now` is inside the lab's scheduled class hours, whatever `exemptClassHours` says: hours
 * that never count against a student's quota, so the quota stops no VM then.
 */
export function inClassHours(applied: AppliedCostControls, now: Date): boolean {
  return applied.scope === 'lab' && classWindows(applied.lab, now, new Date(now.getTime() + 1)).length > 0;
}

/** A start operation found before a run started by more than this did not start that run. */
export const START_TO_RUN_MS = 10 * 60_000;

/**
 * Whether the quota may stop this run of a lab student's VM: not when someone other than the student
 * (an owner, an instructor, an admin, an integration: who may start an exhausted student's VM) started
 * it with the VM's latest start operation. `lastStart` is that operation (absent: none known, the run
 * came from the lab's provisioning or a schedule, and the quota applies).
 */
export function quotaAppliesToRun(
  ownerId: string,
  runStartedAt: string,
  lastStart: { readonly createdBy: string; readonly createdAt: string } | undefined,
): boolean {
  if (lastStart === undefined || lastStart.createdBy === ownerId) return true;
  const created = Date.parse(lastStart.createdAt);
  const run = Date.parse(runStartedAt);
  if (Number.isNaN(created) || Number.isNaN(run)) return true;
  // It started this run when it came before the run's start, and not long before.
  return !(created <= run + 1000 && run - created <= START_TO_RUN_MS);
}

/** The warning period in milliseconds (the default when unreadable, as `detectIdle` reads it). */
export function warningPeriodMs(controls: CostControls): number {
  return durationMs(controls.warningPeriod) ?? (durationMs(DEFAULT_WARNING_PERIOD) as number);
}

export type QuotaAction = 'none' | 'warn' | 'stop';

/** A stop for the quota that did not take (the VM still runs this long after) is asked again. */
export const QUOTA_STOP_RETRY_MS = 10 * 60_000;

/** True when the quota has run out or runs out within the warning period: only then does {@link quotaStep} act. */
export function quotaNear(report: Pick<UsageReport, 'exhausted' | 'exhaustsAt'>, now: Date, periodMs: number): boolean {
  if (report.exhausted) return true;
  const exhaustsAt = report.exhaustsAt === undefined ? Number.NaN : Date.parse(report.exhaustsAt);
  return !Number.isNaN(exhaustsAt) && exhaustsAt - now.getTime() <= periodMs;
}

/**
 * One step of a running lab VM's quota enforcement (pure): warn once per run when the quota runs
 * out within the warning period (or has run out), then stop once it has run out and the warning
 * period since the warning has passed. Hours added in between (the quota no longer runs out within
 * the warning period) lift the warning; a later one is a new warning.
 */
export function quotaStep(
  previous: QuotaWatch | undefined,
  report: Pick<UsageReport, 'exhausted' | 'exhaustsAt'>,
  now: Date,
  periodMs: number,
): { readonly watch: QuotaWatch; readonly action: QuotaAction } {
  const t = now.getTime();
  const exhaustsAt = report.exhaustsAt === undefined ? undefined : Date.parse(report.exhaustsAt);
  if (!quotaNear(report, now, periodMs)) return { watch: {}, action: 'none' };
  const warnedAt = previous?.warnedAt;
  const warned = warnedAt === undefined ? Number.NaN : Date.parse(warnedAt);
  if (warnedAt === undefined || Number.isNaN(warned)) {
    // Not before the quota runs out, and never before the warning period has passed.
    const stopAt = Math.max(t + periodMs, report.exhausted || exhaustsAt === undefined ? t : exhaustsAt);
    return { watch: { warnedAt: now.toISOString(), stopAt: new Date(stopAt).toISOString() }, action: 'warn' };
  }
  const kept: QuotaWatch = { warnedAt, ...(previous?.stopAt === undefined ? {} : { stopAt: previous.stopAt }) };
  const askedAt = previous?.stopRequestedAt;
  if (askedAt !== undefined && t - Date.parse(askedAt) < QUOTA_STOP_RETRY_MS) return { watch: { ...kept, stopRequestedAt: askedAt }, action: 'none' };
  if (!report.exhausted || t - warned < periodMs) return { watch: kept, action: 'none' };
  return { watch: { ...kept, stopRequestedAt: now.toISOString() }, action: 'stop' };
}

/**
 * A VM's auto-shutdown as the API shows it (VMs with cost controls only): whether its signals can be
 * read, whether someone uses it, and, once warned, why and when it will be stopped.
 */
export interface AutoShutdownView {
  /** `unavailable`: its guest agent (or, in `lowUsage` mode, its usage figures) does not answer, or it is not running (never stopped for that). */
  readonly signals: 'available' | 'unavailable';
  /** Someone is logged in (or, in `lowUsage` mode, it is busy). */
  readonly active: boolean;
  /** ISO 8601: idle by its idle mode since then. */
  readonly idleSince?: string;
  /** ISO 8601: when the warning (`vm.idle-warning` / `vm.quota-warning`) was sent. */
  readonly warnedAt?: string;
  /** Why it will be (or was) stopped: `AutoShutdown:Disconnect|NotConnected|Idle` or `UsageQuota:Exhausted`. */
  readonly reason?: string;
  /** ISO 8601: when it will be stopped unless someone uses it (or hours are added). */
  readonly stopAt?: string;
}

/**
 * The view of a VM from what the idle detector stored: only a record of the VM's current run
 * (`runId`: its instance now; none when it is not running) counts. Of an idle and a quota warning,
 * the one that stops the VM first is shown.
 */
export function autoShutdownViewOf(watch: VmWatch | undefined, runId: string | undefined, controls: CostControls): AutoShutdownView {
  if (watch === undefined || runId === undefined || watch.runId !== runId) return { signals: 'unavailable', active: false };
  const idle = watch.idle;
  const base: AutoShutdownView = {
    signals: idle?.signals ?? 'unavailable',
    active: idle?.active ?? false,
    ...(idle?.idleSince === undefined ? {} : { idleSince: idle.idleSince }),
  };
  const warnings: { warnedAt: string; reason: string; stopAt: string }[] = [];
  if (idle?.warnedAt !== undefined && idle.reason !== undefined) {
    warnings.push({
      warnedAt: idle.warnedAt,
      reason: idle.reason,
      stopAt: new Date(Date.parse(idle.warnedAt) + warningPeriodMs(controls)).toISOString(),
    });
  }
  const quota = watch.quota;
  if (quota?.warnedAt !== undefined && quota.stopAt !== undefined) {
    warnings.push({ warnedAt: quota.warnedAt, reason: 'UsageQuota:Exhausted', stopAt: quota.stopAt });
  }
  const first = warnings.sort((a, b) => Date.parse(a.stopAt) - Date.parse(b.stopAt))[0];
  return first === undefined ? base : { ...base, ...first };
}

/** Where the API reads VMs' auto-shutdown views (built by the auto-shutdown area over its store). */
export interface AutoShutdownViews {
  /**
   * One answer per VM in the order given: undefined for a VM without cost controls (or gone). Does
   * not authorize: the caller has read the VMs through the VM use cases first.
   */
  of(vms: readonly UsageVmRef[]): Promise<readonly (AutoShutdownView | undefined)[]>;
}
