import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DISK_CONTENT_ANNOTATION,
  FAIL_SNAPSHOT_ANNOTATION,
  KUBEVIRT_CR,
  SNAPSHOT_RESOURCES,
  type KubeObject,
} from '../../src/adapters/sim/kube-emulator/index.js';
import { eventually } from '../support/eventually.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { DV, emulatorOf, expectProblem, expectValid, restClient, VM, vmBody } from './support.js';

/**
 * Snapshots and restore on the embedded default, driven over HTTP. The simulated disk's "content"
 * is an annotation of its DataVolume (simulation only): a test writes it as the guest would, takes
 * a snapshot, "breaks" the disk and sees the restore bring the content back.
 */
let t: TestApp;
let admin: string;
let olga: string;
let rest: ReturnType<typeof restClient>;

beforeAll(async () => {
  // The capability check is asked every time here, so the unsupported cases see a change at once.
  t = await startTestApp({ SNAPSHOTS_PER_VM: '2', SNAPSHOTS_PER_TENANT: '3', SNAPSHOT_SUPPORT_CACHE_MS: '0' });
  admin = await t.bearer({ sub: 'admin-snap', roles: ['platform-admin'] });
  olga = await t.bearer({ sub: 'olga' });
  rest = restClient(t);
});
afterAll(async () => {
  await t?.close();
});

const base = (tenant: string, vm: string) => `/v1/tenants/${tenant}/vms/${vm}`;

/** The VM's root DataVolume as the emulator holds it. */
function rootDisk(tenant: string, vm: string): KubeObject {
  const em = emulatorOf(t);
  const obj = em.store.get(VM, tenant, vm) as { spec: { dataVolumeTemplates: { metadata: { name: string } }[] } } | undefined;
  const name = obj?.spec.dataVolumeTemplates[0]?.metadata.name ?? '';
  const dv = em.store.get(DV, tenant, name);
  if (dv === undefined) throw new Error(`no DataVolume ${tenant}/${name}`);
  return dv;
}

/** Writes the simulated disk content (what the guest would do). */
function writeDisk(tenant: string, vm: string, content: string): void {
  const dv = rootDisk(tenant, vm);
  dv.metadata.annotations = { ...dv.metadata.annotations, [DISK_CONTENT_ANNOTATION]: content };
  delete dv.metadata.resourceVersion;
  emulatorOf(t).store.update(DV, dv);
}

const diskContent = (tenant: string, vm: string) => rootDisk(tenant, vm).metadata.annotations?.[DISK_CONTENT_ANNOTATION];

async function snapshot(auth: string, tenant: string, vm: string, name?: string): Promise<Record<string, any>> {
  const res = await rest
    .api()
    .post(`${base(tenant, vm)}/snapshots`)
    .set('authorization', auth)
    .send(name === undefined ? {} : { name });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  expect(res.body.kind).toBe('vm.snapshot');
  return rest.settle(auth, res.body.id as string);
}

