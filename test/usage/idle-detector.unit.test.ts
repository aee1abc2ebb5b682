import { describe, expect, it } from 'vitest';
import type { AutoShutdownProfile } from '../../src/domain/usage/auto-shutdown.js';
import type { GuestSessions } from '../../src/domain/vms/guest-sessions.js';
import {
  STOP_RETRY_MS,
  detectIdle,
  type IdleDecision,
  type IdleState,
  type SessionSignal,
  type UsageSignal,
  type VmPower,
} from '../../src/domain/usage/idle-detector.js';

const T0 = Date.parse('2026-03-02T08:00:00.000Z');
const MIN = 60_000;
const at = (minute: number): string => new Date(T0 + minute * MIN).toISOString();

const OFF = { enabled: false, delay: 'PT15M' } as const;
const profileOf = (p: Partial<AutoShutdownProfile>): AutoShutdownProfile => ({
  shutdownOnDisconnect: OFF,
  shutdownWhenNotConnected: OFF,
  shutdownOnIdle: { mode: 'none', delay: 'PT15M' },
  ...p,
});
const DISCONNECT = profileOf({ shutdownOnDisconnect: { enabled: true, delay: 'PT15M' } });
const NOT_CONNECTED = profileOf({ shutdownWhenNotConnected: { enabled: true, delay: 'PT15M' } });
const LOW_USAGE = profileOf({
  shutdownOnIdle: { mode: 'lowUsage', delay: 'PT20M', thresholds: { cpuCores: 0.2, networkBytesPerSecond: 1000, diskBytesPerSecond: 1000 } },
});
const USER_ABSENCE = profileOf({ shutdownOnIdle: { mode: 'userAbsence', delay: 'PT20M' } });

const nobody: SessionSignal = { available: true, sessions: [] };
const someone = (minute = 0): SessionSignal => ({ available: true, sessions: [{ user: 'student', loginAt: at(minute) }] });
// What the guest session source answers is a session signal as it is.
const agentDown: GuestSessions = { available: false, reason: 'guest-agent-not-connected' };
const noAgent: SessionSignal = agentDown;
const quiet: UsageSignal = { cpuCores: 0.01, networkBytesPerSecond: 10, diskBytesPerSecond: 10 };
const busy: UsageSignal = { cpuCores: 1.5, networkBytesPerSecond: 10, diskBytesPerSecond: 10 };

interface Look {
  readonly sessions?: SessionSignal;
  readonly usage?: UsageSignal;
  readonly exempt?: boolean;
  readonly power?: VmPower;
}

/**
 * Looks once a minute from minute 0 (the VM started at minute 0) to `minutes`, in fake time. A stop takes
 * effect at the next look unless the look says what the power is.
 */
function run(profile: AutoShutdownProfile, minutes: number, look: (minute: number) => Look, warningPeriod = 'PT5M') {
  let state: IdleState | undefined;
  let stopped = false;
  const decisions: (IdleDecision & { minute: number })[] = [];
  for (let m = 0; m <= minutes; m++) {
    const l = look(m);
    const d = detectIdle({
      previous: state,
      profile,
      now: new Date(T0 + m * MIN),
      power: l.power ?? (stopped ? { state: 'stopped' } : { state: 'running', startedAt: at(0) }),
      sessions: l.sessions ?? nobody,
      usage: l.usage ?? quiet,
      exempt: l.exempt ?? false,
      warningPeriod,
    });
    decisions.push({ ...d, minute: m });
    if (d.action === 'stop') stopped = true;
    state = d.state;
  }
  const actions = decisions.filter((d) => d.action !== 'none').map((d) => `${d.minute}:${d.action}:${d.reason ?? ''}`);
  return { decisions, actions, last: decisions.at(-1)! };
}

