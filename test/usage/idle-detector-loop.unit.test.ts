import { describe, expect, it } from 'vitest';
import { createMemoryIdleStateStore } from '../../src/adapters/memory/idle-state-store.js';
import type { NewAuditEvent } from '../../src/domain/audit/audit.js';
import { studentVmName } from '../../src/domain/labs/lab-rules.js';
import type { LabRecord, LabSchedule } from '../../src/domain/labs/lab.js';
import type { Operation } from '../../src/domain/operations/operation.js';
import { ConflictError, UpstreamUnavailableError } from '../../src/domain/shared/errors.js';
import type { AutoShutdownProfile } from '../../src/domain/usage/auto-shutdown.js';
import { DEFAULT_LAB_COST_CONTROLS, type CostControls, type LabCostControls } from '../../src/domain/usage/cost-controls.js';
import type { StudentUsage, VmUsage } from '../../src/domain/usage/ports.js';
import type { UsageReport } from '../../src/domain/usage/usage-meter.js';
import type { GuestSessions } from '../../src/domain/vms/guest-sessions.js';
import type { VmRecord } from '../../src/domain/vms/vm.js';
import type { WebhookEvent } from '../../src/domain/webhooks/events.js';
import { AUTO_SHUTDOWN_PRINCIPAL, createIdleDetector, type ShutdownReason } from '../../src/jobs/idle-detector-loop.js';

const T0 = Date.parse('2027-01-11T20:00:00Z'); // a Monday evening, outside the class hours below
const MIN = 60_000;
const STUDENT = 'stud-1';
const LAB_VM = studentVmName('os-101', STUDENT);

const off = { enabled: false, delay: 'PT15M' };
const profile = (p: Partial<AutoShutdownProfile>): AutoShutdownProfile => ({
  shutdownOnDisconnect: off,
  shutdownWhenNotConnected: off,
  shutdownOnIdle: { mode: 'none', delay: 'PT15M' },
  ...p,
});
const labControls = (over: Partial<LabCostControls> = {}): LabCostControls => ({ ...DEFAULT_LAB_COST_CONTROLS, ...over });

function vm(name: string, over: Partial<VmRecord> = {}): VmRecord {
  return {
    tenant: 'cs101',
    name,
    id: `id-${name}`,
    ownerId: STUDENT,
    image: { scope: 'platform', name: 'ubuntu-24-04' },
    cpu: 1,
    memoryGi: 2,
    diskGi: 10,
    storageClass: 'kv-standard',
    arc: false,
    labels: {},
    runStrategy: 'Always',
    createdAt: '2027-01-11T08:00:00Z',
    version: '1',
    deleting: false,
    observation: { printableStatus: 'Running', conditions: [], vmi: { phase: 'Running', conditions: [], migrating: false } },
    instance: { uid: `uid-${name}-1`, cpu: 1, memoryGi: 2, startedAt: new Date(T0).toISOString() },
    ...over,
  };
}

function lab(costControls: LabCostControls | undefined, schedules: readonly LabSchedule[] = []): LabRecord {
  return {
    tenant: 'cs101',
    name: 'os-101',
    template: {
      image: { scope: 'platform', name: 'ubuntu-24-04' },
      cpu: 1,
      memoryGi: 2,
      diskGi: 10,
      storageClass: 'kv-standard',
      arc: false,
      studentRole: 'user',
      sshPublicKeys: [],
    },
    instructors: [],
    students: [{ id: STUDENT }],
    schedules,
    dropGracePeriodHours: 72,
    endGracePeriodDays: 14,
    ...(costControls === undefined ? {} : { costControls }),
    uid: 'lab-uid',
    createdAt: '2027-01-01T00:00:00Z',
    version: '1',
    generation: 1,
    deleting: false,
    status: { failures: {} },
  };
}

interface RigOptions {
  vms: VmRecord[];
  labs?: LabRecord[];
  tenantControls?: Record<string, CostControls | undefined>;
  usage?: boolean;
  quota?: (vm: string) => UsageReport | undefined;
  lastStart?: (vm: string) => { createdBy: string; createdAt: string } | undefined;
}

