import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { studentVmName } from '../../src/domain/labs/lab-rules.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { emulatorOf, VM } from '../vms/support.js';
import { eventually, startReceiver, verified, type Receiver } from '../webhooks/support.js';
import { LAB_TEMPLATE, labClient, person, personId } from './support.js';

let t: TestApp;
let receiver: Receiver;
let admin: string;

beforeAll(async () => {
  receiver = await startReceiver(() => 204);
  t = await startTestApp({ RATE_LIMIT_PER_MINUTE: '1000000', LAB_TICK_MS: '200', SIM_WEBHOOK_ROUTES: `canvas.uni.example.edu=${receiver.origin}` });
  admin = await t.bearer({ sub: 'root', roles: ['platform-admin'] });
});
afterAll(async () => {
  await t?.close();
  await receiver?.close();
});

const runStrategies = (tenant: string, lab: string, students: number[]) =>
  students.map(
    (n) => (emulatorOf(t).store.get(VM, tenant, studentVmName(lab, personId(n)))?.spec as { runStrategy?: string } | undefined)?.runStrategy,
  );

/** `HH:MM` (UTC) of now minus `minutes`, and the weekday it falls on. */
function utcClock(minutes: number): string {
  const d = new Date(Date.now() - minutes * 60_000);
  return `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
}
const ALL_DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

describe('a course lab driven by an LMS integration on the embedded default', { timeout: 120_000 }, () => {
  it('30 students go from request to ready (Arc identity and access included); the LMS hears lab.ready and each roster sync, signed', async () => {
    const client = labClient(t);
    const tenant = await client.createTenant(admin);
    const lms = await t.bearer({ sub: 'lms-canvas', roles: ['labs.manage'], tenants: { [tenant]: 'owner' } });
    const hook = await request(t.app.server)
      .post(`/v1/tenants/${tenant}/webhooks`)
      .set('authorization', lms)
      .send({ url: 'https://canvas.uni.example.edu/labplane/events', events: ['lab.ready', 'lab.roster-synced'] });
    expect(hook.status, hook.text).toBe(201);
    const secret: string = hook.body.secret;

    const roster = Array.from({ length: 30 }, (_, i) => person(i + 1));
    const res = await client
      .api()
      .post(`/v1/tenants/${tenant}/labs`)
      .set('authorization', lms)
      .send({
        name: 'cs-201',
        displayName: 'Operating Systems',
        course: { lms: 'canvas', courseId: '4711' },
        template: { ...LAB_TEMPLATE, arc: true },
        instructors: [person(1000)],
        students: roster,
      });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const op = await client.settle(lms, res.body.id as string, 90_000);
    expect(op['status'], JSON.stringify(op)).toBe('succeeded');
    expect(op['result']).toMatchObject({ ready: true, summary: { total: 30, ready: 30 } });
    const readyEvent = await eventually(() => receiver.received.find((r) => verified(secret, r)['type'] === 'lab.ready'), 15_000, 'lab.ready');
    expect(verified(secret, readyEvent)).toMatchObject({
      type: 'lab.ready',
      tenant,
      data: { lab: 'cs-201', summary: { total: 30, ready: 30 }, operationId: op['id'] },
    });
    const ready = (await client.students(lms, tenant, 'cs-201', '?status=ready&limit=100')).body.items as { identityReady: boolean }[];
    expect(ready).toHaveLength(30);
    expect(ready.every((s) => s.identityReady)).toBe(true);

    const next = [...roster.slice(2), person(31)];
    const sync = await client.api().put(`/v1/tenants/${tenant}/labs/cs-201/roster`).set('authorization', lms).send({ students: next });
    expect(sync.status).toBe(202);
    expect(sync.body.diff).toEqual({ added: [personId(31)], removed: [personId(1), personId(2)], updated: [], unchanged: 28 });
    expect((await client.settle(lms, sync.body.operation.id as string, 60_000))['status']).toBe('succeeded');
    const synced = await eventually(
      () => receiver.received.map((r) => verified(secret, r)).find((b) => b['type'] === 'lab.roster-synced'),
      15_000,
      'lab.roster-synced',
    );
    expect(synced).toMatchObject({ tenant, data: { lab: 'cs-201', diff: sync.body.diff, summary: { total: 31, ready: 29, dropped: 2 } } });
  });

  it('schedules stop and start the VMs of a lab, once each', async () => {
    const client = labClient(t);
    const tenant = await client.createTenant(admin);
    await client.createLab(admin, tenant, { name: 'lab-hours', template: { ...LAB_TEMPLATE, arc: true }, students: [person(1), person(2)] });
    // The latest event due is the stop (a minute ago): the scheduler stops every VM.
    const stopNow = [{ name: 'evening', days: ALL_DAYS, startTime: utcClock(3), stopTime: utcClock(1), timeZone: 'UTC' }];
    expect((await client.api().patch(`/v1/tenants/${tenant}/labs/lab-hours`).set('authorization', admin).send({ schedules: stopNow })).status).toBe(
      200,
    );
    await expect.poll(() => runStrategies(tenant, 'lab-hours', [1, 2]), { timeout: 15_000, interval: 100 }).toEqual(['Halted', 'Halted']);
    // A start due now (after the applied stop): the scheduler starts them again.
    const startNow = [{ name: 'morning', days: ALL_DAYS, startTime: utcClock(0), timeZone: 'UTC' }];
    expect((await client.api().patch(`/v1/tenants/${tenant}/labs/lab-hours`).set('authorization', admin).send({ schedules: startNow })).status).toBe(
      200,
    );
    await expect.poll(() => runStrategies(tenant, 'lab-hours', [1, 2]), { timeout: 15_000, interval: 100 }).toEqual(['Always', 'Always']);
    const ops = (await client.api().get(`/v1/operations?tenant=${tenant}&kind=lab.power&limit=50`).set('authorization', admin)).body.items as {
      result?: { action: string };
    }[];
    expect(ops.map((o) => o.result?.action).sort()).toEqual(['start', 'stop']);
  });

  it('at the end of course with no grace period the VMs are removed, the lab stays Ended and provisions nobody', async () => {
    const client = labClient(t);
    const tenant = await client.createTenant(admin);
    await client.createLab(admin, tenant, { name: 'over', template: { ...LAB_TEMPLATE, arc: true }, students: [person(1), person(2)] });
    const endsAt = new Date(Date.now() - 2_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    expect(
      (await client.api().patch(`/v1/tenants/${tenant}/labs/over`).set('authorization', admin).send({ endsAt, endGracePeriodDays: 0 })).status,
    ).toBe(200);
    await expect.poll(() => emulatorOf(t).store.list(VM, { namespace: tenant }).length, { timeout: 20_000, interval: 100 }).toBe(0);
    expect((await client.lab(admin, tenant, 'over')).body.phase).toBe('Ended');
    const sync = await client
      .api()
      .put(`/v1/tenants/${tenant}/labs/over/roster`)
      .set('authorization', admin)
      .send({ students: [person(1), person(2), person(3)] });
    expect((await client.settle(admin, sync.body.operation.id as string, 30_000))['status']).toBe('succeeded');
    expect(emulatorOf(t).store.list(VM, { namespace: tenant })).toEqual([]);
  });

  it('a Lab written straight to the cluster (GitOps) is provisioned by the platform', async () => {
    const client = labClient(t);
    const tenant = await client.createTenant(admin);
    emulatorOf(t).store.create('labs.labplane.io', {
      apiVersion: 'labplane.io/v1alpha1',
      kind: 'Lab',
      metadata: { name: 'gitops', namespace: tenant },
      spec: {
        template: {
          image: { scope: 'platform', name: 'ubuntu-24-04' },
          cpu: 1,
          memoryGi: 2,
          diskGi: 10,
          storageClass: 'kv-standard',
          arc: false,
          sshPublicKeys: [(await import('../vms/support.js')).sshKey()],
        },
        students: [person(1), person(2)],
      },
    });
    await client.untilPhase(admin, tenant, 'gitops', 'Ready');
    expect(runStrategies(tenant, 'gitops', [1, 2])).toEqual(['Always', 'Always']);
  });

  it('a Lab in a namespace that is not a tenant is left alone', async () => {
    const store = emulatorOf(t).store;
    store.create('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'not-a-tenant' } });
    store.create('labs.labplane.io', {
      apiVersion: 'labplane.io/v1alpha1',
      kind: 'Lab',
      metadata: { name: 'stray', namespace: 'not-a-tenant' },
      spec: {
        template: { image: { scope: 'platform', name: 'ubuntu-24-04' }, cpu: 1, memoryGi: 2, diskGi: 10, storageClass: 'kv-standard', arc: true },
        students: [person(1)],
      },
    });
    // Real time: the lab loops of the embedded stack run on real time; 1.5 s is the window in which they would wrongly act on a Lab outside a tenant.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(store.list(VM, { namespace: 'not-a-tenant' })).toEqual([]);
    expect(
      (store.get('labs.labplane.io', 'not-a-tenant', 'stray')?.status as { observedGeneration?: number } | undefined)?.observedGeneration,
    ).toBeUndefined();
  });
});
