import {
  DEFAULT_WARNING_PERIOD,
  durationMs,
  resolveAutoShutdown,
  type AutoShutdownProfile,
  type AutoShutdownReason,
  type ResolvedAutoShutdown,
  type UsageThresholds,
} from './auto-shutdown.js';
import type { VmUsageReading } from './ports.js';

/**
 * The idle detector of one VM: a pure step from the previous state and what is observed now to the next
 * state and an action. It is run once a minute or so per running VM; its state is stored between runs.
 *
 * Rules:
 * - it never stops a VM for the absence of a signal: while the session signal (or, in `lowUsage` mode,
 *   the usage signal) is unavailable nothing is due, and every delay counts again from when it is back;
 * - it warns first and stops only when the VM is still idle after the warning period; any activity in
 *   between cancels the warning;
 * - during exempt hours (a lab's scheduled class hours) nothing is due, and delays count from their end;
 * - NotConnected: started and nobody connected within the delay; Disconnect: the last session ended and
 *   none came back within the delay; Idle: `userAbsence` = no session for the delay, `lowUsage` = no
 *   session and CPU, network and disk all below the thresholds for the delay.
 * A console connection (`lastConsoleAt`) counts as a user being there at that instant; a session counts
 * as there until the last look that saw it, so the delays are as precise as the looks are frequent.
 */

export interface UserSession {
  readonly user: string;
  /** ISO 8601. */
  readonly loginAt: string;
}

/** The users in the guest now (a `GuestSessions` of `src/domain/vms/guest-sessions.ts` is one). */
export type SessionSignal = { readonly available: true; readonly sessions: readonly UserSession[] } | { readonly available: false };

/** How busy the VM was lately, from the usage source (`UsageMetrics` of `./ports.ts`). */
export type UsageSignal = VmUsageReading;

export type PowerState = 'running' | 'starting' | 'stopping' | 'stopped' | 'unknown';

export interface VmPower {
  readonly state: PowerState;
  /** ISO 8601: when the VM entered `running` this time. */
  readonly startedAt?: string;
}

export type IdleAction = 'none' | 'warn' | 'stop';

export interface IdleState {
  /** The run this state belongs to (`VmPower.startedAt`); another run starts afresh. */
  readonly runStartedAt?: string;
  /** The session signal (and in `lowUsage` mode the usage signal) as last seen. */
  readonly signals: 'available' | 'unavailable';
  /** Since when the VM has been watched without a gap (signals available, not exempt). */
  readonly watchedSince?: string;
  /** The last instant a user was seen (a session or a console connection) during this run. */
  readonly lastSeenAt?: string;
  /** A user is there now (or, in `lowUsage` mode, the VM is busy). */
  readonly active: boolean;
  /** Since when the VM has been idle by the idle mode (no users; in `lowUsage` also low usage). */
  readonly idleSince?: string;
  readonly warnedAt?: string;
  readonly stopRequestedAt?: string;
  /** Why the VM is warned or stopped. */
  readonly reason?: AutoShutdownReason;
}

export interface IdleInput {
  readonly previous: IdleState | undefined;
  readonly profile: AutoShutdownProfile;
  readonly now: Date;
  readonly power: VmPower;
  readonly sessions: SessionSignal;
  readonly usage: UsageSignal;
  /** True during the lab's scheduled class hours, when the lab exempts them. */
  readonly exempt: boolean;
  /** ISO 8601 duration between the warning and the stop (`DEFAULT_WARNING_PERIOD` when unreadable). */
  readonly warningPeriod: string;
}

export interface IdleDecision {
  readonly state: IdleState;
  readonly action: IdleAction;
  readonly reason?: AutoShutdownReason;
}

/** A stop that did not take (the VM still runs this long after it was asked) is forgotten. */
export const STOP_RETRY_MS = 10 * 60_000;

const iso = (ms: number): string => new Date(ms).toISOString();
const ms = (text: string | undefined): number | undefined => {
  if (text === undefined) return undefined;
  const t = Date.parse(text);
  return Number.isNaN(t) ? undefined : t;
};
const maxOf = (...values: (number | undefined)[]): number | undefined => {
  const defined = values.filter((v): v is number => v !== undefined);
  return defined.length === 0 ? undefined : Math.max(...defined);
};

const IDLE: IdleState = { signals: 'available', active: false };

function isBusy(usage: Exclude<UsageSignal, 'unavailable'>, t: UsageThresholds): boolean {
  return usage.cpuCores >= t.cpuCores || usage.networkBytesPerSecond >= t.networkBytesPerSecond || usage.diskBytesPerSecond >= t.diskBytesPerSecond;
}

