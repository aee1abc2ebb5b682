import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DISK_CONTENT_ANNOTATION, type KubeObject } from '../../src/adapters/sim/kube-emulator/index.js';
import { arcMachineName, arcResourceId } from '../../src/domain/identity/index.js';
import { studentVmName } from '../../src/domain/labs/lab-rules.js';
import { labBody, labClient, person } from '../labs/support.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { DV, emulatorOf, expectProblem, expectValid, SEEDED_IMAGE, VM, vmBody } from './support.js';

/**
 * Reimage on the embedded default, driven over HTTP. The simulated disk's "content" is an
 * annotation of its DataVolume (simulation only): a clone starts with its source's, so a test
 * marks the image, breaks the VM's disk and sees the reimage bring the image's content back.
 */
let t: TestApp;
let admin: string;
let olga: string;
let rest: ReturnType<typeof labClient>;

beforeAll(async () => {
  t = await startTestApp({ LAB_PARALLELISM: '4' });
  admin = await t.bearer({ sub: 'admin-reimage', roles: ['platform-admin'] });
  olga = await t.bearer({ sub: 'olga' });
  rest = labClient(t);
});
afterAll(async () => {
  await t?.close();
});

const base = (tenant: string, vm: string) => `/v1/tenants/${tenant}/vms/${vm}`;

/** The VM's root DataVolume as the emulator holds it. */
function rootDisk(tenant: string, vm: string): KubeObject {
  const em = emulatorOf(t);
  const obj = em.store.get(VM, tenant, vm) as
    | { spec: { template: { spec: { volumes: { name: string; dataVolume?: { name: string } }[] } } } }
    | undefined;
  const name = obj?.spec.template.spec.volumes.find((v) => v.name === 'root')?.dataVolume?.name ?? '';
  const dv = em.store.get(DV, tenant, name);
  if (dv === undefined) throw new Error(`no DataVolume ${tenant}/${name}`);
  return dv;
}

function annotate(dv: KubeObject, content: string): void {
  dv.metadata.annotations = { ...dv.metadata.annotations, [DISK_CONTENT_ANNOTATION]: content };
  delete dv.metadata.resourceVersion;
  emulatorOf(t).store.update(DV, dv);
}

const writeDisk = (tenant: string, vm: string, content: string) => annotate(rootDisk(tenant, vm), content);
const diskContent = (tenant: string, vm: string) => rootDisk(tenant, vm).metadata.annotations?.[DISK_CONTENT_ANNOTATION];

/** Marks the seeded image's disk with a content (what every clone of it starts with). */
function markSeededImage(content: string): void {
  const dv = emulatorOf(t).store.get(DV, 'labplane-images', SEEDED_IMAGE.name);
  if (dv === undefined) throw new Error('no seeded image');
  annotate(dv, content);
}

/** A tenant with these members (role member). */
async function tenantWith(...members: string[]): Promise<string> {
  const tenant = await rest.createTenant(admin);
  for (const who of members) {
    expect((await rest.api().put(`/v1/tenants/${tenant}/members/${who}`).set('authorization', admin).send({ role: 'member' })).status).toBe(201);
  }
  return tenant;
}

async function reimage(auth: string, tenant: string, vm: string, body: Record<string, unknown> = {}) {
  return rest
    .api()
    .post(`${base(tenant, vm)}/reimage`)
    .set('authorization', auth)
    .send(body);
}

async function reimaged(auth: string, tenant: string, vm: string, body: Record<string, unknown> = {}): Promise<Record<string, any>> {
  const res = await reimage(auth, tenant, vm, body);
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  expect(res.body.kind).toBe('vm.reimage');
  const op = await rest.settle(auth, res.body.id as string, 20_000);
  expect(op['status'], JSON.stringify(op)).toBe('succeeded');
  return op;
}

