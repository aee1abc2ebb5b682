import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { DV, emulatorOf, expectProblem, restClient, VM, vmBody, vmCreateWrites } from './support.js';
import { eventually } from '../support/eventually.js';

let t: TestApp;
let admin: string;
let rest: ReturnType<typeof restClient>;

beforeAll(async () => {
  t = await startTestApp();
  admin = await t.bearer({ sub: 'admin-q', roles: ['platform-admin'] });
  rest = restClient(t);
});
afterAll(async () => {
  await t?.close();
});

const writes = (tenant: string) => vmCreateWrites(emulatorOf(t), tenant);

describe('quota before writes', () => {
  it('over quota, creating a VM answers 409 QUOTA_EXCEEDED with what is needed and left, and writes nothing', async () => {
    const tenant = await rest.createTenant(admin, { quota: { requestsCpu: 1, limitsCpu: 1 } });
    const before = writes(tenant);
    const res = await rest
      .api()
      .post(`/v1/tenants/${tenant}/vms`)
      .set('authorization', admin)
      .send(vmBody('too-big', { instanceType: 'medium' }));
    expectProblem(res, 409, 'QUOTA_EXCEEDED');
    expect(res.body.details).toEqual({ needed: { requestsCpu: 2, limitsCpu: 2 }, left: { requestsCpu: 1, limitsCpu: 1 } });
    expect(writes(tenant)).toBe(before);
    const em = emulatorOf(t);
    expect(em.store.list(VM, { namespace: tenant })).toEqual([]);
    expect(em.store.list('secrets', { namespace: tenant })).toEqual([]);
    expect(em.store.list(DV, { namespace: tenant })).toEqual([]);
  });

  it('a halted VM needs no CPU until it starts: creating it passes, starting it is refused with QUOTA_EXCEEDED', async () => {
    const tenant = await rest.createTenant(admin, { quota: { requestsCpu: 1, limitsCpu: 1 } });
    await rest.createVm(admin, tenant, vmBody('later', { instanceType: 'medium', running: false }));
    // The write counter of the first test sees a VM create (so its "writes nothing" can fail).
    expect(writes(tenant)).toBeGreaterThan(0);
    const before = emulatorOf(t).vmActions.calls.length;
    const res = await rest.act(admin, tenant, 'later', 'start');
    expectProblem(res, 409, 'QUOTA_EXCEEDED');
    expect(res.body.details.needed).toMatchObject({ requestsCpu: 2 });
    expect(emulatorOf(t).vmActions.calls.length).toBe(before);
  });

  it('the VM count and storage are quota-checked too', async () => {
    const tenant = await rest.createTenant(admin, { quota: { virtualMachines: 1, storageGi: 15 } });
    await rest.createVm(admin, tenant, vmBody('one', { running: false }));
    await expect.poll(async () => (await rest.api().get(`/v1/tenants/${tenant}`).set('authorization', admin)).body.usage.virtualMachines).toBe(1);
    const res = await rest
      .api()
      .post(`/v1/tenants/${tenant}/vms`)
      .set('authorization', admin)
      .send(vmBody('two', { running: false }));
    expectProblem(res, 409, 'QUOTA_EXCEEDED');
    expect(res.body.details).toEqual({ needed: { storageGi: 10, virtualMachines: 1 }, left: { storageGi: 5, virtualMachines: 0 } });
  });
});

describe('live migration preconditions', () => {
  it('a VM whose disk is not ReadWriteMany is not live-migratable: migrate is 409 NOT_LIVE_MIGRATABLE with the reason', async () => {
    const tenant = await rest.createTenant(admin);
    await rest.createVm(admin, tenant, vmBody('rwo', { storageClass: 'kv-premium-retain' }));
    const vm = (await rest.vm(admin, tenant, 'rwo')).body;
    expect(vm).toMatchObject({ state: 'Running', liveMigratable: false, availableActions: ['stop', 'restart'] });
    const res = await rest.act(admin, tenant, 'rwo', 'migrate');
    expectProblem(res, 409, 'NOT_LIVE_MIGRATABLE');
    expect(res.body.detail).toContain('LiveMigratable=False');
  });

  it('deleting a kv-premium-retain VM keeps its disk, released and labelled with the VM it came from', async () => {
    const tenant = await rest.createTenant(admin);
    await rest.createVm(admin, tenant, vmBody('keep', { storageClass: 'kv-premium-retain', running: false }));
    const del = await rest.api().delete(`/v1/tenants/${tenant}/vms/keep`).set('authorization', admin);
    expect((await rest.settle(admin, del.body.id)).result).toMatchObject({ deleted: true, disksRetained: true });
    // The delete answers before the disk's release is written: wait for the release itself.
    const disks = await eventually(() => {
      const dvs = emulatorOf(t).store.list(DV, { namespace: tenant });
      return dvs[0]?.metadata.labels?.['labplane.io/retained-from'] === undefined ? undefined : dvs;
    });
    expect(disks).toHaveLength(1);
    expect(disks[0]?.metadata.labels?.['labplane.io/retained-from']).toBe('keep');
    expect(disks[0]?.metadata.ownerReferences ?? []).toEqual([]);
    expect(emulatorOf(t).store.list('secrets', { namespace: tenant })).toEqual([]);
    // The same name can be used again: the new VM's disk has a name of its own.
    await rest.createVm(admin, tenant, vmBody('keep', { storageClass: 'kv-premium-retain', running: false }));
    expect(emulatorOf(t).store.list(DV, { namespace: tenant })).toHaveLength(2);
  });

  it('without quota headroom for the target pod, migrate is 409 MIGRATION_NEEDS_HEADROOM and no migration is created', async () => {
    const tenant = await rest.createTenant(admin, { quota: { requestsCpu: 1, limitsCpu: 1 } });
    await rest.createVm(admin, tenant, vmBody('full'));
    await expect.poll(async () => (await rest.api().get(`/v1/tenants/${tenant}`).set('authorization', admin)).body.usage.requestsCpu).toBe(1);
    const res = await rest.act(admin, tenant, 'full', 'migrate');
    expectProblem(res, 409, 'MIGRATION_NEEDS_HEADROOM');
    expect(res.body.details).toEqual({ needed: { requestsCpu: 1, limitsCpu: 1 }, left: { requestsCpu: 0, limitsCpu: 0 } });
    expect(emulatorOf(t).store.list('virtualmachineinstancemigrations.kubevirt.io', { namespace: tenant })).toEqual([]);
  });
});