function rig(o: RigOptions) {
  let now = T0;
  const clock = { now: () => new Date(now) };
  const sessions = new Map<string, GuestSessions | Error>();
  const usage = new Map<string, VmUsage>();
  const events: WebhookEvent[] = [];
  const stops: Array<{ principal: string; tenant: string; vm: string; reason: string | undefined }> = [];
  const audits: NewAuditEvent[] = [];
  const metrics = { shutdowns: [] as ShutdownReason[], warnings: [] as string[], unavailable: [] as number[] };
  const sessionReads: string[] = [];
  const stopFails = new Set<string>();
  let vms = o.vms;
  const store = createMemoryIdleStateStore({ clock });
  const detector = createIdleDetector({
    vmRepo: { list: async () => vms },
    labs: { list: async () => o.labs ?? [] },
    tenants: { get: async (id) => ({ ...(o.tenantControls?.[id] === undefined ? {} : { costControls: o.tenantControls[id] }) }) },
    sessions: {
      guestSessions: async (_tenant, name) => {
        sessionReads.push(name);
        const s = sessions.get(name) ?? { available: true, sessions: [] };
        if (s instanceof Error) throw s;
        return s;
      },
    },
    ...(o.usage === true
      ? {
          usage: {
            usage: async (refs) => refs.map((r) => ({ vm: r, usage: usage.get(r.name) ?? ('unavailable' as const) })),
          },
        }
      : {}),
    ...(o.quota === undefined
      ? {}
      : {
          quotas: {
            usageOfVm: async (tenant, name): Promise<StudentUsage | undefined> => {
              const report = o.quota?.(name);
              return report === undefined ? undefined : { tenant, lab: 'os-101', student: STUDENT, vm: name, report };
            },
          },
        }),
    ...(o.lastStart === undefined ? {} : { lastStart: async (v: VmRecord) => o.lastStart?.(v.name) }),
    store,
    vms: {
      power: async (p, tenant, name, action, options) => {
        if (stopFails.has(name)) throw new ConflictError('ACTION_NOT_ALLOWED', 'The VM is Stopping.');
        expect(action).toBe('stop');
        stops.push({ principal: p.id, tenant, vm: name, reason: options?.reason });
        return { id: `op-${stops.length}`, createdAt: new Date(now).toISOString() } as Operation;
      },
    },
    publish: async (e) => {
      events.push(e);
    },
    auditLog: { append: async (e) => void audits.push(e) },
    metrics: {
      autoShutdown: (r) => void metrics.shutdowns.push(r),
      warning: (k) => void metrics.warnings.push(k),
      signalsUnavailable: (n) => void metrics.unavailable.push(n),
    },
    clock,
    logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
  });
  return {
    detector,
    store,
    events,
    stops,
    audits,
    metrics,
    sessionReads,
    stopFails,
    sessions,
    usage,
    setVms: (next: VmRecord[]) => void (vms = next),
    login: (name: string, user = 'student') => sessions.set(name, { available: true, sessions: [{ user, loginAt: new Date(now).toISOString() }] }),
    logout: (name: string) => sessions.set(name, { available: true, sessions: [] }),
    /** Moves the clock `ms` on and runs one pass. */
    after: async (ms: number) => {
      now += ms;
      await detector.tick();
    },
    iso: (ms: number) => new Date(T0 + ms).toISOString(),
  };
}