describe('reimage of a plain VM', () => {
  it('a running VM gets a fresh disk with its image content, keeps its name, owner and object, and runs again', async () => {
    markSeededImage('ubuntu-golden');
    const tenant = await rest.createTenant(admin);
    await rest.createVm(admin, tenant, vmBody('web', { owner: 'olga' }));
    expect(diskContent(tenant, 'web')).toBe('ubuntu-golden');
    const before = emulatorOf(t).store.get(VM, tenant, 'web');
    const oldDisk = rootDisk(tenant, 'web').metadata.name;
    writeDisk(tenant, 'web', 'rm -rf /');

    const op = await reimaged(olga, tenant, 'web');
    expect(op['result']).toMatchObject({ name: 'web', image: SEEDED_IMAGE, running: true });
    expect(diskContent(tenant, 'web')).toBe('ubuntu-golden');
    const after = emulatorOf(t).store.get(VM, tenant, 'web');
    expect(after?.metadata.uid).toBe(before?.metadata.uid);
    expect(rootDisk(tenant, 'web').metadata.name).not.toBe(oldDisk);
    // The old disk is gone; the VM and its new disk pass the upstream schemas.
    expect(emulatorOf(t).store.get(DV, tenant, oldDisk ?? '')).toBeUndefined();
    expectValid(after, 'v1.VirtualMachine');
    expectValid(rootDisk(tenant, 'web'), 'v1beta1.DataVolume');
    await expect.poll(async () => (await rest.vm(olga, tenant, 'web')).body.state, { timeout: 10_000 }).toBe('Running');
    expect((await rest.vm(olga, tenant, 'web')).body).toMatchObject({ name: 'web', owner: 'olga', image: SEEDED_IMAGE });
  });

  it('a stopped VM stays stopped; a member may reset their VM but not choose another image (403)', async () => {
    markSeededImage('ubuntu-golden');
    const tenant = await tenantWith('stu');
    await rest.createVm(admin, tenant, vmBody('db', { running: false, owner: 'stu' }));
    const stu = await t.bearer({ sub: 'stu' });
    // A member may reset to the VM's own image (vm.power) but not swap it (vm.update).
    expectProblem(await reimage(stu, tenant, 'db', { image: SEEDED_IMAGE }), 403, 'FORBIDDEN');
    writeDisk(tenant, 'db', 'broken');
    const op = await reimaged(stu, tenant, 'db');
    expect(op['result']).toMatchObject({ running: false });
    expect(diskContent(tenant, 'db')).toBe('ubuntu-golden');
    expect((await rest.vm(stu, tenant, 'db')).body.state).toBe('Stopped');
  });

  it('bad input and bad states: 422, 404, 409', async () => {
    const tenant = await rest.createTenant(admin);
    await rest.createVm(admin, tenant, vmBody('app', { running: false }));
    expectProblem(await reimage(admin, tenant, 'app', { image: { scope: 'platform', name: 'no-such-image' } }), 422, 'IMAGE_NOT_FOUND');
    const bad = await reimage(admin, tenant, 'app', { sshPublicKeys: ['not a key'] });
    expectProblem(bad, 400, 'VALIDATION_FAILED');
    expect(bad.body.errors[0].field).toMatch(/^\/sshPublicKeys/);
    expectProblem(await reimage(admin, tenant, 'nope'), 404, 'VM_NOT_FOUND');
    // A VM being deleted cannot be reimaged.
    const del = await rest.api().delete(base(tenant, 'app')).set('authorization', admin);
    expect(del.status).toBe(202);
    await expect
      .poll(async () => {
        const vm = await rest.vm(admin, tenant, 'app');
        return vm.status === 404 || vm.body.deleting === true;
      })
      .toBe(true);
    const gone = await reimage(admin, tenant, 'app');
    expect([404, 409]).toContain(gone.status);
    if (gone.status === 409) expect(gone.body.code).toBe('ACTION_NOT_ALLOWED');
  });

  it('the new disk must fit in the storage quota beside the old one (409 QUOTA_EXCEEDED, nothing written)', async () => {
    const tenant = await rest.createTenant(admin, { quota: { storageGi: 15 } });
    await rest.createVm(admin, tenant, vmBody('big', { running: false }));
    const disks = () =>
      emulatorOf(t)
        .store.list(DV, { namespace: tenant })
        .map((d) => d.metadata.name);
    const before = disks();
    const res = await reimage(admin, tenant, 'big');
    expectProblem(res, 409, 'QUOTA_EXCEEDED');
    expect(disks()).toEqual(before);
    expect(rootDisk(tenant, 'big').metadata.name).toBe(before[0]);
    expect(res.body.details.needed).toMatchObject({ storageGi: 10 });
  });

  it("a student resets their own VM; another student's VM is 404", async () => {
    const tenant = await tenantWith('ann', 'bob');
    await rest.createVm(admin, tenant, vmBody('ann-vm', { owner: 'ann', running: false }));
    await rest.createVm(admin, tenant, vmBody('bob-vm', { owner: 'bob', running: false }));
    const ann = await t.bearer({ sub: 'ann' });
    expectProblem(await reimage(ann, tenant, 'bob-vm'), 404, 'VM_NOT_FOUND');
    await reimaged(ann, tenant, 'ann-vm');
    const gql = await rest
      .api()
      .post('/graphql')
      .set('authorization', ann)
      .send({ query: 'mutation($t: ID!) { reimageVm(tenant: $t, vm: "bob-vm") { id } }', variables: { t: tenant } });
    expect(gql.body.errors?.[0]?.extensions?.code).toBe('VM_NOT_FOUND');
  });
});

