import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { studentVmName } from '../../src/domain/labs/lab-rules.js';
import { manualClock, type ManualClock } from '../azure/support/manual-clock.js';
import { labClient, LAB_TEMPLATE, person, personId } from '../labs/support.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { emulatorOf, expectProblem, expectValid } from '../vms/support.js';

const HOUR = 3_600_000;
let t: TestApp;
let clock: ManualClock;
let admin: string;

beforeAll(async () => {
  // The meter runs on the test's clock; its own interval is long so the test's ticks are the passes.
  clock = manualClock(Date.now());
  // The idle detector runs on the same clock: it must not stop the VMs while the test moves hours on.
  t = await startTestApp({ USAGE_METER_INTERVAL_MS: '3600000', IDLE_CHECK_INTERVAL_MS: '3600000' }, { usageClock: clock });
  admin = await t.bearer({ sub: 'root', roles: ['platform-admin'] });
});
afterAll(async () => {
  await t?.close();
});

/** Runs meter passes (the clock standing still) until the lab's usage shows its first student's VM running. */
async function meteredRunning(usage: () => Promise<{ body: { students?: Array<{ runningSince?: string }> } }>): Promise<void> {
  await expect
    .poll(async () => {
      await t.deps.usage.meter.tick();
      return (await usage()).body.students?.[0]?.runningSince;
    })
    .toBeDefined();
}

const vmiOf = (tenant: string, name: string) => emulatorOf(t).store.get('virtualmachineinstances.kubevirt.io', tenant, name);