describe('shutdown when not connected', () => {
  it('warns at the delay and stops after the warning period', () => {
    expect(run(NOT_CONNECTED, 30, () => ({})).actions).toEqual(['15:warn:AutoShutdown:NotConnected', '20:stop:AutoShutdown:NotConnected']);
  });
  it('does nothing for a VM connected to within the delay', () => {
    expect(run(NOT_CONNECTED, 60, (m) => ({ sessions: m === 10 ? someone(10) : nobody })).actions).toEqual([]);
  });
  it('counts a console connection as a connection', () => {
    const console_: UsageSignal = { ...quiet, lastConsoleAt: new Date(at(3)) };
    expect(run(NOT_CONNECTED, 60, (m) => ({ usage: m >= 4 ? console_ : quiet })).actions).toEqual([]);
  });
  it('ignores a console connection from before this run', () => {
    const old: UsageSignal = { ...quiet, lastConsoleAt: new Date(at(-30)) };
    expect(run(NOT_CONNECTED, 20, () => ({ usage: old })).actions).toEqual([
      '15:warn:AutoShutdown:NotConnected',
      '20:stop:AutoShutdown:NotConnected',
    ]);
  });
  it('a connection during the warning cancels it', () => {
    const r = run(NOT_CONNECTED, 40, (m) => ({ sessions: m >= 17 ? someone(17) : nobody }));
    expect(r.actions).toEqual(['15:warn:AutoShutdown:NotConnected']);
    expect(r.decisions[17]?.state.warnedAt).toBeUndefined();
    expect(r.decisions[16]?.state.warnedAt).toBe(at(15));
  });
  it('is off when disabled', () => {
    expect(run(profileOf({}), 60, () => ({})).actions).toEqual([]);
  });
});

describe('shutdown on disconnect', () => {
  it('counts the delay from the last look that saw a session', () => {
    const r = run(DISCONNECT, 40, (m) => ({ sessions: m < 10 ? someone() : nobody }));
    expect(r.actions).toEqual(['24:warn:AutoShutdown:Disconnect', '29:stop:AutoShutdown:Disconnect']);
    expect(r.decisions[29]?.state.lastSeenAt).toBe(at(9));
    expect(r.last.state).toEqual({ signals: 'available', active: false });
  });
  it('does nothing when the user comes back within the delay', () => {
    expect(run(DISCONNECT, 60, (m) => ({ sessions: m < 10 || m >= 20 ? someone() : nobody })).actions).toEqual([]);
  });
  it('a reconnection during the warning cancels it, and the delay starts again at the next disconnect', () => {
    const r = run(DISCONNECT, 60, (m) => ({ sessions: m < 10 || m === 27 ? someone() : nobody }));
    expect(r.actions).toEqual(['24:warn:AutoShutdown:Disconnect', '42:warn:AutoShutdown:Disconnect', '47:stop:AutoShutdown:Disconnect']);
  });
  it('a console connection keeps the VM in use', () => {
    const r = run(DISCONNECT, 40, (m) => ({
      sessions: m < 10 ? someone() : nobody,
      usage: m >= 12 ? { ...quiet, lastConsoleAt: new Date(at(12)) } : quiet,
    }));
    expect(r.actions).toEqual(['27:warn:AutoShutdown:Disconnect', '32:stop:AutoShutdown:Disconnect']);
  });
  it('never applies to a VM nobody connected to', () => {
    expect(run(DISCONNECT, 60, () => ({})).actions).toEqual([]);
  });
  it('a connected user is active, with no idle time', () => {
    const r = run(DISCONNECT, 5, () => ({ sessions: someone() }));
    expect(r.last.state).toMatchObject({ active: true, signals: 'available', lastSeenAt: at(5) });
    expect(r.last.state.idleSince).toBeUndefined();
  });
});

describe('signals that are missing', () => {
  it('never stops a VM whose guest agent does not answer', () => {
    const r = run({ ...NOT_CONNECTED, shutdownOnDisconnect: { enabled: true, delay: 'PT15M' } }, 120, () => ({ sessions: noAgent }));
    expect(r.actions).toEqual([]);
    expect(r.last.state.signals).toBe('unavailable');
  });
  it('cancels a warning when the signal goes and counts the delay again from when it is back', () => {
    const r = run(NOT_CONNECTED, 60, (m) => ({ sessions: m >= 16 && m < 20 ? noAgent : nobody }));
    expect(r.actions).toEqual(['15:warn:AutoShutdown:NotConnected', '35:warn:AutoShutdown:NotConnected', '40:stop:AutoShutdown:NotConnected']);
    expect(r.decisions[17]?.state.warnedAt).toBeUndefined();
  });
  it('low usage needs the usage signal; disconnect does not', () => {
    const noUsage = run(LOW_USAGE, 120, () => ({ usage: 'unavailable' }));
    expect(noUsage.actions).toEqual([]);
    expect(noUsage.last.state.signals).toBe('unavailable');
    const r = run(DISCONNECT, 40, (m) => ({ sessions: m < 10 ? someone() : nobody, usage: 'unavailable' }));
    expect(r.actions).toEqual(['24:warn:AutoShutdown:Disconnect', '29:stop:AutoShutdown:Disconnect']);
  });
});