describe('reimage of a VM with Azure Arc on', () => {
  it('re-onboards under the same Arc machine (same resource id, no new machine) with a fresh token, and keeps access', async () => {
    const tenant = await rest.createTenant(admin);
    const created = await rest
      .api()
      .post(`/v1/tenants/${tenant}/vms`)
      .set('authorization', olga)
      .send(vmBody('arc-vm', { arc: true }));
    expect(created.status).toBe(202);
    const identity = async () =>
      expect.poll(async () => (await rest.vm(olga, tenant, 'arc-vm')).body.identity?.ready, { timeout: 15_000, interval: 100 }).toBe(true);
    await identity();
    const grant = await rest
      .api()
      .put(`${base(tenant, 'arc-vm')}/access/helper`)
      .set('authorization', olga)
      .send({ role: 'user', principalType: 'User' });
    expect(grant.status, JSON.stringify(grant.body)).toBe(200);
    const sim = t.deps.world.simAzure!;
    const machinesBefore = (await sim.arcMachines().listMachines()).length;
    const minted = sim.stats().tokensMinted;

    const op = await reimaged(olga, tenant, 'arc-vm');
    expect(op['result']).toMatchObject({ identityPending: true });
    expect(sim.stats().tokensMinted).toBe(minted + 1);
    const child = (await t.deps.jobs.store.listChildren(op['id'] as string)).find((c) => c.kind === 'vm.identity');
    expect(child).toBeDefined();
    const done = await rest.settle(admin, child!.id, 20_000);
    expect(done['status'], JSON.stringify(done)).toBe('succeeded');
    await identity();
    const { subscriptionId, resourceGroup } = t.deps.identity.settings;
    const vm = (await rest.vm(olga, tenant, 'arc-vm')).body;
    expect(vm.identity.arc).toEqual({
      status: 'Connected',
      machineResourceId: arcResourceId(subscriptionId, resourceGroup, arcMachineName(tenant, 'arc-vm')),
    });
    expect((await sim.arcMachines().listMachines()).length).toBe(machinesBefore);
    const access = await rest
      .api()
      .get(`${base(tenant, 'arc-vm')}/access`)
      .set('authorization', olga);
    expect(access.body.items.map((i: { principalId: string }) => i.principalId).sort()).toEqual(['helper', 'olga']);
  });
});

