import { describe, expect, it } from 'vitest';
import { makePrincipal } from '../../src/domain/auth/principal.js';
import { DEFAULT_LAB_COST_CONTROLS } from '../../src/domain/usage/cost-controls.js';
import { createMemoryTenantRepository } from '../../src/adapters/memory/tenant-repository.js';
import type { Principal } from '../../src/domain/auth/principal.js';
import type { Operation } from '../../src/domain/operations/operation.js';
import { PROFILE_DEFAULTS } from '../../src/domain/tenants/tenant.js';
import { createQuotaGate } from '../../src/domain/usage/quota-gate.js';
import { createVmService } from '../../src/domain/vms/vm-service.js';
import { manualClock } from '../azure/support/manual-clock.js';
import { HOUR, member, rig, TENANT } from './metering-rig.js';

describe('the usage meter and the quota', () => {
  it('a student VM that ran 2 h outside class hours uses up a 1 h quota; the student’s start is refused with the figures, an owner’s is not', async () => {
    const r = await rig({ quotaHours: 1 });
    const meter = r.meter();
    await meter.tick();
    r.clock.advance(2 * HOUR);
    await meter.tick();
    expect(await r.used()).toMatchObject({ usedHours: 2, quotaHours: 1, addedHours: 0, leftHours: 0, exhausted: true });

    const gate = createQuotaGate(r.service);
    const vm = (await r.vms.get(TENANT, r.vmName))!;
    await expect(gate.refuseStart(member(r.student.id), vm)).rejects.toMatchObject({
      code: 'USAGE_QUOTA_EXHAUSTED',
      details: { usedHours: 2, quotaHours: 1, addedHours: 0, leftHours: 0 },
    });
    await expect(gate.refuseStart(makePrincipal({ id: 'olga', tenantRoles: [[TENANT, 'owner']] }), vm)).resolves.toBeUndefined();
    await expect(gate.refuseStart(makePrincipal({ id: 'root', platformAdmin: true }), vm)).resolves.toBeUndefined();
    await expect(
      gate.refuseStart(makePrincipal({ id: 'lms', kind: 'service', integrationRoles: ['labs.manage'], integrationTenants: [TENANT] }), vm),
    ).resolves.toBeUndefined();

    // An instructor adds 2 h: the student may start again, with 1 h left.
    await r.setLab({ costControls: { ...DEFAULT_LAB_COST_CONTROLS, usageQuotaHours: 1, addedHours: { [r.student.id]: 2 } } });
    await expect(gate.refuseStart(member(r.student.id), vm)).resolves.toBeUndefined();
    expect(await r.used()).toMatchObject({ usedHours: 2, leftHours: 1, exhausted: false });
  });

  it('class hours do not count, and a run the meter saw end stops counting then', async () => {
    const clock = manualClock(Date.parse('2026-03-02T08:00:00Z')); // a Monday, 09:00 in Berlin
    const r = await rig({
      quotaHours: 5,
      clock,
      schedules: [{ name: 'monday', days: ['mon'], startTime: '09:00', stopTime: '10:00', timeZone: 'Europe/Berlin' }],
    });
    const meter = r.meter();
    await meter.tick();
    clock.advance(3 * HOUR);
    await meter.tick();
    await r.vms.update(TENANT, r.vmName, { running: false });
    await meter.tick();
    clock.advance(5 * HOUR);
    await meter.tick();
    // 08:00–11:00 UTC run, 08:00–09:00 UTC is class: 2 h.
    expect(await r.used()).toMatchObject({ usedHours: 2, leftHours: 3, exhausted: false });
    expect((await r.service.labUsageOf((await r.labs.get(TENANT, r.spec.name))!)).students[0]).toMatchObject({ usedHours: 2, quotaHours: 5 });
  });

  it('a meter killed mid-way loses no usage and doubles none: another meter on the same ledger carries on; replays change nothing', async () => {
    const r = await rig({ quotaHours: 10 });
    const first = r.meter();
    await first.tick();
    r.clock.advance(HOUR);
    await first.tick();
    // The first meter dies; the VM keeps running; a second meter (a restarted worker) takes over an hour later.
    const second = r.meter();
    r.clock.advance(HOUR);
    await second.tick();
    expect((await r.used())?.usedHours).toBe(2);
    const transitions = await r.ledger.transitions({ tenant: TENANT, name: r.vmName });
    // Replaying the same transitions, and the dead meter's stale pass, count once.
    await r.ledger.record({ tenant: TENANT, name: r.vmName }, transitions);
    await r.ledger.record({ tenant: TENANT, name: r.vmName }, transitions);
    await first.tick();
    expect(await r.ledger.transitions({ tenant: TENANT, name: r.vmName })).toHaveLength(transitions.length);
    expect((await r.used())?.usedHours).toBe(2);

    // Stopped at 2 h 30 while no meter looks; the next meter closes the run at its last look (2 h): unseen time never counts.
    r.clock.advance(HOUR / 2);
    await r.vms.update(TENANT, r.vmName, { running: false });
    r.clock.advance(HOUR);
    await r.meter().tick();
    expect((await r.used())?.usedHours).toBe(2);
    expect((await r.used())?.runningSince).toBeUndefined();
  });

  it('a rebuilt student VM keeps its usage: the old run ends where the new one starts', async () => {
    const r = await rig({ quotaHours: 10 });
    const meter = r.meter();
    await meter.tick();
    r.clock.advance(HOUR);
    await meter.tick();
    await r.vms.act(TENANT, r.vmName, 'restart');
    r.clock.advance(HOUR);
    await meter.tick();
    const report = await r.used();
    expect(report?.usedHours).toBe(2);
    expect(report?.runningSince).toBeDefined();
  });

  it('forgets a deleted VM outside labs, keeps a lab VM’s usage until the lab is deleted', async () => {
    const r = await rig({ quotaHours: 10 });
    const meter = r.meter();
    meter.start();
    await meter.tick();
    r.clock.advance(HOUR);
    await meter.tick();
    await r.vms.delete(TENANT, r.vmName, { retainDisks: false });
    await meter.tick();
    expect(await r.ledger.transitions({ tenant: TENANT, name: r.vmName })).not.toHaveLength(0);
    await r.labs.delete(TENANT, r.spec.name);
    await expect.poll(() => r.ledger.transitions({ tenant: TENANT, name: r.vmName })).toHaveLength(0);
    await meter.stop();
  });

  it('the VM use cases ask the gate before a start: the student’s power start is refused, an owner’s starts, a stop is never asked', async () => {
    const r = await rig({ quotaHours: 1 });
    const meter = r.meter();
    await meter.tick();
    r.clock.advance(2 * HOUR);
    await meter.tick();
    await r.vms.update(TENANT, r.vmName, { running: false });
    await meter.tick();
    const { quota, vmCaps } = PROFILE_DEFAULTS.faculty;
    const tenants = createMemoryTenantRepository({ tenants: [{ id: TENANT, displayName: TENANT, profile: 'faculty', quota, vmCaps, members: [] }] });
    const started: string[] = [];
    const operations = {
      async start(p: Principal, req: { kind: string }): Promise<Operation> {
        started.push(`${req.kind} by ${p.id}`);
        return { id: `op-${started.length}` } as unknown as Operation;
      },
    };
    const images = { resolve: async (): Promise<never> => Promise.reject(new Error('no images here')) };
    const service = createVmService({ repo: r.vms, tenants, images, operations, startGate: createQuotaGate(r.service) });
    await expect(service.power(member(r.student.id), TENANT, r.vmName, 'start')).rejects.toMatchObject({
      code: 'USAGE_QUOTA_EXHAUSTED',
      details: { usedHours: 2, quotaHours: 1, addedHours: 0, leftHours: 0 },
    });
    expect(started).toEqual([]);
    await service.power(makePrincipal({ id: 'olga', tenantRoles: [[TENANT, 'owner']] }), TENANT, r.vmName, 'start');
    expect(started).toEqual(['vm.start by olga']);
  });

  it('PATCH running: true asks the gate only when it starts a stopped VM', async () => {
    const r = await rig({ quotaHours: 1 });
    const { quota, vmCaps } = PROFILE_DEFAULTS.faculty;
    const tenants = createMemoryTenantRepository({ tenants: [{ id: TENANT, displayName: TENANT, profile: 'faculty', quota, vmCaps, members: [] }] });
    const asked: string[] = [];
    const refuseAll = {
      async refuseStart(p: Principal): Promise<void> {
        asked.push(p.id);
        throw new Error('refused by the gate');
      },
    };
    const images = { resolve: async (): Promise<never> => Promise.reject(new Error('no images here')) };
    const operations = { start: async (): Promise<Operation> => ({ id: 'op' }) as unknown as Operation };
    const service = createVmService({ repo: r.vms, tenants, images, operations, startGate: refuseAll });
    const owner = makePrincipal({ id: 'olga', tenantRoles: [[TENANT, 'owner']] });
    // Running already: nothing to start.
    await service.update(owner, TENANT, r.vmName, { running: true });
    await service.update(owner, TENANT, r.vmName, { running: false });
    expect(asked).toEqual([]);
    await expect(service.update(owner, TENANT, r.vmName, { running: true })).rejects.toThrow('refused by the gate');
    expect(asked).toEqual(['olga']);
  });
});
