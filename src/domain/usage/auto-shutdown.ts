import type { FieldIssue } from '../shared/errors.js';

/**
 * Auto-shutdown profile of a lab (or the tenant default for other VMs), after the model of Azure Lab
 * Services' `autoShutdownProfile` (shutdownOnDisconnect / shutdownWhenNotConnected / shutdownOnIdle with
 * `None | UserAbsence | LowUsage`). Delays are ISO 8601 durations such as `PT15M`.
 */
export type IdleMode = 'none' | 'userAbsence' | 'lowUsage';

export interface DelayedShutdown {
  readonly enabled: boolean;
  /** ISO 8601 duration, e.g. `PT15M`. */
  readonly delay: string;
}

/** Below all three (per second, averaged by the usage source) a VM counts as little used. */
export interface UsageThresholds {
  readonly cpuCores: number;
  readonly networkBytesPerSecond: number;
  readonly diskBytesPerSecond: number;
}

export interface IdleShutdown {
  readonly mode: IdleMode;
  readonly delay: string;
  /** Only read in `lowUsage` mode; `DEFAULT_USAGE_THRESHOLDS` when absent. */
  readonly thresholds?: UsageThresholds;
}

export interface AutoShutdownProfile {
  readonly shutdownOnDisconnect: DelayedShutdown;
  readonly shutdownWhenNotConnected: DelayedShutdown;
  readonly shutdownOnIdle: IdleShutdown;
}

export type AutoShutdownReason = 'AutoShutdown:Disconnect' | 'AutoShutdown:NotConnected' | 'AutoShutdown:Idle';

export const IDLE_MODES: readonly IdleMode[] = ['none', 'userAbsence', 'lowUsage'];
export const MIN_DELAY_MS = 5 * 60_000;
export const MAX_DELAY_MS = 24 * 3_600_000;
/** The warning period between the `vm.idle-warning` and the stop. */
export const MIN_WARNING_MS = 0;
export const MAX_WARNING_MS = 60 * 60_000;
export const DEFAULT_WARNING_PERIOD = 'PT5M';

/**
 * What counts as little used. Azure Lab Services does not publish its figures (it asks the Windows
 * idle detection: processors and disks idle most of the time), so these are ours: a tenth of a core,
 * 10 kB/s of network (keep-alives, NTP, agents) and 100 kB/s of disk (logs, journald).
 */
export const DEFAULT_USAGE_THRESHOLDS: UsageThresholds = {
  cpuCores: 0.1,
  networkBytesPerSecond: 10_000,
  diskBytesPerSecond: 100_000,
};

/**
 * The defaults follow Azure Lab Services, where all three settings are on for every new lab plan: "For
 * all new lab plans, these settings are turned on by default" (learn.microsoft.com/azure/lab-services/
 * cost-management-guide, "Automatic shutdown settings for cost control"). Its documentation does not
 * state the default delays; 15 minutes each is the value its lab settings page proposes. Idle detection
 * is on user absence (ALS `UserAbsence`: no input), the mode that needs no usage thresholds.
 */
export const DEFAULT_AUTO_SHUTDOWN_PROFILE: AutoShutdownProfile = {
  shutdownOnDisconnect: { enabled: true, delay: 'PT15M' },
  shutdownWhenNotConnected: { enabled: true, delay: 'PT15M' },
  shutdownOnIdle: { mode: 'userAbsence', delay: 'PT15M' },
};

/**
 * Weeks, days, hours, minutes, (fractional) seconds; at least one; `T` only before a time part. Parsed
 * here rather than with a date library: the domain imports nothing but itself and Node.
 */
const FIXED_DURATION = /^P(?=\d|T\d)(?:(\d{1,6})W)?(?:(\d{1,6})D)?(?:T(?=\d)(?:(\d{1,6})H)?(?:(\d{1,6})M)?(?:(\d{1,6}(?:\.\d{1,3})?)S)?)?$/;
const UNIT_MS = [7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1000] as const;

/**
 * Milliseconds of an ISO 8601 duration of fixed length (weeks, days, hours, minutes, seconds; no years
 * or months, whose length varies, and no signs), or undefined when the text is not one.
 */
export function durationMs(iso: unknown): number | undefined {
  if (typeof iso !== 'string') return undefined;
  const m = FIXED_DURATION.exec(iso);
  if (m === null) return undefined;
  return UNIT_MS.reduce((sum, unit, i) => sum + Math.round(Number(m[i + 1] ?? 0) * unit), 0);
}

/** A JSON object (not an array, not null). */
export const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const minutes = (ms: number): string => (ms % 3_600_000 === 0 ? `${ms / 3_600_000} h` : `${ms / 60_000} min`);