describe('the idle detector loop (fakes, fake time)', () => {
  it('a disconnect: warned (vm.idle-warning) after the delay, stopped as system:auto-shutdown with the reason after the warning period', async () => {
    const r = rig({
      vms: [vm(LAB_VM, { lab: 'os-101' })],
      labs: [lab(labControls({ autoShutdown: profile({ shutdownOnDisconnect: { enabled: true, delay: 'PT15M' } }), warningPeriod: 'PT5M' }))],
    });
    r.login(LAB_VM);
    await r.after(0);
    await r.after(10 * MIN);
    r.logout(LAB_VM);
    await r.after(1 * MIN); // the last look that saw the user was at +10 min
    await r.after(13 * MIN); // +24: not yet (due at +25)
    expect(r.events).toEqual([]);
    await r.after(1 * MIN); // +25
    const uid = `uid-${LAB_VM}-1`;
    expect(r.events).toEqual([
      {
        id: `cs101.${LAB_VM}.${uid}.idle-warning.${r.iso(25 * MIN)}`,
        type: 'vm.idle-warning',
        tenant: 'cs101',
        occurredAt: r.iso(25 * MIN),
        data: {
          tenant: 'cs101',
          vm: LAB_VM,
          lab: 'os-101',
          ownerId: STUDENT,
          reason: 'AutoShutdown:Disconnect',
          warnedAt: r.iso(25 * MIN),
          stopAt: r.iso(30 * MIN),
        },
      },
    ]);
    // Passes run again (same time, or a re-run) send nothing new.
    await r.after(0);
    await r.after(4 * MIN);
    expect(r.events).toHaveLength(1);
    expect(r.stops).toEqual([]);
    await r.after(1 * MIN); // +30
    expect(r.stops).toEqual([{ principal: 'system:auto-shutdown', tenant: 'cs101', vm: LAB_VM, reason: 'AutoShutdown:Disconnect' }]);
    expect(r.events.map((e) => e.type)).toEqual(['vm.idle-warning', 'vm.auto-shutdown']);
    expect(r.events[1]).toMatchObject({
      id: 'op-1.vm.auto-shutdown',
      data: { reason: 'AutoShutdown:Disconnect', operationId: 'op-1', lab: 'os-101' },
    });
    expect(r.audits).toEqual([
      expect.objectContaining({
        actor: { id: AUTO_SHUTDOWN_PRINCIPAL.id, kind: 'service', name: 'auto-shutdown' },
        action: 'vm.auto-shutdown',
        tenant: 'cs101',
        target: { type: 'vm', id: LAB_VM },
        requestId: 'op-1',
        reason: 'AutoShutdown:Disconnect',
      }),
    ]);
    expect(r.metrics).toMatchObject({ shutdowns: ['AutoShutdown:Disconnect'], warnings: ['idle'] });
    const stored = await r.store.get({ tenant: 'cs101', name: LAB_VM });
    expect(stored).toMatchObject({
      runId: uid,
      runStartedAt: r.iso(0),
      idle: { warnedAt: r.iso(25 * MIN), stopRequestedAt: r.iso(30 * MIN), reason: 'AutoShutdown:Disconnect' },
    });
    // The stop asked is not asked again while it takes.
    await r.after(1 * MIN);
    expect(r.stops).toHaveLength(1);
  });

  it('a user back between the warning and the stop cancels it', async () => {
    const r = rig({
      vms: [vm('web-1')],
      tenantControls: { cs101: { autoShutdown: profile({ shutdownWhenNotConnected: { enabled: true, delay: 'PT15M' } }), warningPeriod: 'PT5M' } },
    });
    await r.after(0);
    await r.after(15 * MIN);
    expect(r.events.map((e) => e.data['reason'])).toEqual(['AutoShutdown:NotConnected']);
    r.login('web-1');
    await r.after(6 * MIN);
    expect(r.stops).toEqual([]);
    expect((await r.store.get({ tenant: 'cs101', name: 'web-1' }))?.idle).toMatchObject({ active: true });
  });

  it('a started VM nobody connects to is stopped NotConnected; a tenant VM follows its tenant controls', async () => {
    const r = rig({
      vms: [vm('web-1'), vm('other', { tenant: 'bio200' })],
      tenantControls: { cs101: { autoShutdown: profile({ shutdownWhenNotConnected: { enabled: true, delay: 'PT15M' } }), warningPeriod: 'PT0S' } },
    });
    await r.after(0);
    await r.after(15 * MIN);
    expect(r.events.map((e) => [e.type, e.data['vm'], e.data['reason']])).toEqual([['vm.idle-warning', 'web-1', 'AutoShutdown:NotConnected']]);
    expect(r.events[0]?.data).not.toHaveProperty('lab');
    await r.after(1 * MIN);
    expect(r.stops).toEqual([{ principal: 'system:auto-shutdown', tenant: 'cs101', vm: 'web-1', reason: 'AutoShutdown:NotConnected' }]);
    // bio200 has no cost controls: its VM is never looked at.
    expect(r.sessionReads).not.toContain('other');
  });

  it('a VM whose guest agent does not answer shows signals unavailable and is never stopped for it', async () => {
    const r = rig({ vms: [vm(LAB_VM, { lab: 'os-101' })], labs: [lab(labControls())] });
    r.sessions.set(LAB_VM, { available: false, reason: 'guest-agent-not-connected' });
    for (let i = 0; i < 30; i++) await r.after(5 * MIN);
    expect(r.events).toEqual([]);
    expect(r.stops).toEqual([]);
    expect((await r.store.get({ tenant: 'cs101', name: LAB_VM }))?.idle).toMatchObject({ signals: 'unavailable' });
    expect(r.metrics.unavailable.at(-1)).toBe(1);
    // The agent answers again: the delays count from then, with a warning first.
    r.sessions.delete(LAB_VM);
    await r.after(1 * MIN);
    expect(r.metrics.unavailable.at(-1)).toBe(0);
    await r.after(14 * MIN);
    expect(r.events).toEqual([]);
    await r.after(1 * MIN);
    expect(r.events.map((e) => e.type)).toEqual(['vm.idle-warning']);
  });

  it('lowUsage: a busy VM is left alone, an idle one is stopped Idle; without usage figures nothing is due', async () => {
    const controls = labControls({ autoShutdown: profile({ shutdownOnIdle: { mode: 'lowUsage', delay: 'PT15M' } }), warningPeriod: 'PT5M' });
    const busy = vm('busy-1', { labels: {} });
    const idle = vm('idle-1');
    const blind = vm('blind-1');
    const r = rig({ vms: [busy, idle, blind], tenantControls: { cs101: controls }, usage: true });
    r.usage.set('busy-1', { cpuCores: 0.9, networkBytesPerSecond: 50_000, diskBytesPerSecond: 0 });
    r.usage.set('idle-1', { cpuCores: 0.01, networkBytesPerSecond: 100, diskBytesPerSecond: 1_000 });
    // Idle from the first look: warned at +15 min, stopped at +20 (the fake VM keeps running after).
    for (let i = 0; i < 5; i++) await r.after(5 * MIN);
    expect(r.stops.map((s) => [s.vm, s.reason])).toEqual([['idle-1', 'AutoShutdown:Idle']]);
    expect(r.events.filter((e) => e.type === 'vm.idle-warning').map((e) => e.data['vm'])).toEqual(['idle-1']);
    expect((await r.store.get({ tenant: 'cs101', name: 'busy-1' }))?.idle).toMatchObject({ active: true, signals: 'available' });
    expect((await r.store.get({ tenant: 'cs101', name: 'blind-1' }))?.idle).toMatchObject({ signals: 'unavailable' });
  });

  it('a lab without cost controls is not watched; a VM labelled into a lab by hand follows its tenant', async () => {
    const byHand = vm('mine', { lab: 'os-101' });
    const r = rig({
      vms: [vm(LAB_VM, { lab: 'os-101' }), byHand],
      labs: [lab(undefined)],
      tenantControls: { cs101: { autoShutdown: profile({ shutdownWhenNotConnected: { enabled: true, delay: 'PT15M' } }), warningPeriod: 'PT5M' } },
    });
    await r.after(0);
    await r.after(15 * MIN);
    expect(r.sessionReads.every((n) => n === 'mine')).toBe(true);
    expect(r.events.map((e) => e.data['vm'])).toEqual(['mine']);
    expect(await r.store.get({ tenant: 'cs101', name: LAB_VM })).toBeUndefined();
  });

  it('during the class hours of a lab that exempts them nothing is due; the delays count from their end', async () => {
    // Monday 19:00-21:00 UTC: T0 (20:00) is inside.
    const schedule: LabSchedule = { name: 'evening', days: ['mon'], startTime: '19:00', stopTime: '21:00', timeZone: 'UTC' };
    const r = rig({ vms: [vm(LAB_VM, { lab: 'os-101' })], labs: [lab(labControls({ warningPeriod: 'PT5M' }), [schedule])] });
    for (let i = 0; i < 12; i++) await r.after(5 * MIN); // to 21:00
    expect(r.events).toEqual([]);
    await r.after(14 * MIN); // 21:14
    expect(r.events).toEqual([]);
    await r.after(1 * MIN); // 21:15
    expect(r.events.map((e) => e.data['reason'])).toEqual(['AutoShutdown:NotConnected']);
  });

  it('a lab that does not exempt its class hours is watched through them', async () => {
    const schedule: LabSchedule = { name: 'evening', days: ['mon'], startTime: '19:00', stopTime: '21:00', timeZone: 'UTC' };
    const r = rig({ vms: [vm(LAB_VM, { lab: 'os-101' })], labs: [lab(labControls({ exemptClassHours: false }), [schedule])] });
    await r.after(0);
    await r.after(15 * MIN);
    expect(r.events.map((e) => e.type)).toEqual(['vm.idle-warning']);
  });

  it('one VM failing (sessions unreadable, a stop refused) does not stop the pass for the others', async () => {
    const controls = { autoShutdown: profile({ shutdownWhenNotConnected: { enabled: true, delay: 'PT15M' } }), warningPeriod: 'PT0S' };
    const r = rig({ vms: [vm('a'), vm('b'), vm('c')], tenantControls: { cs101: controls } });
    r.sessions.set('a', new UpstreamUnavailableError('KUBERNETES_UNAVAILABLE', 'down'));
    r.stopFails.add('b');
    await r.after(0);
    await r.after(15 * MIN);
    await r.after(1 * MIN);
    expect(r.stops.map((s) => s.vm)).toEqual(['c']);
    expect((await r.store.get({ tenant: 'cs101', name: 'a' }))?.idle).toMatchObject({ signals: 'unavailable' });
    // b's stop was refused: it is tried again on the next pass, not forgotten.
    r.stopFails.delete('b');
    await r.after(1 * MIN);
    expect(r.stops.map((s) => s.vm)).toEqual(['c', 'b']);
  });

  it('a new run of the VM (another instance) is watched afresh, a stopped VM not at all', async () => {
    const controls = { autoShutdown: profile({ shutdownWhenNotConnected: { enabled: true, delay: 'PT15M' } }), warningPeriod: 'PT5M' };
    const first = vm('web-1');
    const r = rig({ vms: [first], tenantControls: { cs101: controls } });
    await r.after(0);
    await r.after(15 * MIN);
    expect(r.events).toHaveLength(1);
    const { instance: _none, ...stoppedVm } = vm('web-1', { observation: { printableStatus: 'Stopped', conditions: [] } });
    r.setVms([stoppedVm]);
    await r.after(30 * MIN);
    expect(r.stops).toEqual([]);
    // Started 2 min before the detector's next look: its delays count from its start.
    r.setVms([vm('web-1', { instance: { uid: 'uid-web-1-2', cpu: 1, memoryGi: 2, startedAt: r.iso(44 * MIN) } })]);
    await r.after(1 * MIN);
    expect(await r.store.get({ tenant: 'cs101', name: 'web-1' })).toMatchObject({ runId: 'uid-web-1-2', runStartedAt: r.iso(44 * MIN) });
    await r.after(12 * MIN); // +58: due at +59
    expect(r.events).toHaveLength(1);
    await r.after(1 * MIN);
    expect(r.events.map((e) => e.id)).toEqual([
      `cs101.web-1.uid-web-1-1.idle-warning.${r.iso(15 * MIN)}`,
      `cs101.web-1.uid-web-1-2.idle-warning.${r.iso(59 * MIN)}`,
    ]);
  });
});