describe('snapshot, break, restore', () => {
  it('a snapshot of a running VM is online with the guest agent; a restore with stopFirst stops the VM and brings its disk back', async () => {
    const tenant = await rest.createTenant(admin);
    await rest.createVm(admin, tenant, vmBody('web'));
    writeDisk(tenant, 'web', 'course-software-v1');

    const op = await snapshot(olga, tenant, 'web', 'before');
    expect(op['status'], JSON.stringify(op)).toBe('succeeded');
    expect(op['result']).toMatchObject({ name: 'web', snapshot: 'before', online: true, indications: ['Online', 'GuestAgent'] });
    const got = await rest
      .api()
      .get(`${base(tenant, 'web')}/snapshots/before`)
      .set('authorization', olga);
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ tenant, vm: 'web', name: 'before', phase: 'Succeeded', readyToUse: true, online: true, sizeGi: 10 });
    expect(Date.parse(got.body.creationTime)).not.toBeNaN();
    const stored = emulatorOf(t).store.get(SNAPSHOT_RESOURCES.snapshots, tenant, 'before');
    expectValid(stored, 'v1beta1.VirtualMachineSnapshot');
    // Not owned by the VM (KubeVirt's semantics), labelled with its tenant and VM.
    expect(stored?.metadata.ownerReferences ?? []).toEqual([]);
    expect(stored?.metadata.labels).toMatchObject({ 'labplane.io/tenant': tenant, 'labplane.io/vm': 'web' });

    writeDisk(tenant, 'web', 'rm -rf /');
    // A running VM is refused unless it is to be stopped first.
    const refused = await rest
      .api()
      .post(`${base(tenant, 'web')}/restore`)
      .set('authorization', olga)
      .send({ snapshot: 'before' });
    expectProblem(refused, 409, 'ACTION_NOT_ALLOWED');
    expect(refused.body.details.state).toBe('Running');

    const restore = await rest
      .api()
      .post(`${base(tenant, 'web')}/restore`)
      .set('authorization', olga)
      .send({ snapshot: 'before', stopFirst: true });
    expect(restore.status, JSON.stringify(restore.body)).toBe(202);
    expect(restore.body.kind).toBe('vm.restore');
    const done = await rest.settle(olga, restore.body.id as string);
    expect(done['status'], JSON.stringify(done)).toBe('succeeded');
    expect(done['result']).toMatchObject({ name: 'web', snapshot: 'before' });
    expect(diskContent(tenant, 'web')).toBe('course-software-v1');
    expect((await rest.vm(olga, tenant, 'web')).body).toMatchObject({ state: 'Stopped', running: false });
    const restores = emulatorOf(t).store.list(SNAPSHOT_RESOURCES.restores, { namespace: tenant });
    expect(restores).toHaveLength(1);
    expectValid(restores[0], 'v1beta1.VirtualMachineRestore');
  });

  it('a stopped VM is snapshotted offline and restored without stopFirst; list, get and delete', async () => {
    const tenant = await rest.createTenant(admin);
    await rest.createVm(admin, tenant, vmBody('db', { running: false }));
    await rest.createVm(admin, tenant, vmBody('other', { running: false }));
    writeDisk(tenant, 'db', 'v1');
    const op = await snapshot(admin, tenant, 'db');
    expect(op['status'], JSON.stringify(op)).toBe('succeeded');
    const name = op['result']['snapshot'] as string;
    expect(name).toMatch(/^db-\d{8}-\d{6}-[0-9a-f]{4}$/);

    const list = await rest
      .api()
      .get(`${base(tenant, 'db')}/snapshots`)
      .set('authorization', admin);
    expect(list.status).toBe(200);
    expect(list.body.items).toEqual([expect.objectContaining({ name, online: false, indications: [], readyToUse: true })]);
    // Another VM's route does not show it.
    expect(
      (
        await rest
          .api()
          .get(`${base(tenant, 'other')}/snapshots`)
          .set('authorization', admin)
      ).body.items,
    ).toEqual([]);
    expectProblem(
      await rest
        .api()
        .get(`${base(tenant, 'other')}/snapshots/${name}`)
        .set('authorization', admin),
      404,
      'SNAPSHOT_NOT_FOUND',
    );

    writeDisk(tenant, 'db', 'broken');
    const restore = await rest
      .api()
      .post(`${base(tenant, 'db')}/restore`)
      .set('authorization', admin)
      .send({ snapshot: name });
    expect(restore.status, JSON.stringify(restore.body)).toBe(202);
    expect((await rest.settle(admin, restore.body.id as string))['status']).toBe('succeeded');
    expect(diskContent(tenant, 'db')).toBe('v1');

    expect(
      (
        await rest
          .api()
          .delete(`${base(tenant, 'db')}/snapshots/${name}`)
          .set('authorization', admin)
      ).status,
    ).toBe(204);
    expectProblem(
      await rest
        .api()
        .get(`${base(tenant, 'db')}/snapshots/${name}`)
        .set('authorization', admin),
      404,
      'SNAPSHOT_NOT_FOUND',
    );
    expect(emulatorOf(t).store.get(SNAPSHOT_RESOURCES.snapshots, tenant, name)).toBeUndefined();
  });

  it('a snapshot KubeVirt fails fails its operation with SNAPSHOT_FAILED; restoring from it is 409 SNAPSHOT_NOT_READY', async () => {
    const tenant = await rest.createTenant(admin);
    await rest.createVm(admin, tenant, vmBody('flaky', { running: false }));
    const em = emulatorOf(t);
    const vm = em.store.get(VM, tenant, 'flaky') as KubeObject;
    vm.metadata.annotations = { ...vm.metadata.annotations, [FAIL_SNAPSHOT_ANNOTATION]: 'VolumeSnapshot rootdisk failed: driver error' };
    delete vm.metadata.resourceVersion;
    em.store.update(VM, vm);

    const op = await snapshot(admin, tenant, 'flaky', 'doomed');
    expect(op['status']).toBe('failed');
    expect(op['error']).toMatchObject({ code: 'SNAPSHOT_FAILED' });
    expect(op['error']['detail']).toContain('driver error');
    const got = await rest
      .api()
      .get(`${base(tenant, 'flaky')}/snapshots/doomed`)
      .set('authorization', admin);
    expect(got.body).toMatchObject({ phase: 'Failed', readyToUse: false, error: 'VolumeSnapshot rootdisk failed: driver error' });
    expectProblem(
      await rest
        .api()
        .post(`${base(tenant, 'flaky')}/restore`)
        .set('authorization', admin)
        .send({ snapshot: 'doomed' }),
      409,
      'SNAPSHOT_NOT_READY',
    );
  });
});

