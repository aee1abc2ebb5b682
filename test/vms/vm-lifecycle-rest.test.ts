import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { DV, emulatorOf, expectProblem, expectValid, restClient, VM, VMI, vmBody } from './support.js';

let t: TestApp;
let admin: string;
let rest: ReturnType<typeof restClient>;

beforeAll(async () => {
  t = await startTestApp();
  admin = await t.bearer({ sub: 'admin-vm', roles: ['platform-admin'] });
  rest = restClient(t);
});
afterAll(async () => {
  await t?.close();
});

describe('VM lifecycle over REST', () => {
  it('a VM is created, reaches Running, stops, starts, restarts, migrates and is deleted, every object passing strict validation', async () => {
    const tenant = await rest.createTenant(admin);
    const em = emulatorOf(t);
    const created = await rest
      .api()
      .post(`/v1/tenants/${tenant}/vms`)
      .set('authorization', admin)
      .send(vmBody('web-1', { owner: 'olga', labels: { course: 'cs101' }, lab: 'cs101' }));
    expect(created.status).toBe(202);
    expect(created.headers['operation-location']).toBe(`/v1/operations/${created.body.id}`);
    expect(created.body).toMatchObject({ kind: 'vm.create', tenant, target: { type: 'vm', id: `${tenant}/web-1` } });
    const seen = new Set<string>();
    await expect
      .poll(
        async () => {
          const r = await rest.vm(admin, tenant, 'web-1');
          if (r.status === 200) seen.add(r.body.state);
          return r.body.state;
        },
        { timeout: 10_000, interval: 30 },
      )
      .toBe('Running');
    expect(seen).toContain('Provisioning');
    expect((await rest.settle(admin, created.body.id)).status).toBe('succeeded');

    const running = await rest.vm(admin, tenant, 'web-1');
    expect(running.body).toMatchObject({
      name: 'web-1',
      tenant,
      owner: 'olga',
      lab: 'cs101',
      labels: { course: 'cs101' },
      image: { scope: 'platform', name: 'ubuntu-24-04' },
      instanceType: 'small',
      cpu: 1,
      memoryGi: 2,
      diskGi: 10,
      storageClass: 'kv-standard',
      running: true,
      runStrategy: 'Always',
      state: 'Running',
      availableActions: ['stop', 'restart', 'migrate'],
      liveMigratable: true,
      restartRequired: false,
      arc: false,
      nodeName: expect.stringMatching(/^aks-kubevirt-/),
    });
    expect(running.body.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-/);

    const vm = em.store.get(VM, tenant, 'web-1');
    expectValid(vm, 'v1.VirtualMachine');
    expectValid(em.store.get(VMI, tenant, 'web-1'), 'v1.VirtualMachineInstance');
    const disk = em.store.list(DV, { namespace: tenant })[0];
    expectValid(disk, 'v1beta1.DataVolume');
    expect(disk?.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'VirtualMachine', uid: vm?.metadata.uid });
    const secret = em.store.get('secrets', tenant, 'web-1-cloudinit');
    expect(secret?.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'VirtualMachine', name: 'web-1', uid: vm?.metadata.uid });
    expect(Buffer.from(String((secret?.data as Record<string, string>)['userdata']), 'base64').toString()).toContain('ssh-ed25519 ');
    expect(vm?.metadata.labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'labplane',
      'labplane.io/tenant': tenant,
      'labplane.io/image': 'ubuntu-24-04',
      'labplane.io/image-scope': 'platform',
      'labplane.io/lab': 'cs101',
    });

    const stop = await rest.act(admin, tenant, 'web-1', 'stop');
    expect(stop.status).toBe(202);
    expect(stop.body.kind).toBe('vm.stop');
    expect((await rest.settle(admin, stop.body.id)).status).toBe('succeeded');
    expect((await rest.vm(admin, tenant, 'web-1')).body).toMatchObject({ state: 'Stopped', availableActions: ['start'], running: false });
    expect((await rest.vm(admin, tenant, 'web-1')).body.nodeName).toBeUndefined();

    const start = await rest.act(admin, tenant, 'web-1', 'start');
    expect((await rest.settle(admin, start.body.id)).status).toBe('succeeded');
    expect((await rest.vm(admin, tenant, 'web-1')).body.state).toBe('Running');

    const before = em.store.get(VMI, tenant, 'web-1')?.metadata.uid;
    const restart = await rest.act(admin, tenant, 'web-1', 'restart');
    expect((await rest.settle(admin, restart.body.id)).status).toBe('succeeded');
    expect(em.store.get(VMI, tenant, 'web-1')?.metadata.uid).not.toBe(before);

    const from = (await rest.vm(admin, tenant, 'web-1')).body.nodeName as string;
    const migrate = await rest.act(admin, tenant, 'web-1', 'migrate');
    expect(migrate.body.kind).toBe('vm.migrate');
    const migrated = await rest.settle(admin, migrate.body.id);
    expect(migrated, JSON.stringify(migrated)).toMatchObject({ status: 'succeeded', result: { phase: 'Succeeded' } });
    const after = (await rest.vm(admin, tenant, 'web-1')).body;
    expect(after.nodeName).not.toBe(from);
    expect(after).toMatchObject({ state: 'Running', migration: { phase: 'Succeeded', sourceNode: from, targetNode: after.nodeName } });
    expectValid(em.store.list('virtualmachineinstancemigrations.kubevirt.io', { namespace: tenant })[0], 'v1.VirtualMachineInstanceMigration');

    const del = await rest.api().delete(`/v1/tenants/${tenant}/vms/web-1`).set('authorization', admin);
    expect(del.status).toBe(202);
    expect((await rest.settle(admin, del.body.id)).result).toMatchObject({ deleted: true, disksRetained: false });
    expectProblem(await rest.vm(admin, tenant, 'web-1'), 404, 'VM_NOT_FOUND');
    await expect.poll(() => em.store.list(DV, { namespace: tenant }).length + em.store.list('secrets', { namespace: tenant }).length).toBe(0);
    expect(em.store.get(VM, tenant, 'web-1')).toBeUndefined();
  });

  it('an action the state does not allow answers 409 ACTION_NOT_ALLOWED with the reason, and nothing is sent to KubeVirt', async () => {
    const tenant = await rest.createTenant(admin);
    await rest.createVm(admin, tenant, vmBody('halted', { running: false }));
    expect((await rest.vm(admin, tenant, 'halted')).body).toMatchObject({ state: 'Stopped', availableActions: ['start'] });
    const calls = emulatorOf(t).vmActions.calls.length;
    for (const action of ['stop', 'restart', 'migrate']) {
      const res = await rest.act(admin, tenant, 'halted', action);
      expectProblem(res, 409, 'ACTION_NOT_ALLOWED');
      expect(res.body.detail).toContain('Stopped');
      expect(res.body.details).toMatchObject({ state: 'Stopped', availableActions: ['start'] });
    }
    expect(emulatorOf(t).vmActions.calls.length).toBe(calls);
  });

  it('creating a VM whose name is taken is 409 VM_EXISTS; a missing image is 422; bad input lists every field', async () => {
    const tenant = await rest.createTenant(admin);
    await rest.createVm(admin, tenant, vmBody('dup', { running: false }));
    expectProblem(await rest.api().post(`/v1/tenants/${tenant}/vms`).set('authorization', admin).send(vmBody('dup')), 409, 'VM_EXISTS');
    expectProblem(
      await rest
        .api()
        .post(`/v1/tenants/${tenant}/vms`)
        .set('authorization', admin)
        .send(vmBody('noimg', { image: { scope: 'platform', name: 'nope' } })),
      422,
      'IMAGE_NOT_FOUND',
    );
    const bad = await rest
      .api()
      .post(`/v1/tenants/${tenant}/vms`)
      .set('authorization', admin)
      .send(vmBody('bad', { sshPublicKeys: ['ssh-rsa notbase64!'], diskGi: 5, cloudInit: 'echo hi' }));
    expectProblem(bad, 400, 'VALIDATION_FAILED');
    expect(bad.body.errors.map((e: { field: string }) => e.field)).toEqual(expect.arrayContaining(['/sshPublicKeys/0', '/cloudInit']));
    const small = await rest
      .api()
      .post(`/v1/tenants/${tenant}/vms`)
      .set('authorization', admin)
      .send(vmBody('small-disk', { diskGi: 5 }));
    expectProblem(small, 400, 'VALIDATION_FAILED');
    expect(small.body.errors).toEqual([{ field: '/diskGi', message: expect.stringContaining('10 GiB') }]);
    const long = await rest
      .api()
      .post(`/v1/tenants/${tenant}/vms`)
      .set('authorization', admin)
      .send(vmBody('a'.repeat(55)));
    expectProblem(long, 400, 'VALIDATION_FAILED');
  });

  it('a resize is quota-checked, applies at the next restart, and says so', async () => {
    const tenant = await rest.createTenant(admin);
    await rest.createVm(admin, tenant, vmBody('grow'));
    const patched = await rest.api().patch(`/v1/tenants/${tenant}/vms/grow`).set('authorization', admin).send({ instanceType: 'medium' });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body).toMatchObject({ cpu: 2, memoryGi: 4, instanceType: 'medium', restartRequired: true, state: 'Running' });
    const restart = await rest.act(admin, tenant, 'grow', 'restart');
    expect((await rest.settle(admin, restart.body.id)).status).toBe('succeeded');
    expect((await rest.vm(admin, tenant, 'grow')).body).toMatchObject({ restartRequired: false, cpu: 2 });
    const huge = await rest.api().patch(`/v1/tenants/${tenant}/vms/grow`).set('authorization', admin).send({ cpu: 9 });
    expectProblem(huge, 400, 'VALIDATION_FAILED');
    const off = await rest.api().patch(`/v1/tenants/${tenant}/vms/grow`).set('authorization', admin).send({ running: false });
    expect(off.body).toMatchObject({ running: false, runStrategy: 'Halted' });
  });
});