describe('quota enforcement of running lab VMs', () => {
  const noIdle = labControls({ autoShutdown: profile({}), usageQuotaHours: 10, warningPeriod: 'PT5M' });
  const report = (over: Partial<UsageReport>): UsageReport => ({
    usedMs: 0,
    usedHours: 9.9,
    quotaHours: 10,
    addedHours: 0,
    leftHours: 0.1,
    exhausted: false,
    ...over,
  });

  it('warns once when the quota runs out within the warning period, stops once it has run out and the period has passed', async () => {
    let current = report({ exhaustsAt: new Date(T0 + 20 * MIN).toISOString() });
    const r = rig({ vms: [vm(LAB_VM, { lab: 'os-101' })], labs: [lab(noIdle)], quota: () => current });
    await r.after(0);
    expect(r.events).toEqual([]);
    // Sessions are not read for a VM without auto-shutdown settings on.
    expect(r.sessionReads).toEqual([]);
    await r.after(15 * MIN); // runs out in 5 min
    expect(r.events).toEqual([
      expect.objectContaining({
        id: `cs101.${LAB_VM}.uid-${LAB_VM}-1.quota-warning.${r.iso(15 * MIN)}`,
        type: 'vm.quota-warning',
        data: expect.objectContaining({
          reason: 'UsageQuota:Exhausted',
          lab: 'os-101',
          ownerId: STUDENT,
          warnedAt: r.iso(15 * MIN),
          stopAt: r.iso(20 * MIN),
        }),
      }),
    ]);
    await r.after(4 * MIN);
    expect(r.events).toHaveLength(1);
    current = report({ exhausted: true, leftHours: 0, usedHours: 10 });
    await r.after(1 * MIN); // +20: exhausted, the period since the warning has passed
    expect(r.stops).toEqual([{ principal: 'system:auto-shutdown', tenant: 'cs101', vm: LAB_VM, reason: 'UsageQuota:Exhausted' }]);
    expect(r.metrics).toMatchObject({ shutdowns: ['UsageQuota:Exhausted'], warnings: ['quota'] });
    expect(r.audits[0]).toMatchObject({ reason: 'UsageQuota:Exhausted' });
    await r.after(1 * MIN);
    expect(r.stops).toHaveLength(1);
  });

  it("a run someone else started is not the student's to lose: no warning, no stop; who started it is asked only once the quota is near", async () => {
    let current = report({ leftHours: 2, exhaustsAt: new Date(T0 + 120 * MIN).toISOString() });
    const asked: string[] = [];
    const r = rig({
      vms: [vm(LAB_VM, { lab: 'os-101' })],
      labs: [lab(noIdle)],
      quota: () => current,
      lastStart: (name) => {
        asked.push(name);
        return { createdBy: 'olga', createdAt: new Date(T0 - MIN).toISOString() };
      },
    });
    await r.after(0);
    await r.after(MIN);
    expect(asked).toEqual([]);
    current = report({ exhausted: true, leftHours: 0 });
    await r.after(MIN);
    await r.after(10 * MIN);
    expect(asked.length).toBeGreaterThan(0);
    expect(r.events).toEqual([]);
    expect(r.stops).toEqual([]);
  });

  it('an exhausted quota is warned at once and stopped only after the warning period; added hours lift the warning', async () => {
    let current = report({ exhausted: true, leftHours: 0 });
    const r = rig({ vms: [vm(LAB_VM, { lab: 'os-101' })], labs: [lab(noIdle)], quota: () => current });
    await r.after(0);
    expect(r.events.map((e) => e.data['stopAt'])).toEqual([r.iso(5 * MIN)]);
    current = report({ leftHours: 2, exhaustsAt: new Date(T0 + 122 * MIN).toISOString() });
    await r.after(5 * MIN);
    expect(r.stops).toEqual([]);
    expect((await r.store.get({ tenant: 'cs101', name: LAB_VM }))?.quota).toEqual({});
    current = report({ exhausted: true, leftHours: 0 });
    await r.after(1 * MIN);
    expect(r.events.map((e) => e.type)).toEqual(['vm.quota-warning', 'vm.quota-warning']);
    expect(r.stops).toEqual([]);
    await r.after(5 * MIN);
    expect(r.stops).toHaveLength(1);
  });
});