describe('a VM deleted', () => {
  it('takes its snapshots with it (they are not owned by the VM, so vm.delete deletes them); other VMs keep theirs', async () => {
    const tenant = await rest.createTenant(admin);
    await rest.createVm(admin, tenant, vmBody('gone', { running: false }));
    await rest.createVm(admin, tenant, vmBody('kept', { running: false }));
    expect((await snapshot(admin, tenant, 'gone', 'gone-1'))['status']).toBe('succeeded');
    expect((await snapshot(admin, tenant, 'kept', 'kept-1'))['status']).toBe('succeeded');
    const del = await rest.api().delete(base(tenant, 'gone')).set('authorization', admin);
    expect(del.status).toBe(202);
    expect((await rest.settle(admin, del.body.id as string))['status']).toBe('succeeded');
    const left = emulatorOf(t)
      .store.list(SNAPSHOT_RESOURCES.snapshots, { namespace: tenant })
      .map((o) => o.metadata.name);
    expect(left).toEqual(['kept-1']);
  });
});

describe('limits and quota', () => {
  it('per VM and per tenant limits answer 409 SNAPSHOT_LIMIT_REACHED with the scope; a taken name is SNAPSHOT_EXISTS', async () => {
    const tenant = await rest.createTenant(admin);
    await rest.createVm(admin, tenant, vmBody('a', { running: false }));
    await rest.createVm(admin, tenant, vmBody('b', { running: false }));
    expect((await snapshot(admin, tenant, 'a', 'a-1'))['status']).toBe('succeeded');
    expect((await snapshot(admin, tenant, 'a', 'a-2'))['status']).toBe('succeeded');
    const perVm = await rest
      .api()
      .post(`${base(tenant, 'a')}/snapshots`)
      .set('authorization', admin)
      .send({ name: 'a-3' });
    expectProblem(perVm, 409, 'SNAPSHOT_LIMIT_REACHED');
    expect(perVm.body.details).toEqual({ scope: 'vm', limit: 2 });
    expectProblem(
      await rest
        .api()
        .post(`${base(tenant, 'b')}/snapshots`)
        .set('authorization', admin)
        .send({ name: 'a-1' }),
      409,
      'SNAPSHOT_EXISTS',
    );
    expect((await snapshot(admin, tenant, 'b', 'b-1'))['status']).toBe('succeeded');
    const perTenant = await rest
      .api()
      .post(`${base(tenant, 'b')}/snapshots`)
      .set('authorization', admin)
      .send({ name: 'b-2' });
    expectProblem(perTenant, 409, 'SNAPSHOT_LIMIT_REACHED');
    expect(perTenant.body.details).toEqual({ scope: 'tenant', limit: 3 });
    // Deleting one makes room again.
    expect(
      (
        await rest
          .api()
          .delete(`${base(tenant, 'a')}/snapshots/a-1`)
          .set('authorization', admin)
      ).status,
    ).toBe(204);
    expect((await snapshot(admin, tenant, 'b', 'b-2'))['status']).toBe('succeeded');
  });

  it("a snapshot's storage (the VM's disk) counts against the tenant's storage quota, for snapshots and VM creates: 409 QUOTA_EXCEEDED", async () => {
    const tenant = await rest.createTenant(admin, { quota: { storageGi: 25 } });
    await rest.createVm(admin, tenant, vmBody('big', { running: false }));
    // The disk (10 GiB) and one snapshot (10 GiB) fit in 25 GiB; a second snapshot does not.
    expect((await snapshot(admin, tenant, 'big', 'one'))['status']).toBe('succeeded');
    const res = await rest
      .api()
      .post(`${base(tenant, 'big')}/snapshots`)
      .set('authorization', admin)
      .send({ name: 'two' });
    expectProblem(res, 409, 'QUOTA_EXCEEDED');
    expect(res.body.details).toEqual({ needed: { storageGi: 10 }, left: { storageGi: 5 } });
    expect(emulatorOf(t).store.get(SNAPSHOT_RESOURCES.snapshots, tenant, 'two')).toBeUndefined();
    // A new VM's disk must fit beside the disks and the snapshots too.
    const vm = await rest
      .api()
      .post(`/v1/tenants/${tenant}/vms`)
      .set('authorization', admin)
      .send(vmBody('second', { running: false }));
    expectProblem(vm, 409, 'QUOTA_EXCEEDED');
    expect(vm.body.details).toEqual({ needed: { storageGi: 10 }, left: { storageGi: 5 } });
  });
});