describe('lab template VM and lab reimage', () => {
  const instructor = person(900);
  it("the template VM is the lab's but not a student, goes with the lab", async () => {
    const tenant = await rest.createTenant(admin);
    await rest.createLab(admin, tenant, labBody('net101', { instructors: [instructor], students: [person(1)] }));
    expectProblem(await rest.api().get(`/v1/tenants/${tenant}/labs/net101/template-vm`).set('authorization', admin), 404, 'TEMPLATE_VM_NOT_FOUND');
    const notInstructor = await rest
      .api()
      .post(`/v1/tenants/${tenant}/labs/net101/template-vm`)
      .set('authorization', admin)
      .send({ owner: 'stranger' });
    expectProblem(notInstructor, 400, 'VALIDATION_FAILED');
    expect(notInstructor.body.errors[0].field).toBe('/owner');
    const res = await rest.api().post(`/v1/tenants/${tenant}/labs/net101/template-vm`).set('authorization', admin).send({ owner: instructor.id });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect((await rest.settle(admin, res.body.id as string))['status']).toBe('succeeded');
    const got = await rest.api().get(`/v1/tenants/${tenant}/labs/net101/template-vm`).set('authorization', admin);
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ name: 'net101-template', owner: instructor.id, lab: 'net101' });
    expectProblem(
      await rest.api().post(`/v1/tenants/${tenant}/labs/net101/template-vm`).set('authorization', admin).send({}),
      409,
      'TEMPLATE_VM_EXISTS',
    );
    // Not a student: the summary counts the one student only.
    const lab = await rest.lab(admin, tenant, 'net101');
    expect(lab.body.summary).toMatchObject({ total: 1, ready: 1, dropped: 0 });
    const badName = await rest
      .api()
      .post(`/v1/tenants/${tenant}/labs/net101/template-vm/publish`)
      .set('authorization', admin)
      .send({ image: 'Not_A_Label' });
    expect(badName.status).toBe(400);
    // The template VM goes with its lab.
    const del = await rest.api().delete(`/v1/tenants/${tenant}/labs/net101`).set('authorization', admin);
    expect(del.status).toBe(202);
    expect((await rest.settle(admin, del.body.id as string, 30_000))['status']).toBe('succeeded');
    await expect.poll(async () => (await rest.vm(admin, tenant, 'net101-template')).status, { timeout: 10_000 }).toBe(404);
  });

  it("an instructor's template VM is published and a 20-student lab is reimaged from it through the lab parallelism", async () => {
    markSeededImage('template-v1');
    const tenant = await rest.createTenant(admin);
    const students = Array.from({ length: 20 }, (_, i) => person(i + 1));
    await rest.createLab(admin, tenant, labBody('os201', { instructors: [instructor], students }));
    for (const s of students) writeDisk(tenant, studentVmName('os201', s.id), `homework of ${s.id}`);
    // The instructor prepares the template VM and publishes it: the lab's template image is the new version.
    const made = await rest.api().post(`/v1/tenants/${tenant}/labs/os201/template-vm`).set('authorization', admin).send({ owner: instructor.id });
    expect(made.status, JSON.stringify(made.body)).toBe(202);
    expect((await rest.settle(admin, made.body.id as string))['status']).toBe('succeeded');
    writeDisk(tenant, 'os201-template', 'template-v2');
    const published = await rest.api().post(`/v1/tenants/${tenant}/labs/os201/template-vm/publish`).set('authorization', admin).send({});
    expect(published.status, JSON.stringify(published.body)).toBe(202);
    expect(published.body.kind).toBe('lab.template-publish');
    const pub = await rest.settle(admin, published.body.id as string, 30_000);
    expect(pub['status'], JSON.stringify(pub)).toBe('succeeded');
    expect(pub['result']).toMatchObject({ lab: 'os201', vm: 'os201-template', image: { scope: 'tenant', name: 'os201-template' }, version: 1 });
    expect((await rest.lab(admin, tenant, 'os201')).body.template.image).toEqual({ scope: 'tenant', name: 'os201-template' });
    const image = await rest.api().get(`/v1/tenants/${tenant}/images/os201-template`).set('authorization', admin);
    expect(image.body).toMatchObject({ name: 'os201-template', phase: 'Ready' });
    // Publishing changes the spec only: the students' disks are as they were until the reimage.
    for (const s of students) expect(diskContent(tenant, studentVmName('os201', s.id))).toBe(`homework of ${s.id}`);

    const bad = await rest
      .api()
      .post(`/v1/tenants/${tenant}/labs/os201/reimage`)
      .set('authorization', admin)
      .send({ students: [person(99).id] });
    expectProblem(bad, 400, 'VALIDATION_FAILED');
    expect(bad.body.errors[0].field).toBe('/students/0');

    const res = await rest.api().post(`/v1/tenants/${tenant}/labs/os201/reimage`).set('authorization', admin).send({});
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.body.kind).toBe('lab.reimage');
    const op = await rest.settle(admin, res.body.id as string, 60_000);
    expect(op['status'], JSON.stringify(op)).toBe('succeeded');
    expect(op['result']).toMatchObject({ total: 20, succeeded: 20, failed: [] });
    for (const s of students) expect(diskContent(tenant, studentVmName('os201', s.id))).toBe('template-v2');
    // Never more than the lab parallelism (4) at once: each child's run overlaps at most 3 others.
    const children = await t.deps.jobs.store.listChildren(res.body.id as string);
    expect(children).toHaveLength(20);
    const spans = children.map((c) => [Date.parse(c.createdAt), Date.parse(c.finishedAt ?? c.updatedAt)] as const);
    for (const [start] of spans) expect(spans.filter(([a, b]) => a <= start && start < b).length).toBeLessThanOrEqual(4);
    const lab = await rest.lab(admin, tenant, 'os201');
    expect(lab.body.summary).toMatchObject({ total: 20 });

    // One student, by GraphQL.
    const gql = await rest
      .api()
      .post('/graphql')
      .set('authorization', admin)
      .send({
        query: 'mutation($t: ID!, $s: [ID!]) { reimageLab(tenant: $t, lab: "os201", students: $s) { id kind } }',
        variables: { t: tenant, s: [students[0]!.id] },
      });
    expect(gql.body.data.reimageLab.kind).toBe('lab.reimage');
    const one = await rest.settle(admin, gql.body.data.reimageLab.id as string, 30_000);
    expect(one['result']).toMatchObject({ total: 1, succeeded: 1 });
  }, 120_000);
});