describe('who may do what', () => {
  it('a member sees and powers only their own VMs, never node names, and may not create, change, migrate or delete', async () => {
    const tenant = await rest.createTenant(admin);
    for (const who of ['sam', 'tom']) {
      expect((await rest.api().put(`/v1/tenants/${tenant}/members/${who}`).set('authorization', admin).send({ role: 'member' })).status).toBe(201);
    }
    await rest.createVm(admin, tenant, vmBody('sam-vm', { owner: 'sam' }));
    await rest.createVm(admin, tenant, vmBody('tom-vm', { owner: 'tom', running: false }));
    const sam = await t.bearer({ sub: 'sam' });

    const list = await rest.api().get(`/v1/tenants/${tenant}/vms`).set('authorization', sam);
    expect(list.status).toBe(200);
    expect(list.body.items.map((v: { name: string }) => v.name)).toEqual(['sam-vm']);
    expect(list.body.items[0].nodeName).toBeUndefined();
    expect((await rest.vm(sam, tenant, 'sam-vm')).body).toMatchObject({ state: 'Running', owner: 'sam' });
    expect((await rest.vm(sam, tenant, 'sam-vm')).body.nodeName).toBeUndefined();
    expectProblem(await rest.vm(sam, tenant, 'tom-vm'), 404, 'VM_NOT_FOUND');
    expectProblem(await rest.act(sam, tenant, 'tom-vm', 'start'), 404, 'VM_NOT_FOUND');

    const stop = await rest.act(sam, tenant, 'sam-vm', 'stop');
    expect(stop.status).toBe(202);
    expect((await rest.settle(sam, stop.body.id)).status).toBe('succeeded');

    expectProblem(
      await rest
        .api()
        .post(`/v1/tenants/${tenant}/vms`)
        .set('authorization', sam)
        .send(vmBody('mine', { owner: 'sam' })),
      403,
      'FORBIDDEN',
    );
    expectProblem(await rest.api().delete(`/v1/tenants/${tenant}/vms/sam-vm`).set('authorization', sam), 403, 'FORBIDDEN');
    expectProblem(await rest.api().patch(`/v1/tenants/${tenant}/vms/sam-vm`).set('authorization', sam).send({ cpu: 2 }), 403, 'FORBIDDEN');
    expectProblem(await rest.act(sam, tenant, 'sam-vm', 'migrate'), 403, 'FORBIDDEN');
  });

  it("another tenant's VMs are 404, never 403, and absent from lists", async () => {
    const tenant = await rest.createTenant(admin);
    await rest.createVm(admin, tenant, vmBody('hidden', { running: false }));
    const eve = await t.bearer({ sub: 'eve', tenants: { elsewhere: 'owner' } });
    expectProblem(await rest.vm(eve, tenant, 'hidden'), 404, 'TENANT_NOT_FOUND');
    expectProblem(await rest.api().get(`/v1/tenants/${tenant}/vms`).set('authorization', eve), 404, 'TENANT_NOT_FOUND');
    expectProblem(await rest.act(eve, tenant, 'hidden', 'start'), 404, 'TENANT_NOT_FOUND');
    expectProblem(await rest.api().post(`/v1/tenants/${tenant}/vms`).set('authorization', eve).send(vmBody('x')), 404, 'TENANT_NOT_FOUND');
  });

  it('an integration with vms.manage creates VMs for any owner, but only platform admins list and evacuate nodes', async () => {
    const tenant = await rest.createTenant(admin);
    const lms = await t.bearer({ sub: 'lms-app', roles: ['vms.manage'], tenants: { [tenant]: 'owner' } });
    await rest.createVm(lms, tenant, vmBody('lms-vm', { owner: 'student-7', running: false }));
    expect((await rest.vm(lms, tenant, 'lms-vm')).body.owner).toBe('student-7');
    expectProblem(await rest.api().get('/v1/nodes').set('authorization', lms), 403, 'FORBIDDEN');
    const olga = await t.bearer({ sub: 'olga' });
    expectProblem(await rest.api().post('/v1/nodes/aks-kubevirt-0000/evacuate').set('authorization', olga), 403, 'FORBIDDEN');
  });
});