describe('who may snapshot', () => {
  it('a member (student) may list their own VM’s snapshots but not take, delete or restore them (vm.update); another’s VM is 404', async () => {
    const tenant = await rest.createTenant(admin);
    for (const who of ['sam', 'tom']) {
      expect((await rest.api().put(`/v1/tenants/${tenant}/members/${who}`).set('authorization', admin).send({ role: 'member' })).status).toBe(201);
    }
    await rest.createVm(admin, tenant, vmBody('sam-vm', { owner: 'sam', running: false }));
    await rest.createVm(admin, tenant, vmBody('tom-vm', { owner: 'tom', running: false }));
    expect((await snapshot(admin, tenant, 'sam-vm', 'sam-snap'))['status']).toBe('succeeded');
    const sam = await t.bearer({ sub: 'sam' });

    const list = await rest
      .api()
      .get(`${base(tenant, 'sam-vm')}/snapshots`)
      .set('authorization', sam);
    expect(list.status).toBe(200);
    expect(list.body.items.map((s: { name: string }) => s.name)).toEqual(['sam-snap']);
    expectProblem(
      await rest
        .api()
        .post(`${base(tenant, 'sam-vm')}/snapshots`)
        .set('authorization', sam)
        .send({}),
      403,
      'FORBIDDEN',
    );
    expectProblem(
      await rest
        .api()
        .delete(`${base(tenant, 'sam-vm')}/snapshots/sam-snap`)
        .set('authorization', sam),
      403,
      'FORBIDDEN',
    );
    expectProblem(
      await rest
        .api()
        .post(`${base(tenant, 'sam-vm')}/restore`)
        .set('authorization', sam)
        .send({ snapshot: 'sam-snap' }),
      403,
      'FORBIDDEN',
    );
    expectProblem(
      await rest
        .api()
        .get(`${base(tenant, 'tom-vm')}/snapshots`)
        .set('authorization', sam),
      404,
      'VM_NOT_FOUND',
    );
  });
});