interface Due {
  readonly reason: AutoShutdownReason;
  readonly at: number;
}

/** The shutdowns due by `now`, earliest first. */
function dueShutdowns(
  p: ResolvedAutoShutdown,
  watched: number,
  lastSeen: number | undefined,
  idleSince: number | undefined,
  present: boolean,
): Due[] {
  const due: Due[] = [];
  if (lastSeen === undefined && p.notConnectedMs !== undefined) {
    due.push({ reason: 'AutoShutdown:NotConnected', at: watched + p.notConnectedMs });
  }
  if (!present && lastSeen !== undefined && p.disconnectMs !== undefined) {
    due.push({ reason: 'AutoShutdown:Disconnect', at: Math.max(lastSeen, watched) + p.disconnectMs });
  }
  if (p.idle !== undefined && idleSince !== undefined) {
    due.push({ reason: 'AutoShutdown:Idle', at: Math.max(idleSince, watched) + p.idle.delayMs });
  }
  return due.sort((a, b) => a.at - b.at);
}

/** One step of the idle detector of a VM. */
export function detectIdle(input: IdleInput): IdleDecision {
  const now = input.now.getTime();
  const started = ms(input.power.startedAt);
  if (input.power.state !== 'running' || started === undefined) return { state: IDLE, action: 'none' };
  const runStartedAt = iso(started);
  const freshRun = input.previous?.runStartedAt !== runStartedAt;
  const prev: IdleState = input.previous !== undefined && !freshRun ? input.previous : { ...IDLE, runStartedAt };
  const profile = resolveAutoShutdown(input.profile);
  const lowUsage = profile.idle?.mode === 'lowUsage';

  const usage = input.usage === 'unavailable' ? undefined : input.usage;
  const signalsOk = input.sessions.available && (!lowUsage || usage !== undefined);
  const present = input.sessions.available && input.sessions.sessions.length > 0;
  // A user seen now, or a console connection since this run started, is a user seen.
  const console = usage?.lastConsoleAt?.getTime();
  const lastSeen = present ? now : maxOf(ms(prev.lastSeenAt), console !== undefined && console >= started ? Math.min(console, now) : undefined);
  const base: IdleState = {
    runStartedAt,
    signals: signalsOk ? 'available' : 'unavailable',
    active: present,
    ...(lastSeen === undefined ? {} : { lastSeenAt: iso(lastSeen) }),
  };

  // A stop already asked: wait for it. One that did not take within STOP_RETRY_MS is forgotten, and
  // the VM is judged afresh (warned again before another stop, so a user back in the meantime is safe).
  const stopAsked = ms(prev.stopRequestedAt);
  if (stopAsked !== undefined && now - stopAsked < STOP_RETRY_MS) {
    return { state: { ...prev, ...base, reason: prev.reason ?? 'AutoShutdown:Idle' }, action: 'none' };
  }
  const warnedAt = stopAsked === undefined ? prev.warnedAt : undefined;

  // Not watching: nothing is due, the watch starts again on the next look that can see.
  if (!signalsOk || input.exempt) return { state: base, action: 'none' };
  // The first look at a run watches from its start; after a gap (no `watchedSince` kept), from now.
  const watchedSince = freshRun ? started : (ms(prev.watchedSince) ?? now);

  // Idle by the idle mode: no user (and in lowUsage mode, low usage) since `idleSince`.
  const busy = lowUsage && usage !== undefined && profile.idle !== undefined && isBusy(usage, profile.idle.thresholds);
  const idleNow = profile.idle !== undefined && !present && !busy;
  const idleSince = idleNow ? (lowUsage ? maxOf(ms(prev.idleSince) ?? now, lastSeen) : (lastSeen ?? started)) : undefined;
  const state: IdleState = {
    ...base,
    watchedSince: iso(watchedSince),
    active: present || busy,
    ...(idleSince === undefined ? {} : { idleSince: iso(idleSince) }),
  };

  const due = dueShutdowns(profile, watchedSince, lastSeen, idleSince, present).filter((d) => d.at <= now)[0];
  if (due === undefined) return { state, action: 'none' };
  const warned = ms(warnedAt);
  if (warned === undefined) return { state: { ...state, warnedAt: iso(now), reason: due.reason }, action: 'warn', reason: due.reason };
  const period = durationMs(input.warningPeriod) ?? (durationMs(DEFAULT_WARNING_PERIOD) as number);
  if (now - warned < period) return { state: { ...state, warnedAt: iso(warned), reason: due.reason }, action: 'none' };
  return {
    state: { ...state, warnedAt: iso(warned), stopRequestedAt: iso(now), reason: due.reason },
    action: 'stop',
    reason: due.reason,
  };
}