describe('shutdown on idle', () => {
  it('low usage: no session and all usage below the thresholds for the delay', () => {
    const r = run(LOW_USAGE, 30, () => ({}));
    expect(r.actions).toEqual(['20:warn:AutoShutdown:Idle', '25:stop:AutoShutdown:Idle']);
    expect(r.decisions[10]?.state).toMatchObject({ active: false, idleSince: at(0) });
  });
  it.each<[string, UsageSignal]>([
    ['CPU', busy],
    ['network', { ...quiet, networkBytesPerSecond: 1000 }],
    ['disk', { ...quiet, diskBytesPerSecond: 5000 }],
  ])('a VM busy on %s alone is not idle', (_name, usage) => {
    const r = run(LOW_USAGE, 120, () => ({ usage }));
    expect(r.actions).toEqual([]);
    expect(r.last.state.active).toBe(true);
  });
  it('a VM with a session is not idle however quiet', () => {
    expect(run(LOW_USAGE, 120, () => ({ sessions: someone() })).actions).toEqual([]);
  });
  it('a burst of work resets the idle time, and cancels a warning', () => {
    const r = run(LOW_USAGE, 60, (m) => ({ usage: m === 10 || m === 32 ? busy : quiet }));
    expect(r.actions).toEqual(['31:warn:AutoShutdown:Idle', '53:warn:AutoShutdown:Idle', '58:stop:AutoShutdown:Idle']);
  });
  it('user absence: no session for the delay, whatever the usage', () => {
    const r = run(USER_ABSENCE, 40, (m) => ({ sessions: m < 5 ? someone() : nobody, usage: busy }));
    expect(r.actions).toEqual(['24:warn:AutoShutdown:Idle', '29:stop:AutoShutdown:Idle']);
  });
  it('mode none never stops', () => {
    expect(run(profileOf({ shutdownOnIdle: { mode: 'none', delay: 'PT5M' } }), 120, () => ({})).actions).toEqual([]);
  });
});

describe('warnings and stops', () => {
  it('of settings due together, the earliest wins and not-connected goes first on a tie', () => {
    const both = { ...NOT_CONNECTED, shutdownOnIdle: { mode: 'userAbsence', delay: 'PT15M' } } as const;
    expect(run(both, 20, () => ({})).actions).toEqual(['15:warn:AutoShutdown:NotConnected', '20:stop:AutoShutdown:NotConnected']);
    const idleFirst = { ...NOT_CONNECTED, shutdownOnIdle: { mode: 'lowUsage', delay: 'PT5M' } } as const;
    expect(run(idleFirst, 10, () => ({})).actions).toEqual(['5:warn:AutoShutdown:Idle', '10:stop:AutoShutdown:Idle']);
  });
  it('honours the warning period', () => {
    expect(run(NOT_CONNECTED, 60, () => ({}), 'PT30M').actions).toEqual(['15:warn:AutoShutdown:NotConnected', '45:stop:AutoShutdown:NotConnected']);
  });
  it('with no warning period still warns first and stops on the next look', () => {
    expect(run(NOT_CONNECTED, 20, () => ({}), 'PT0S').actions).toEqual(['15:warn:AutoShutdown:NotConnected', '16:stop:AutoShutdown:NotConnected']);
  });
  it('asks for a stop once; one that did not take is forgotten and the VM warned again before another', () => {
    const retry = STOP_RETRY_MS / MIN;
    const running: VmPower = { state: 'running', startedAt: at(0) };
    const r = run(NOT_CONNECTED, 25 + retry, () => ({ power: running }));
    expect(r.actions).toEqual([
      '15:warn:AutoShutdown:NotConnected',
      '20:stop:AutoShutdown:NotConnected',
      `${20 + retry}:warn:AutoShutdown:NotConnected`,
      `${25 + retry}:stop:AutoShutdown:NotConnected`,
    ]);
    expect(r.decisions[21]?.state).toMatchObject({ stopRequestedAt: at(20), reason: 'AutoShutdown:NotConnected' });
  });
  it('a user back after a stop that did not take is not stopped', () => {
    const running: VmPower = { state: 'running', startedAt: at(0) };
    const r = run(NOT_CONNECTED, 60, (m) => ({ power: running, sessions: m > 20 ? someone() : nobody }));
    expect(r.actions).toEqual(['15:warn:AutoShutdown:NotConnected', '20:stop:AutoShutdown:NotConnected']);
    expect(r.last.state.stopRequestedAt).toBeUndefined();
  });
  it('an unreadable warning period is the default one, never none', () => {
    expect(run(NOT_CONNECTED, 30, () => ({}), 'whenever').actions).toEqual([
      '15:warn:AutoShutdown:NotConnected',
      '20:stop:AutoShutdown:NotConnected',
    ]);
  });
});