describe('a cluster without snapshot support', () => {
  it('answers 409 SNAPSHOTS_NOT_SUPPORTED saying what to enable (CRDs missing, then the feature gate off); /readyz stays ready', async () => {
    const tenant = await rest.createTenant(admin);
    await rest.createVm(admin, tenant, vmBody('vm', { running: false }));
    const em = emulatorOf(t);
    const calls = () => [
      rest
        .api()
        .get(`${base(tenant, 'vm')}/snapshots`)
        .set('authorization', admin),
      rest
        .api()
        .post(`${base(tenant, 'vm')}/snapshots`)
        .set('authorization', admin)
        .send({ name: 'x' }),
      rest
        .api()
        .get(`${base(tenant, 'vm')}/snapshots/x`)
        .set('authorization', admin),
      rest
        .api()
        .delete(`${base(tenant, 'vm')}/snapshots/x`)
        .set('authorization', admin),
      rest
        .api()
        .post(`${base(tenant, 'vm')}/restore`)
        .set('authorization', admin)
        .send({ snapshot: 'x' }),
    ];

    em.uninstallResource(SNAPSHOT_RESOURCES.snapshots);
    try {
      for (const res of await Promise.all(calls())) {
        expectProblem(res, 409, 'SNAPSHOTS_NOT_SUPPORTED');
        expect(res.body.detail).toContain('virtualmachinesnapshots.snapshot.kubevirt.io');
      }
      expect((await rest.api().get('/readyz')).status).toBe(200);
    } finally {
      em.installResource(SNAPSHOT_RESOURCES.snapshots);
    }

    const kv = em.store.get(SNAPSHOT_RESOURCES.kubevirts, KUBEVIRT_CR.namespace, KUBEVIRT_CR.name) as KubeObject;
    const setGates = (gates: string[]) => {
      const next = structuredClone(kv);
      next.spec = { configuration: { developerConfiguration: { featureGates: gates } } };
      delete next.metadata.resourceVersion;
      em.store.update(SNAPSHOT_RESOURCES.kubevirts, next);
    };
    setGates(['LiveMigration']);
    try {
      for (const res of await Promise.all(calls())) {
        expectProblem(res, 409, 'SNAPSHOTS_NOT_SUPPORTED');
        expect(res.body.detail).toContain('featureGates');
      }
      const gql = await rest
        .api()
        .post('/graphql')
        .set('authorization', admin)
        .send({ query: 'query($t: ID!) { vmSnapshots(tenant: $t, vm: "vm") { name } }', variables: { t: tenant } });
      expect(gql.body.errors?.[0]?.extensions?.code).toBe('SNAPSHOTS_NOT_SUPPORTED');
      expect((await rest.api().get('/readyz')).status).toBe(200);
    } finally {
      setGates(['Snapshot']);
    }
    expect(
      (
        await rest
          .api()
          .get(`${base(tenant, 'vm')}/snapshots`)
          .set('authorization', admin)
      ).status,
    ).toBe(200);
  });
});

describe('GraphQL', () => {
  it('createVmSnapshot, vmSnapshots, restoreVm and deleteVmSnapshot over the same use cases', async () => {
    const tenant = await rest.createTenant(admin);
    await rest.createVm(admin, tenant, vmBody('gq', { running: false }));
    const gql = async (query: string, variables: Record<string, unknown>) =>
      (await rest.api().post('/graphql').set('authorization', olga).send({ query, variables })).body as { data?: any; errors?: unknown[] };
    const created = await gql('mutation($t: ID!) { createVmSnapshot(tenant: $t, vm: "gq", name: "g1") { id kind } }', { t: tenant });
    expect(created.errors).toBeUndefined();
    expect(created.data.createVmSnapshot.kind).toBe('vm.snapshot');
    expect((await rest.settle(olga, created.data.createVmSnapshot.id as string))['status']).toBe('succeeded');
    const listed = await gql('query($t: ID!) { vmSnapshots(tenant: $t, vm: "gq") { name phase readyToUse online indications sizeGi } }', {
      t: tenant,
    });
    expect(listed.data.vmSnapshots).toEqual([{ name: 'g1', phase: 'Succeeded', readyToUse: true, online: false, indications: [], sizeGi: 10 }]);
    const restored = await gql('mutation($t: ID!) { restoreVm(tenant: $t, vm: "gq", snapshot: "g1") { id kind } }', { t: tenant });
    expect(restored.data.restoreVm.kind).toBe('vm.restore');
    expect((await rest.settle(olga, restored.data.restoreVm.id as string))['status']).toBe('succeeded');
    const deleted = await gql('mutation($t: ID!) { deleteVmSnapshot(tenant: $t, vm: "gq", name: "g1") }', { t: tenant });
    expect(deleted.data.deleteVmSnapshot).toBe(true);
    await eventually(
      async () => (await gql('query($t: ID!) { vmSnapshots(tenant: $t, vm: "gq") { name } }', { t: tenant })).data.vmSnapshots.length === 0,
    );
  });
});