describe('usage reports on the embedded default (fake time)', { timeout: 60_000 }, () => {
  it('a student VM that ran 2 h shows 2 h used, in JSON, CSV (formula-safe) and GraphQL; the tenant summary sums it; members may not read them', async () => {
    const client = labClient(t);
    const tenant = await client.createTenant(admin);
    const student = person(1, { displayName: '=HYPERLINK("http://evil.example","click")' });
    await client.createLab(admin, tenant, { name: 'nets', template: LAB_TEMPLATE, students: [student], instructors: [person(1000)] });
    const vmName = studentVmName('nets', personId(1));
    await expect.poll(() => (vmiOf(tenant, vmName)?.status as { phase?: string } | undefined)?.phase, { timeout: 15_000 }).toBe('Running');
    // The emulator stamps phase transitions as virt-controller does, in KubeVirt's schema.
    expectValid(vmiOf(tenant, vmName), 'v1.VirtualMachineInstance');
    const stamps = (vmiOf(tenant, vmName)?.status as { phaseTransitionTimestamps?: { phase: string }[] }).phaseTransitionTimestamps ?? [];
    expect(stamps.map((s) => s.phase)).toContain('Running');
    // Once the VM's cache has the running instance, a pass records it (the clock stands still meanwhile).
    const usage = () => request(t.app.server).get(`/v1/tenants/${tenant}/labs/nets/usage`).set('authorization', admin);
    await meteredRunning(usage);
    clock.advance(2 * HOUR);
    await t.deps.usage.meter.tick();

    const json = await usage();
    expect(json.status, json.text).toBe(200);
    expect(json.body).toMatchObject({
      tenant,
      lab: 'nets',
      students: [{ student: { id: personId(1) }, vm: vmName, usedHours: 2, addedHours: 0, exhausted: false }],
    });
    expect(json.body.students[0].runningSince).toBeDefined();
    // No quota on this lab: no quota figures.
    expect(json.body.students[0].quotaHours).toBeUndefined();

    const csv = await request(t.app.server).get(`/v1/tenants/${tenant}/labs/nets/usage`).set('authorization', admin).set('accept', 'text/csv');
    expect(csv.status, csv.text).toBe(200);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    expect(csv.headers['content-disposition']).toMatch(new RegExp(`^attachment; filename="usage-${tenant}-nets-\\d{4}-\\d{2}-\\d{2}\\.csv"$`));
    const lines = csv.text.split('\r\n');
    expect(lines[0]).toBe('student_id,email,display_name,vm,used_hours,quota_hours,added_hours,left_hours,exhausted,running_since,exhausts_at');
    expect(lines[1]).toContain(`${personId(1)},student1@uni.example,"'=HYPERLINK(""http://evil.example"",""click"")",${vmName},2,,0,,false,`);

    const gql = await request(t.app.server)
      .post('/graphql')
      .set('authorization', admin)
      .send({
        query:
          'query($t: ID!) { labUsage(tenant: $t, lab: "nets") { students { usedHours vm } } tenantUsage(tenant: $t) { labs { lab usedHours students exhaustedStudents } otherVms { vms usedHours } } }',
        variables: { t: tenant },
      });
    expect(gql.body.errors).toBeUndefined();
    expect(gql.body.data.labUsage.students).toEqual([{ usedHours: 2, vm: vmName }]);
    expect(gql.body.data.tenantUsage).toEqual({
      labs: [{ lab: 'nets', usedHours: 2, students: 1, exhaustedStudents: 0 }],
      otherVms: { vms: 0, usedHours: 0 },
    });

    const summary = await request(t.app.server).get(`/v1/tenants/${tenant}/usage`).set('authorization', admin);
    expect(summary.status, summary.text).toBe(200);
    expect(summary.body).toMatchObject({
      tenant,
      labs: [{ lab: 'nets', students: 1, usedHours: 2, exhaustedStudents: 0 }],
      otherVms: { vms: 0, usedHours: 0 },
    });

    // The student (a member) reads neither: the figures of their classmates are not theirs.
    const studentToken = await t.bearer({ sub: personId(1), tenants: { [tenant]: 'member' } });
    expectProblem(await request(t.app.server).get(`/v1/tenants/${tenant}/usage`).set('authorization', studentToken), 403, 'FORBIDDEN');
    expectProblem(await request(t.app.server).get(`/v1/tenants/${tenant}/labs/nets/usage`).set('authorization', studentToken), 403, 'FORBIDDEN');
    expectProblem(await request(t.app.server).get(`/v1/tenants/${tenant}/labs/absent/usage`).set('authorization', admin), 404, 'LAB_NOT_FOUND');

    const metrics = await request(t.app.server).get('/metrics');
    expect(metrics.text).toMatch(new RegExp(`labplane_usage_metered_hours_total\\{tenant="${tenant}"\\} 2\\b`));
  });

  it('a 1 h quota used up outside class hours: the student’s start is refused with the figures (REST and GraphQL), the owner’s is not, added hours let the student start again', async () => {
    // The VM's start is stamped by the simulated cluster in real time: the usage clock starts from there again.
    clock.advance(Date.now() - clock.ms);
    const client = labClient(t);
    const tenant = await client.createTenant(admin);
    const owner = await t.bearer({ sub: 'olga', tenants: { [tenant]: 'owner' } });
    const studentToken = await t.bearer({ sub: personId(2), tenants: { [tenant]: 'member' } });
    await client.createLab(admin, tenant, { name: 'quota', template: LAB_TEMPLATE, students: [person(2)], costControls: { usageQuotaHours: 1 } });
    const vmName = studentVmName('quota', personId(2));
    const usage = () => request(t.app.server).get(`/v1/tenants/${tenant}/labs/quota/usage`).set('authorization', owner);
    await meteredRunning(usage);
    expect((await usage()).body.students[0]).toMatchObject({ usedHours: 0, quotaHours: 1, leftHours: 1, exhausted: false });
    expect((await usage()).body.students[0].exhaustsAt).toBe(new Date(clock.ms + 3_600_000).toISOString());
    clock.advance(2 * HOUR);
    await t.deps.usage.meter.tick();
    expect((await usage()).body.students[0]).toMatchObject({ usedHours: 2, quotaHours: 1, addedHours: 0, leftHours: 0, exhausted: true });
    const metrics = await request(t.app.server).get('/metrics');
    expect(metrics.text).toContain(`labplane_usage_students_exhausted{tenant="${tenant}"} 1`);

    const stop = await client.act(owner, tenant, vmName, 'stop');
    expect(stop.status, stop.text).toBe(202);
    expect((await client.settle(owner, stop.body.id as string))['status']).toBe('succeeded');
    const figures = { usedHours: 2, quotaHours: 1, addedHours: 0, leftHours: 0 };
    const refused = await client.act(studentToken, tenant, vmName, 'start');
    expectProblem(refused, 409, 'USAGE_QUOTA_EXHAUSTED');
    expect(refused.body.details).toEqual(figures);
    const gql = await request(t.app.server)
      .post('/graphql')
      .set('authorization', studentToken)
      .send({ query: 'mutation($t: ID!, $n: ID!) { startVm(tenant: $t, name: $n) { id } }', variables: { t: tenant, n: vmName } });
    expect(gql.body.errors?.[0]?.extensions).toMatchObject({ code: 'USAGE_QUOTA_EXHAUSTED', details: figures });

    // The owner (an instructor) still starts it, and stops it again.
    const ownerStart = await client.act(owner, tenant, vmName, 'start');
    expect(ownerStart.status, ownerStart.text).toBe(202);
    expect((await client.settle(owner, ownerStart.body.id as string))['status']).toBe('succeeded');
    const ownerStop = await client.act(owner, tenant, vmName, 'stop');
    expect((await client.settle(owner, ownerStop.body.id as string))['status']).toBe('succeeded');

    // Two more hours for the student: they start it themselves, with 1 h left.
    const added = await request(t.app.server)
      .post(`/v1/tenants/${tenant}/labs/quota/students/${personId(2)}/usage-hours`)
      .set('authorization', owner)
      .send({ hours: 2 });
    expect(added.status, added.text).toBe(200);
    await expect.poll(async () => (await usage()).body.students[0]).toMatchObject({ usedHours: 2, addedHours: 2, leftHours: 1, exhausted: false });
    const start = await client.act(studentToken, tenant, vmName, 'start');
    expect(start.status, start.text).toBe(202);
    expect((await client.settle(studentToken, start.body.id as string))['status']).toBe('succeeded');
  });
});
