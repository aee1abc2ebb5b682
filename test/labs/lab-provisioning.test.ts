import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { arcMachineName } from '../../src/domain/identity/arc-machine.js';
import { studentVmName } from '../../src/domain/labs/lab-rules.js';
import { studentMachineScope } from '../../src/jobs/kinds/lab-student.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { emulatorOf, VM } from '../vms/support.js';
import { LAB_TEMPLATE, labBody, labClient, person, personId } from './support.js';

const ARC_TEMPLATE = { ...LAB_TEMPLATE, arc: true };

describe('lab provisioning on the embedded stack', { timeout: 60_000 }, () => {
  let t: TestApp;
  let admin: string;
  let client: ReturnType<typeof labClient>;

  beforeAll(async () => {
    t = await startTestApp({ LAB_TICK_MS: '200', RATE_LIMIT_PER_MINUTE: '100000' });
    admin = await t.bearer({ sub: 'root', roles: ['platform-admin'] });
    client = labClient(t);
  });
  afterAll(async () => t.close());

  const sim = () => {
    const s = t.deps.identity.sim;
    if (s === undefined) throw new Error('expected the simulated Azure');
    return s;
  };
  const grantsOn = async (tenant: string, lab: string, student: string) =>
    (await t.deps.identity.access.list(studentMachineScope(t.deps.identity.settings, tenant, studentVmName(lab, student))))
      .map((a) => `${a.principalId}:${a.role}`)
      .sort();
  const vmObject = (tenant: string, lab: string, student: string) => emulatorOf(t).store.get(VM, tenant, studentVmName(lab, student));
  const statuses = async (tenant: string, lab: string) =>
    Object.fromEntries(((await client.students(admin, tenant, lab)).body.items as { id: string; status: string }[]).map((s) => [s.id, s.status]));

  it('a lab with Arc on gives every student a VM, the student role to the student and administrator to instructors', async () => {
    const tenant = await client.createTenant(admin);
    const instructor = person(900);
    await client.createLab(
      admin,
      tenant,
      labBody('cs101', { template: ARC_TEMPLATE, instructors: [instructor], students: [person(1), person(2), person(3)] }),
    );
    expect(Object.values(await statuses(tenant, 'cs101'))).toEqual(['ready', 'ready', 'ready']);
    expect(await grantsOn(tenant, 'cs101', personId(2))).toEqual([`${personId(2)}:user`, `${instructor.id}:administrator`].sort());
    const lab = (await client.lab(admin, tenant, 'cs101')).body;
    expect(lab).toMatchObject({ phase: 'Ready', summary: { total: 3, ready: 3, failed: 0 } });
    const vm = vmObject(tenant, 'cs101', personId(1));
    expect(vm?.metadata.labels?.['labplane.io/lab']).toBe('cs101');
    const ops = async (query: string) =>
      (await client.api().get(`/v1/operations?tenant=${tenant}&limit=100&${query}`).set('authorization', admin)).body.items as {
        id: string;
        kind: string;
      }[];
    const top = await ops('topLevel=true');
    expect(top.map((o) => o.kind)).toEqual(['lab.sync']);
    expect((await ops(`parentId=${top[0]?.id ?? ''}`)).map((o) => o.kind)).toEqual(['lab.student', 'lab.student', 'lab.student']);
    expect((await ops('')).length).toBe(1 + 3 * 3);
    const gql = await client
      .api()
      .post('/graphql')
      .set('authorization', admin)
      .send({ query: 'query($t: ID) { operations(tenant: $t, topLevel: true) { items { kind } } }', variables: { t: tenant } });
    expect(gql.body.data.operations.items).toEqual([{ kind: 'lab.sync' }]);
    const direct = await client
      .api()
      .post(`/v1/tenants/${tenant}/vms/${studentVmName('cs101', personId(1))}/identity/retry`)
      .set('authorization', admin)
      .send();
    expect(direct.status).toBe(409);
    expect(direct.body).toMatchObject({ code: 'LAB_VM', details: { lab: 'cs101', student: personId(1) } });
  });

  it('a roster sync answers the exact diff, provisions the added, drops the removed (stopped, access revoked) and leaves the rest alone; a repeat changes nothing', async () => {
    const tenant = await client.createTenant(admin);
    await client.createLab(admin, tenant, labBody('net', { template: ARC_TEMPLATE, students: [person(1), person(2), person(3)] }));
    const before = vmObject(tenant, 'net', personId(2));
    const res = await client
      .api()
      .put(`/v1/tenants/${tenant}/labs/net/roster`)
      .set('authorization', admin)
      .send({ students: [person(2), person(3, { displayName: 'Renamed' }), person(4), person(5)] });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.body.diff).toEqual({ added: [personId(4), personId(5)], removed: [personId(1)], updated: [personId(3)], unchanged: 1 });
    const op = await client.settle(admin, res.body.operation.id as string, 30_000);
    expect(op['status'], JSON.stringify(op)).toBe('succeeded');
    expect(op['result']).toMatchObject({ reason: 'roster', ready: true, diff: res.body.diff, summary: { total: 5, ready: 4, dropped: 1 } });
    expect(await statuses(tenant, 'net')).toEqual({
      [personId(1)]: 'dropped',
      [personId(2)]: 'ready',
      [personId(3)]: 'ready',
      [personId(4)]: 'ready',
      [personId(5)]: 'ready',
    });
    const dropped = vmObject(tenant, 'net', personId(1));
    expect((dropped?.spec as { runStrategy?: string }).runStrategy).toBe('Halted');
    expect(dropped?.metadata.annotations?.['labplane.io/dropped-at']).toMatch(/^\d{4}-/);
    expect(await grantsOn(tenant, 'net', personId(1))).toEqual([]);
    expect(vmObject(tenant, 'net', personId(2))?.metadata.resourceVersion).toBe(before?.metadata.resourceVersion);

    const again = await client
      .api()
      .put(`/v1/tenants/${tenant}/labs/net/roster`)
      .set('authorization', admin)
      .send({ students: [person(2), person(3, { displayName: 'Renamed' }), person(4), person(5)] });
    expect(again.status).toBe(202);
    expect(again.body.diff).toEqual({ added: [], removed: [], updated: [], unchanged: 4 });
    expect((await client.settle(admin, again.body.operation.id as string, 30_000))['status']).toBe('succeeded');
    expect(emulatorOf(t).store.list(VM, { namespace: tenant }).length).toBe(5);
  });

  it('a roster sync asked while the lab is still provisioning waits for it, and no student is provisioned twice', async () => {
    const tenant = await client.createTenant(admin);
    const created = await client
      .api()
      .post(`/v1/tenants/${tenant}/labs`)
      .set('authorization', admin)
      .send(labBody('busy', { template: ARC_TEMPLATE, students: [person(1), person(2), person(3)] }));
    expect(created.status).toBe(202);
    const sync = await client
      .api()
      .put(`/v1/tenants/${tenant}/labs/busy/roster`)
      .set('authorization', admin)
      .send({ students: [person(1), person(2), person(3), person(4)] });
    expect(sync.status).toBe(202);
    const [first, second] = await Promise.all([
      client.settle(admin, created.body.id as string, 45_000),
      client.settle(admin, sync.body.operation.id as string, 45_000),
    ]);
    expect([first['status'], second['status']]).toEqual(['succeeded', 'succeeded']);
    expect(Date.parse(String(second['finishedAt']))).toBeGreaterThanOrEqual(Date.parse(String(first['finishedAt'])));
    const creates = (await client.api().get(`/v1/operations?tenant=${tenant}&kind=vm.create&limit=100`).set('authorization', admin)).body.items as {
      target: { name: string };
    }[];
    expect(creates.map((o) => o.target.name).sort()).toEqual([1, 2, 3, 4].map((n) => studentVmName('busy', personId(n))).sort());
    expect(await statuses(tenant, 'busy')).toEqual(Object.fromEntries([1, 2, 3, 4].map((n) => [personId(n), 'ready'])));
  });

  it("a dropped student's VM is deleted once the grace period is over, and its Arc machine with it", async () => {
    const tenant = await client.createTenant(admin);
    await client.createLab(admin, tenant, labBody('short', { template: ARC_TEMPLATE, dropGracePeriodHours: 0, students: [person(1), person(2)] }));
    const res = await client
      .api()
      .put(`/v1/tenants/${tenant}/labs/short/roster`)
      .set('authorization', admin)
      .send({ students: [person(2)] });
    expect((await client.settle(admin, res.body.operation.id as string, 30_000))['status']).toBe('succeeded');
    await expect.poll(() => vmObject(tenant, 'short', personId(1)), { timeout: 15_000, interval: 100 }).toBeUndefined();
    await expect
      .poll(async () => t.deps.identity.arcMachines.getMachine(arcMachineName(tenant, studentVmName('short', personId(1)))), {
        timeout: 15_000,
        interval: 200,
      })
      .toBeUndefined();
    expect(await statuses(tenant, 'short')).toEqual({ [personId(2)]: 'ready' });
  });

  it('the VMs of a lab deleted outside the API (kubectl, a GitOps prune) are deleted by housekeeping, Arc machines and access with them', async () => {
    const tenant = await client.createTenant(admin);
    await client.createLab(admin, tenant, labBody('pruned', { template: ARC_TEMPLATE, students: [person(1), person(2)] }));
    await client.createLab(admin, tenant, labBody('kept', { template: ARC_TEMPLATE, students: [person(3)] }));
    expect(vmObject(tenant, 'pruned', personId(1))).toBeDefined();
    // As `kubectl delete lab pruned` would: the Lab object goes, nothing else is told.
    emulatorOf(t).store.delete('labs.labplane.io', tenant, 'pruned');
    for (const n of [1, 2]) {
      await expect.poll(() => vmObject(tenant, 'pruned', personId(n)), { timeout: 15_000, interval: 100 }).toBeUndefined();
      await expect
        .poll(async () => t.deps.identity.arcMachines.getMachine(arcMachineName(tenant, studentVmName('pruned', personId(n)))), {
          timeout: 15_000,
          interval: 200,
        })
        .toBeUndefined();
      expect(await grantsOn(tenant, 'pruned', personId(n))).toEqual([]);
    }
    // Another lab's VM, and a VM that is not a lab's, are left alone.
    expect(vmObject(tenant, 'kept', personId(3))).toBeDefined();
    expect(await statuses(tenant, 'kept')).toEqual({ [personId(3)]: 'ready' });
  });

  it('a student whose provisioning failed is shown failed with the reason, and a retry provisions them alone', async () => {
    const tenant = await client.createTenant(admin);
    sim().failNextExtension(arcMachineName(tenant, studentVmName('flaky', personId(2))), 'ExtensionOperationFailed: disk full (simulated)');
    const res = await client
      .api()
      .post(`/v1/tenants/${tenant}/labs`)
      .set('authorization', admin)
      .send(labBody('flaky', { template: ARC_TEMPLATE, students: [person(1), person(2)] }));
    expect(res.status).toBe(202);
    const op = await client.settle(admin, res.body.id as string, 30_000);
    expect(op['status']).toBe('succeeded');
    expect(op['result']).toMatchObject({ ready: false, failed: [{ student: personId(2), code: 'ARC_EXTENSION_FAILED' }] });
    const failed = ((await client.students(admin, tenant, 'flaky', '?status=failed')).body.items as Record<string, string>[])[0];
    expect(failed).toMatchObject({ id: personId(2), status: 'failed', code: 'ARC_EXTENSION_FAILED' });
    expect(failed?.['reason']).toContain('disk full');
    expect((await client.lab(admin, tenant, 'flaky')).body.phase).toBe('Degraded');
    const firstVm = vmObject(tenant, 'flaky', personId(1))?.metadata.resourceVersion;

    const retry = await client
      .api()
      .post(`/v1/tenants/${tenant}/labs/flaky/students/${personId(2)}/retry`)
      .set('authorization', admin)
      .send();
    expect(retry.status, JSON.stringify(retry.body)).toBe(202);
    expect((await client.settle(admin, retry.body.id as string, 30_000))['status']).toBe('succeeded');
    expect(await statuses(tenant, 'flaky')).toEqual({ [personId(1)]: 'ready', [personId(2)]: 'ready' });
    expect(vmObject(tenant, 'flaky', personId(1))?.metadata.resourceVersion).toBe(firstVm);
    const again = await client
      .api()
      .post(`/v1/tenants/${tenant}/labs/flaky/students/${personId(2)}/retry`)
      .set('authorization', admin)
      .send();
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('STUDENT_NOT_FAILED');
  });

  it('a lab that does not fit in the quota is refused with what is missing, and nothing is written', async () => {
    const tenant = await client.createTenant(admin, {
      quota: {
        requestsCpu: 4,
        limitsCpu: 8,
        requestsMemoryGi: 64,
        limitsMemoryGi: 64,
        storageGi: 1000,
        persistentVolumeClaims: 50,
        virtualMachines: 50,
      },
    });
    const res = await client
      .api()
      .post(`/v1/tenants/${tenant}/labs`)
      .set('authorization', admin)
      .send(
        labBody('big', { students: [1, 2, 3, 4, 5, 6].map((n) => person(n)), template: { ...LAB_TEMPLATE, sshPublicKeys: undefined, arc: true } }),
      );
    expect(res.status, JSON.stringify(res.body)).toBe(409);
    expect(res.body.code).toBe('QUOTA_EXCEEDED');
    expect(res.body.details).toMatchObject({ needed: { requestsCpu: 6 }, left: { requestsCpu: 4 } });
    expect((await client.lab(admin, tenant, 'big')).status).toBe(404);
    expect(emulatorOf(t).store.list(VM, { namespace: tenant })).toEqual([]);
  });

  it('changing the instructors grants the new ones administrator on every VM and revokes the removed ones', async () => {
    const tenant = await client.createTenant(admin);
    await client.createLab(admin, tenant, labBody('staff', { template: ARC_TEMPLATE, instructors: [person(900)], students: [person(1), person(2)] }));
    const res = await client
      .api()
      .patch(`/v1/tenants/${tenant}/labs/staff`)
      .set('authorization', admin)
      .send({ instructors: [person(901)] });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const op = res.body.lastOperationId as string;
    expect((await client.settle(admin, op, 30_000))['status']).toBe('succeeded');
    for (const n of [1, 2])
      expect(await grantsOn(tenant, 'staff', personId(n))).toEqual([`${personId(n)}:user`, `${personId(901)}:administrator`].sort());
  });

  it('a second lab is refused when it does not fit beside a first one whose VMs are still being made', async () => {
    const tenant = await client.createTenant(admin, {
      quota: {
        requestsCpu: 4,
        limitsCpu: 8,
        requestsMemoryGi: 64,
        limitsMemoryGi: 64,
        storageGi: 1000,
        persistentVolumeClaims: 50,
        virtualMachines: 50,
      },
    });
    // VM creations in this tenant are held back: the first lab's VMs do not exist yet when the second is asked.
    emulatorOf(t).faults.latency(3_000, { method: 'POST', pathPrefix: `/apis/kubevirt.io/v1/namespaces/${tenant}/virtualmachines` });
    try {
      const first = await client
        .api()
        .post(`/v1/tenants/${tenant}/labs`)
        .set('authorization', admin)
        .send(labBody('first', { template: ARC_TEMPLATE, students: [person(1), person(2), person(3)] }));
      expect(first.status).toBe(202);
      expect(emulatorOf(t).store.list(VM, { namespace: tenant })).toEqual([]);
      const second = await client
        .api()
        .post(`/v1/tenants/${tenant}/labs`)
        .set('authorization', admin)
        .send(labBody('second', { template: ARC_TEMPLATE, students: [person(4), person(5)] }));
      expect(second.status, JSON.stringify(second.body)).toBe(409);
      expect(second.body).toMatchObject({ code: 'QUOTA_EXCEEDED', details: { needed: { requestsCpu: 2 }, left: { requestsCpu: 1 } } });
      expect((await client.settle(admin, first.body.id as string, 45_000))['status']).toBe('succeeded');
    } finally {
      emulatorOf(t).faults.clear();
    }
  });

  it('deleting a lab removes every student VM and then the lab', async () => {
    const tenant = await client.createTenant(admin);
    await client.createLab(admin, tenant, labBody('gone', { template: ARC_TEMPLATE, students: [person(1), person(2)] }));
    const res = await client.api().delete(`/v1/tenants/${tenant}/labs/gone`).set('authorization', admin);
    expect(res.status).toBe(202);
    expect((await client.settle(admin, res.body.id as string, 30_000))['status']).toBe('succeeded');
    expect((await client.lab(admin, tenant, 'gone')).status).toBe(404);
    expect(emulatorOf(t).store.list(VM, { namespace: tenant })).toEqual([]);
  });

  it('deleting a lab while it is still provisioning leaves no VM behind', async () => {
    const tenant = await client.createTenant(admin);
    const res = await client
      .api()
      .post(`/v1/tenants/${tenant}/labs`)
      .set('authorization', admin)
      .send(labBody('hasty', { template: ARC_TEMPLATE, students: [1, 2, 3, 4].map((n) => person(n)) }));
    expect(res.status).toBe(202);
    await expect.poll(() => emulatorOf(t).store.list(VM, { namespace: tenant }).length, { timeout: 10_000, interval: 20 }).toBeGreaterThan(0);
    const del = await client.api().delete(`/v1/tenants/${tenant}/labs/hasty`).set('authorization', admin);
    expect(del.status).toBe(202);
    expect((await client.settle(admin, del.body.id as string, 45_000))['status']).toBe('succeeded');
    expect((await client.lab(admin, tenant, 'hasty')).status).toBe(404);
    expect(emulatorOf(t).store.list(VM, { namespace: tenant })).toEqual([]);
    // Real time: the lab loops run on real time; 1 s is the window in which a deleted lab's VM would wrongly come back.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(emulatorOf(t).store.list(VM, { namespace: tenant })).toEqual([]);
  });
});