function delayIssues(delay: unknown, field: string, min = MIN_DELAY_MS, max = MAX_DELAY_MS): FieldIssue[] {
  const ms = durationMs(delay);
  if (ms === undefined) return [{ field, message: 'must be an ISO 8601 duration such as PT15M (no years or months)' }];
  if (ms < min || ms > max) return [{ field, message: `must be between ${minutes(min)} and ${minutes(max)}` }];
  return [];
}

function delayedIssues(setting: unknown, field: string): FieldIssue[] {
  if (!isRecord(setting)) return [{ field, message: 'must be an object with enabled and delay' }];
  const issues: FieldIssue[] = [];
  if (typeof setting.enabled !== 'boolean') issues.push({ field: `${field}/enabled`, message: 'must be true or false' });
  issues.push(...delayIssues(setting.delay, `${field}/delay`));
  return issues;
}

function thresholdsIssues(t: unknown, field: string): FieldIssue[] {
  if (t === undefined) return [];
  if (!isRecord(t)) return [{ field, message: 'must be an object with cpuCores, networkBytesPerSecond and diskBytesPerSecond' }];
  const issues: FieldIssue[] = [];
  for (const key of ['cpuCores', 'networkBytesPerSecond', 'diskBytesPerSecond'] as const) {
    const v = t[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 1e12) {
      issues.push({ field: `${field}/${key}`, message: 'must be a number, 0 or more' });
    }
  }
  return issues;
}

/**
 * Issues of a profile as it arrives (JSON: anything). Fields are JSON Pointers under `base`, e.g.
 * `/autoShutdown/shutdownOnIdle/delay`. A delay is checked even when its setting is disabled, so turning
 * it on later cannot reveal a bad value.
 */
export function autoShutdownProfileIssues(profile: unknown, base = ''): FieldIssue[] {
  if (!isRecord(profile)) return [{ field: base === '' ? '/' : base, message: 'must be an auto-shutdown profile object' }];
  const issues: FieldIssue[] = [
    ...delayedIssues(profile.shutdownOnDisconnect, `${base}/shutdownOnDisconnect`),
    ...delayedIssues(profile.shutdownWhenNotConnected, `${base}/shutdownWhenNotConnected`),
  ];
  const idle = profile.shutdownOnIdle;
  const field = `${base}/shutdownOnIdle`;
  if (!isRecord(idle)) return [...issues, { field, message: 'must be an object with mode and delay' }];
  if (typeof idle.mode !== 'string' || !(IDLE_MODES as readonly string[]).includes(idle.mode)) {
    issues.push({ field: `${field}/mode`, message: 'must be none, userAbsence or lowUsage' });
  }
  issues.push(...delayIssues(idle.delay, `${field}/delay`), ...thresholdsIssues(idle.thresholds, `${field}/thresholds`));
  return issues;
}

/** Issues of the warning period (0 to 1 h: 0 warns and stops on the next look). */
export function warningPeriodIssues(period: unknown, field = '/warningPeriod'): FieldIssue[] {
  return delayIssues(period, field, MIN_WARNING_MS, MAX_WARNING_MS);
}

/** A profile in milliseconds; a setting that is off, or whose delay is unreadable, is undefined. */
export interface ResolvedAutoShutdown {
  readonly disconnectMs?: number;
  readonly notConnectedMs?: number;
  readonly idle?: { readonly mode: 'userAbsence' | 'lowUsage'; readonly delayMs: number; readonly thresholds: UsageThresholds };
}

/**
 * The profile in milliseconds. An invalid setting counts as off: a VM is never stopped on a setting
 * that cannot be read (`autoShutdownProfileIssues` keeps such settings out at the edge).
 */
export function resolveAutoShutdown(profile: AutoShutdownProfile): ResolvedAutoShutdown {
  const ok = (ms: number | undefined): ms is number => ms !== undefined && ms >= MIN_DELAY_MS && ms <= MAX_DELAY_MS;
  const disconnect = profile.shutdownOnDisconnect.enabled ? durationMs(profile.shutdownOnDisconnect.delay) : undefined;
  const notConnected = profile.shutdownWhenNotConnected.enabled ? durationMs(profile.shutdownWhenNotConnected.delay) : undefined;
  const idle = profile.shutdownOnIdle;
  const idleMs = idle.mode === 'none' ? undefined : durationMs(idle.delay);
  const thresholds = idle.thresholds ?? DEFAULT_USAGE_THRESHOLDS;
  return {
    ...(ok(disconnect) ? { disconnectMs: disconnect } : {}),
    ...(ok(notConnected) ? { notConnectedMs: notConnected } : {}),
    ...(ok(idleMs) && idle.mode !== 'none' && thresholdsIssues(thresholds, '').length === 0
      ? { idle: { mode: idle.mode, delayMs: idleMs, thresholds } }
      : {}),
  };
}
