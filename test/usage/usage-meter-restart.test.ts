import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { studentVmName } from '../../src/domain/labs/lab-rules.js';
import { createUsageMeter } from '../../src/jobs/usage-meter.js';
import { manualClock, type ManualClock } from '../azure/support/manual-clock.js';
import { labClient, LAB_TEMPLATE, person, personId } from '../labs/support.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { emulatorOf } from '../vms/support.js';

const HOUR = 3_600_000;
let t: TestApp;
let clock: ManualClock;
let admin: string;
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

beforeAll(async () => {
  // The meter runs on the test's clock, from real now (the simulated cluster stamps a VM's start in
  // real time); its own interval is long, so the test's ticks are the passes.
  clock = manualClock(Date.now());
  // The idle detector (on the same clock) must not stop the VM for want of a user while hours pass.
  t = await startTestApp({ USAGE_METER_INTERVAL_MS: '3600000', IDLE_CHECK_INTERVAL_MS: '3600000' }, { usageClock: clock });
  admin = await t.bearer({ sub: 'root', roles: ['platform-admin'] });
});
afterAll(async () => {
  await t?.close();
});

/** A meter of its own on the stack's repositories (the real Kubernetes adapter) and ledger: a worker that comes up. */
const aWorkerMeter = () =>
  createUsageMeter({ vms: t.deps.vms.repo, labs: t.deps.labs.repo, ledger: t.deps.usage.ledger, clock, logger: silent, intervalMs: HOUR });

describe('usage metering when the worker running the meter dies (embedded default, fake time)', { timeout: 60_000 }, () => {
  it('loses no usage and doubles none: a successor carries on, a replay of the dead pass counts once, a stop nobody saw closes at the last look', async () => {
    const client = labClient(t);
    const tenant = await client.createTenant(admin);
    const owner = await t.bearer({ sub: 'olga', tenants: { [tenant]: 'owner' } });
    await client.createLab(admin, tenant, { name: 'restart', template: LAB_TEMPLATE, students: [person(3)], costControls: { usageQuotaHours: 10 } });
    const vmName = studentVmName('restart', personId(3));
    const ref = { tenant, name: vmName };
    const usage = async () =>
      (await request(t.app.server).get(`/v1/tenants/${tenant}/labs/restart/usage`).set('authorization', owner)).body.students?.[0] as
        | { usedHours: number; runningSince?: string }
        | undefined;
    await expect
      .poll(async () => (emulatorOf(t).store.get('virtualmachineinstances.kubevirt.io', tenant, vmName)?.status as { phase?: string })?.phase, {
        timeout: 15_000,
      })
      .toBe('Running');
    // The platform's meter stops reacting (the worker holding it is about to die); a first worker meters.
    await t.deps.usage.meter.stop();
    clock.advance(Date.now() - clock.ms);
    const first = aWorkerMeter();
    await expect
      .poll(async () => {
        await first.tick();
        return (await usage())?.runningSince;
      })
      .toBeDefined();
    clock.advance(HOUR);
    await first.tick();
    expect((await usage())?.usedHours).toBe(1);

    // The worker dies here. Its successor comes an hour later; the dead worker's last pass, still in
    // flight, races it (the same transitions written twice).
    clock.advance(HOUR);
    const second = aWorkerMeter();
    await Promise.all([second.tick(), first.tick()]);
    expect((await usage())?.usedHours).toBe(2);
    const recorded = await t.deps.usage.ledger.transitions(ref);
    expect(recorded.map((r) => r.state)).toEqual(['running']);
    await t.deps.usage.ledger.record(ref, recorded);
    await second.tick();
    expect(await t.deps.usage.ledger.transitions(ref)).toHaveLength(1);
    expect((await usage())?.usedHours).toBe(2);

    // A quarter of an hour on, the successor looks once more, then dies too; the VM stops while no
    // meter runs, and a third worker an hour later closes the run at the last look: 2.25 h, not 3.25.
    clock.advance(HOUR / 4);
    await second.tick();
    const stop = await client.act(owner, tenant, vmName, 'stop');
    expect(stop.status, stop.text).toBe(202);
    expect((await client.settle(owner, stop.body.id as string))['status']).toBe('succeeded');
    clock.advance(HOUR);
    await aWorkerMeter().tick();
    const transitions = await t.deps.usage.ledger.transitions(ref);
    expect(transitions.map((r) => r.state).sort()).toEqual(['running', 'stopped']);
    expect((await usage())?.usedHours).toBe(2.25);
    expect((await usage())?.runningSince).toBeUndefined();
  });
});