describe('exempt class hours', () => {
  it('nothing is due during class hours, and delays count from their end', () => {
    const r = run(NOT_CONNECTED, 80, (m) => ({ exempt: m < 50 }));
    expect(r.actions).toEqual(['65:warn:AutoShutdown:NotConnected', '70:stop:AutoShutdown:NotConnected']);
  });
  it('a session that ended during class hours counts from their end', () => {
    const r = run(DISCONNECT, 80, (m) => ({ exempt: m < 50, sessions: m < 30 ? someone() : nobody }));
    expect(r.actions).toEqual(['65:warn:AutoShutdown:Disconnect', '70:stop:AutoShutdown:Disconnect']);
  });
  it('class hours cancel a warning', () => {
    const r = run(NOT_CONNECTED, 30, (m) => ({ exempt: m >= 17 }));
    expect(r.actions).toEqual(['15:warn:AutoShutdown:NotConnected']);
    expect(r.last.state.warnedAt).toBeUndefined();
  });
});

describe('runs of the VM', () => {
  it('a stopped VM has no idle state and no action', () => {
    const r = run(NOT_CONNECTED, 30, () => ({ power: { state: 'stopped' } }));
    expect(r.actions).toEqual([]);
    expect(r.last.state.runStartedAt).toBeUndefined();
  });
  it('a running VM without a start time is left alone', () => {
    expect(run(NOT_CONNECTED, 30, () => ({ power: { state: 'running' } })).actions).toEqual([]);
  });
  it('a new run starts afresh (a connection in the last run does not count)', () => {
    const r = run({ ...NOT_CONNECTED, ...DISCONNECT, shutdownWhenNotConnected: NOT_CONNECTED.shutdownWhenNotConnected }, 30, (m) => ({
      sessions: m < 5 ? someone() : nobody,
      power: m < 10 ? { state: 'running', startedAt: at(0) } : { state: 'running', startedAt: at(10) },
    }));
    expect(r.actions).toEqual(['25:warn:AutoShutdown:NotConnected', '30:stop:AutoShutdown:NotConnected']);
  });
  it('the first look at a run late after its start counts from the start', () => {
    const d = detectIdle({
      previous: undefined,
      profile: NOT_CONNECTED,
      now: new Date(T0 + 40 * MIN),
      power: { state: 'running', startedAt: at(0) },
      sessions: nobody,
      usage: quiet,
      exempt: false,
      warningPeriod: 'PT5M',
    });
    expect(d).toMatchObject({ action: 'warn', reason: 'AutoShutdown:NotConnected', state: { watchedSince: at(0), warnedAt: at(40) } });
  });
  it('of several overdue shutdowns, the reason is the one due first', () => {
    const d = detectIdle({
      previous: undefined,
      profile: { ...NOT_CONNECTED, shutdownOnIdle: { mode: 'userAbsence', delay: 'PT5M' } },
      now: new Date(T0 + 40 * MIN),
      power: { state: 'running', startedAt: at(0) },
      sessions: nobody,
      usage: quiet,
      exempt: false,
      warningPeriod: 'PT5M',
    });
    expect(d).toMatchObject({ action: 'warn', reason: 'AutoShutdown:Idle' });
  });
  it('an unreadable profile setting stops nothing', () => {
    const bad = profileOf({ shutdownWhenNotConnected: { enabled: true, delay: 'soon' }, shutdownOnIdle: { mode: 'lowUsage', delay: 'PT1M' } });
    expect(run(bad, 60, () => ({})).actions).toEqual([]);
  });
});
