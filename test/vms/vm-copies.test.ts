import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CLONE_RESOURCE,
  DISK_CONTENT_ANNOTATION,
  FAIL_CLONE_ANNOTATION,
  KUBEVIRT_CR,
  SNAPSHOT_RESOURCES,
  type KubeObject,
} from '../../src/adapters/sim/kube-emulator/index.js';
import { arcMachineName, arcResourceId, ROLE_DEFINITION_GUIDS } from '../../src/domain/identity/index.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { DV, emulatorOf, expectProblem, expectValid, restClient, VM, vmBody } from './support.js';

/**
 * Clones of VMs and VMs published as tenant images, on the embedded default over HTTP. The
 * simulated disk's "content" (a DataVolume annotation, simulation only) follows the copies.
 */
let t: TestApp;
let admin: string;
let olga: string;
let rest: ReturnType<typeof restClient>;

beforeAll(async () => {
  // The capability check is asked every time here, so the unsupported case sees a change at once.
  t = await startTestApp({ SNAPSHOT_SUPPORT_CACHE_MS: '0', RATE_LIMIT_PER_MINUTE: '1000000' });
  admin = await t.bearer({ sub: 'admin-copies', roles: ['platform-admin'] });
  olga = await t.bearer({ sub: 'olga' });
  rest = restClient(t);
});
afterAll(async () => {
  await t?.close();
});

const base = (tenant: string, vm: string) => `/v1/tenants/${tenant}/vms/${vm}`;

interface VmShape {
  spec: {
    dataVolumeTemplates: { metadata: { name: string } }[];
    template: {
      spec: {
        domain: { firmware?: { serial?: string }; devices: { interfaces: { name: string; macAddress?: string }[] } };
        volumes: { name: string; cloudInitNoCloud?: { secretRef?: { name: string } } }[];
      };
    };
  };
}
const vmObject = (tenant: string, vm: string) => emulatorOf(t).store.get(VM, tenant, vm) as (KubeObject & VmShape) | undefined;

function rootDisk(tenant: string, vm: string): KubeObject {
  const name = vmObject(tenant, vm)?.spec.dataVolumeTemplates[0]?.metadata.name ?? '';
  const dv = emulatorOf(t).store.get(DV, tenant, name);
  if (dv === undefined) throw new Error(`no DataVolume ${tenant}/${name}`);
  return dv;
}
function writeDisk(tenant: string, vm: string, content: string): void {
  const dv = rootDisk(tenant, vm);
  dv.metadata.annotations = { ...dv.metadata.annotations, [DISK_CONTENT_ANNOTATION]: content };
  delete dv.metadata.resourceVersion;
  emulatorOf(t).store.update(DV, dv);
}
const secretText = (tenant: string, vm: string) =>
  Object.values((emulatorOf(t).store.get('secrets', tenant, `${vm}-cloudinit`) as { data?: Record<string, string> } | undefined)?.data ?? {})
    .map((v) => Buffer.from(v, 'base64').toString('utf8'))
    .join('\n');

async function post(auth: string, path: string, body: Record<string, unknown>) {
  return rest.api().post(path).set('authorization', auth).send(body);
}

describe('clone', () => {
  it('an Arc VM is cloned into a VM with its own Arc machine and access, its own cloud-init Secret, new MAC and serial and a copy of the disk', async () => {
    const tenant = await rest.createTenant(admin);
    const created = await rest.createVm(olga, tenant, vmBody('tmpl', { arc: true }));
    const children = await t.deps.jobs.store.listChildren(created['id'] as string);
    const sourceIdentity = children.find((c) => c.kind === 'vm.identity');
    expect((await rest.settle(olga, sourceIdentity?.id ?? '', 30_000))['status']).toBe('succeeded');
    writeDisk(tenant, 'tmpl', 'course-software');

    const res = await post(olga, `${base(tenant, 'tmpl')}/clone`, { name: 'copy' });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.body).toMatchObject({ kind: 'vm.clone', target: { type: 'vm', name: 'copy' } });
    const op = await rest.settle(olga, res.body.id as string, 30_000);
    expect(op['status'], JSON.stringify(op)).toBe('succeeded');
    expect(op['result']).toMatchObject({ name: 'copy', source: 'tmpl', state: 'Running', identityPending: true });

    const identity = (await t.deps.jobs.store.listChildren(res.body.id as string)).find((c) => c.kind === 'vm.identity');
    expect(identity, 'the clone is onboarded as a new Arc machine').toBeDefined();
    expect((await rest.settle(olga, identity?.id ?? '', 30_000))['status']).toBe('succeeded');
    const { subscriptionId, resourceGroup } = t.deps.identity.settings;
    const sourceMachine = await t.deps.identity.arcMachines.getMachine(arcMachineName(tenant, 'tmpl'));
    const cloneMachine = await t.deps.identity.arcMachines.getMachine(arcMachineName(tenant, 'copy'));
    expect(cloneMachine).toBeDefined();
    expect(sourceMachine).toBeDefined();
    expect(cloneMachine?.resourceId).toBe(arcResourceId(subscriptionId, resourceGroup, arcMachineName(tenant, 'copy')));
    expect(cloneMachine?.resourceId).not.toBe(sourceMachine?.resourceId);
    // Onboarded with the clone's own VM id (tags), not the source's.
    expect(cloneMachine?.tags).not.toEqual(sourceMachine?.tags);
    const grants = await t.deps.identity.access.list(arcResourceId(subscriptionId, resourceGroup, arcMachineName(tenant, 'copy')));
    expect(grants.map((g) => [g.principalId, g.roleDefinitionId.split('/').at(-1)])).toEqual([['olga', ROLE_DEFINITION_GUIDS.administrator]]);
    const view = (await rest.vm(olga, tenant, 'copy')).body;
    expect(view).toMatchObject({
      name: 'copy',
      state: 'Running',
      arc: true,
      identity: { ready: true, arc: { machineResourceId: cloneMachine?.resourceId } },
    });
    expect(view.id).not.toBe((await rest.vm(olga, tenant, 'tmpl')).body.id);

    // Its own cloud-init Secret, owned by it, generalising the copied disk; the source's untouched.
    const source = vmObject(tenant, 'tmpl');
    const copy = vmObject(tenant, 'copy');
    expectValid(copy, 'v1.VirtualMachine');
    expect(copy?.spec.template.spec.volumes.find((v) => v.name === 'cloudinit')?.cloudInitNoCloud?.secretRef?.name).toBe('copy-cloudinit');
    expect(source?.spec.template.spec.volumes.find((v) => v.name === 'cloudinit')?.cloudInitNoCloud?.secretRef?.name).toBe('tmpl-cloudinit');
    expect(emulatorOf(t).store.get('secrets', tenant, 'copy-cloudinit')?.metadata.ownerReferences?.[0]).toMatchObject({
      kind: 'VirtualMachine',
      name: 'copy',
    });
    const copyData = secretText(tenant, 'copy');
    expect(copyData).toContain('hostname: "copy"');
    expect(copyData).toContain('ssh_deletekeys: true');
    expect(copyData).toContain('rm -f /etc/ssh/ssh_host_*');
    expect(copyData).toContain('azcmagent disconnect --force-local-only');
    expect(copyData).toContain('systemd-machine-id-setup');
    expect(secretText(tenant, 'tmpl')).toContain('hostname: "tmpl"');
    expect(secretText(tenant, 'tmpl')).not.toContain('ssh_deletekeys');
    // The disconnect runs before the onboarding of the clone's own machine.
    expect(copyData.indexOf('azcmagent disconnect')).toBeLessThan(copyData.indexOf('arc-onboarding.cfg'));

    // New MAC addresses and SMBIOS serial; the source's identity annotations were not copied.
    const mac = copy?.spec.template.spec.domain.devices.interfaces[0]?.macAddress;
    expect(mac).toMatch(/^02(:[0-9a-f]{2}){5}$/);
    expect(mac).not.toBe(source?.spec.template.spec.domain.devices.interfaces[0]?.macAddress);
    const serial = copy?.spec.template.spec.domain.firmware?.serial;
    expect(serial).toMatch(/^[0-9a-f-]{36}$/);
    expect(serial).not.toBe(source?.spec.template.spec.domain.firmware?.serial);
    expect(copy?.metadata.labels?.['labplane.io/vm-id']).not.toBe(source?.metadata.labels?.['labplane.io/vm-id']);
    // The clone's disk is a copy of the source's.
    expect(rootDisk(tenant, 'copy').metadata.name).not.toBe(rootDisk(tenant, 'tmpl').metadata.name);
    expect(rootDisk(tenant, 'copy').metadata.annotations?.[DISK_CONTENT_ANNOTATION]).toBe('course-software');
    expect(rootDisk(tenant, 'copy').metadata.labels?.['labplane.io/vm']).toBe('copy');
    // The VirtualMachineClone is gone once done.
    expect(emulatorOf(t).store.list(CLONE_RESOURCE, { namespace: tenant })).toEqual([]);
  }, 90_000);

  it('a clone of a clone gets yet another MAC; a stopped clone stays stopped; the VirtualMachineClone written is schema-valid', async () => {
    const tenant = await rest.createTenant(admin);
    await rest.createVm(olga, tenant, vmBody('a', { running: false }));
    const first = await rest.settle(olga, (await post(olga, `${base(tenant, 'a')}/clone`, { name: 'b', running: false })).body.id as string);
    expect(first['status'], JSON.stringify(first)).toBe('succeeded');
    expect((await rest.vm(olga, tenant, 'b')).body).toMatchObject({ state: 'Stopped', running: false });
    const em = emulatorOf(t);
    const seen: KubeObject[] = [];
    const off = em.store.subscribe(CLONE_RESOURCE, (ev) => {
      if (ev.type === 'ADDED') seen.push(structuredClone(ev.object));
    });
    const second = await rest.settle(olga, (await post(olga, `${base(tenant, 'b')}/clone`, { name: 'c', running: false })).body.id as string);
    off();
    expect(second['status'], JSON.stringify(second)).toBe('succeeded');
    expect(seen).toHaveLength(1);
    expectValid(seen[0], 'v1beta1.VirtualMachineClone');
    expect(seen[0]?.spec).toMatchObject({ source: { kind: 'VirtualMachine', name: 'b' }, target: { kind: 'VirtualMachine', name: 'c' } });
    const macOf = (vm: string) => vmObject(tenant, vm)?.spec.template.spec.domain.devices.interfaces[0]?.macAddress;
    expect(macOf('c')).toBeDefined();
    expect(macOf('c')).not.toBe(macOf('b'));
  }, 60_000);

  it('refusals: a taken name (409 VM_EXISTS), a bad name (400), a missing VM (404), a member on their own VM (403), a failing clone (CLONE_FAILED)', async () => {
    const tenant = await rest.createTenant(admin);
    await rest.createVm(olga, tenant, vmBody('src', { running: false }));
    expect((await rest.api().put(`/v1/tenants/${tenant}/members/mia`).set('authorization', admin).send({ role: 'member' })).status).toBe(201);
    await rest.createVm(olga, tenant, vmBody('mias', { running: false, owner: 'mia' }));
    const mia = await t.bearer({ sub: 'mia' });
    expectProblem(await post(mia, `${base(tenant, 'mias')}/clone`, { name: 'mias-copy' }), 403, 'FORBIDDEN');
    expectProblem(await post(mia, `${base(tenant, 'mias')}/publish`, { image: 'mias-image' }), 403, 'FORBIDDEN');
    await rest.createVm(olga, tenant, vmBody('taken', { running: false }));
    expectProblem(await post(olga, `${base(tenant, 'src')}/clone`, { name: 'taken' }), 409, 'VM_EXISTS');
    const bad = await post(olga, `${base(tenant, 'src')}/clone`, { name: 'Not_A_Name' });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].field).toBe('/name');
    expectProblem(await post(olga, `${base(tenant, 'nope')}/clone`, { name: 'x' }), 404, 'VM_NOT_FOUND');

    const src = emulatorOf(t).store.get(VM, tenant, 'src') as KubeObject;
    src.metadata.annotations = { ...src.metadata.annotations, [FAIL_CLONE_ANNOTATION]: 'simulated clone failure' };
    delete src.metadata.resourceVersion;
    emulatorOf(t).store.update(VM, src);
    const failed = await rest.settle(olga, (await post(olga, `${base(tenant, 'src')}/clone`, { name: 'doomed' })).body.id as string);
    expect(failed['status']).toBe('failed');
    expect(failed['error']).toMatchObject({ code: 'CLONE_FAILED' });
    expect(failed['error']['detail']).toContain('simulated clone failure');
  }, 60_000);

  it('refused with 409 CLONES_NOT_SUPPORTED without the CRD or with the Snapshot feature gate off, and nothing is written', async () => {
    const tenant = await rest.createTenant(admin);
    await rest.createVm(olga, tenant, vmBody('src', { running: false }));
    const em = emulatorOf(t);
    em.uninstallResource(CLONE_RESOURCE);
    try {
      const res = await post(olga, `${base(tenant, 'src')}/clone`, { name: 'copy' });
      expectProblem(res, 409, 'CLONES_NOT_SUPPORTED');
      expect(res.body.detail).toContain('virtualmachineclones.clone.kubevirt.io');
    } finally {
      em.installResource(CLONE_RESOURCE);
    }
    const kv = em.store.get(SNAPSHOT_RESOURCES.kubevirts, KUBEVIRT_CR.namespace, KUBEVIRT_CR.name) as KubeObject;
    const gatesOff = structuredClone(kv);
    gatesOff.spec = { configuration: { developerConfiguration: { featureGates: [] } } };
    delete gatesOff.metadata.resourceVersion;
    em.store.update(SNAPSHOT_RESOURCES.kubevirts, gatesOff);
    try {
      const res = await post(olga, `${base(tenant, 'src')}/clone`, { name: 'copy' });
      expectProblem(res, 409, 'CLONES_NOT_SUPPORTED');
      expect(res.body.detail).toContain('featureGates');
    } finally {
      const back = structuredClone(em.store.get(SNAPSHOT_RESOURCES.kubevirts, KUBEVIRT_CR.namespace, KUBEVIRT_CR.name) as KubeObject);
      back.spec = { configuration: { developerConfiguration: { featureGates: ['Snapshot'] } } };
      delete back.metadata.resourceVersion;
      em.store.update(SNAPSHOT_RESOURCES.kubevirts, back);
    }
    expect(em.store.get(VM, tenant, 'copy')).toBeUndefined();
    expect(em.store.get('secrets', t.deps.config.controlNamespace, `labplane-cloudinit.${tenant}.copy`)).toBeUndefined();
  }, 60_000);
});

describe('publish as image', () => {
  it('a stopped VM becomes a tenant image with its source and version; a VM from it generalises; publishing again is version 2', async () => {
    const tenant = await rest.createTenant(admin);
    await rest.createVm(olga, tenant, vmBody('tmpl'));
    writeDisk(tenant, 'tmpl', 'lab-1');
    // A running VM is refused unless it is to be stopped first.
    const refused = await post(olga, `${base(tenant, 'tmpl')}/publish`, { image: 'course' });
    expectProblem(refused, 409, 'ACTION_NOT_ALLOWED');

    const res = await post(olga, `${base(tenant, 'tmpl')}/publish`, { image: 'course', displayName: 'Course v1', stopFirst: true });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.body).toMatchObject({ kind: 'vm.publish', target: { type: 'image', name: 'course' } });
    const op = await rest.settle(olga, res.body.id as string, 30_000);
    expect(op['status'], JSON.stringify(op)).toBe('succeeded');
    expect(op['result']).toMatchObject({ name: 'tmpl', image: 'course', version: 1 });
    expect((await rest.vm(olga, tenant, 'tmpl')).body).toMatchObject({ state: 'Stopped' });

    const image = await rest.api().get(`/v1/tenants/${tenant}/images/course`).set('authorization', olga);
    expect(image.status).toBe(200);
    expect(image.body).toMatchObject({
      scope: 'tenant',
      tenant,
      name: 'course',
      displayName: 'Course v1',
      phase: 'Ready',
      sizeGi: 10,
      generalize: true,
      source: { type: 'vm', vm: 'tmpl', version: 1, url: `/v1/tenants/${tenant}/vms/tmpl`, hasCredentials: false },
    });
    const dv = emulatorOf(t).store.get(DV, tenant, 'course');
    expectValid(dv, 'v1beta1.DataVolume');
    expect((dv?.spec as { source: unknown }).source).toEqual({ pvc: { namespace: tenant, name: rootDisk(tenant, 'tmpl').metadata.name } });
    expect(dv?.metadata.annotations?.[DISK_CONTENT_ANNOTATION]).toBe('lab-1');

    // A VM from the image gets the generalisation and the disk content.
    await rest.createVm(olga, tenant, vmBody('student', { image: { scope: 'tenant', name: 'course' } }));
    const data = secretText(tenant, 'student');
    expect(data).toContain('ssh_deletekeys: true');
    expect(data).toContain('["cloud-init-per","instance","labplane-machine-id"');
    expect(data).toContain('azcmagent disconnect --force-local-only');
    expect(rootDisk(tenant, 'student').metadata.annotations?.[DISK_CONTENT_ANNOTATION]).toBe('lab-1');
    // A VM from an imported image does not.
    await rest.createVm(olga, tenant, vmBody('plain', { running: false }));
    expect(secretText(tenant, 'plain')).not.toContain('ssh_deletekeys');

    writeDisk(tenant, 'tmpl', 'lab-2');
    const again = await rest.settle(olga, (await post(olga, `${base(tenant, 'tmpl')}/publish`, { image: 'course' })).body.id as string, 30_000);
    expect(again['status'], JSON.stringify(again)).toBe('succeeded');
    const v2 = await rest.api().get(`/v1/tenants/${tenant}/images/course`).set('authorization', olga);
    expect(v2.body).toMatchObject({ displayName: 'Course v1', source: { type: 'vm', vm: 'tmpl', version: 2 }, phase: 'Ready' });
    expect(emulatorOf(t).store.get(DV, tenant, 'course')?.metadata.annotations?.[DISK_CONTENT_ANNOTATION]).toBe('lab-2');
    const listed = await rest.api().get(`/v1/tenants/${tenant}/images`).set('authorization', olga);
    expect(listed.body.items.filter((i: { name: string }) => i.name === 'course')).toHaveLength(1);
    // The student's VM keeps its own disk.
    expect(rootDisk(tenant, 'student').metadata.annotations?.[DISK_CONTENT_ANNOTATION]).toBe('lab-1');

    const gql = await rest
      .api()
      .post('/graphql')
      .set('authorization', olga)
      .send({ query: `{ image(tenant: "${tenant}", name: "course") { generalize source { type vm version url } } }` });
    expect(gql.body.data.image).toEqual({ generalize: true, source: { type: 'vm', vm: 'tmpl', version: 2, url: `/v1/tenants/${tenant}/vms/tmpl` } });
  }, 90_000);

  it('refusals: a bad image name (400 /image), quota (409 QUOTA_EXCEEDED), another tenant’s VM (404)', async () => {
    const tenant = await rest.createTenant(admin);
    await rest.createVm(olga, tenant, vmBody('tmpl', { running: false }));
    const bad = await post(olga, `${base(tenant, 'tmpl')}/publish`, { image: 'Bad Name' });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].field).toBe('/image');
    const other = await rest.createTenant(admin, { owners: [{ principalId: 'oscar' }] });
    const oscar = await t.bearer({ sub: 'oscar' });
    expectProblem(await post(oscar, `${base(tenant, 'tmpl')}/publish`, { image: 'stolen' }), 404, 'TENANT_NOT_FOUND');
    expectProblem(await post(oscar, `${base(other, 'tmpl')}/publish`, { image: 'stolen' }), 404, 'VM_NOT_FOUND');
    const small = await rest.createTenant(admin, { quota: { storageGi: 15 } });
    await rest.createVm(olga, small, vmBody('tmpl', { running: false }));
    const res = await post(olga, `${base(small, 'tmpl')}/publish`, { image: 'big' });
    expectProblem(res, 409, 'QUOTA_EXCEEDED');
    expect(res.body.details.needed).toMatchObject({ storageGi: 10 });
  }, 60_000);
});

describe('GraphQL', () => {
  it('cloneVm and publishVm start the operations', async () => {
    const tenant = await rest.createTenant(admin);
    await rest.createVm(olga, tenant, vmBody('g', { running: false }));
    const gql = (query: string) => rest.api().post('/graphql').set('authorization', olga).send({ query });
    const c = await gql(`mutation { cloneVm(tenant: "${tenant}", vm: "g", name: "g2", running: false) { id kind } }`);
    expect(c.body.data?.cloneVm.kind, JSON.stringify(c.body)).toBe('vm.clone');
    expect((await rest.settle(olga, c.body.data.cloneVm.id as string))['status']).toBe('succeeded');
    const p = await gql(`mutation { publishVm(tenant: "${tenant}", vm: "g", image: "gimg") { id kind } }`);
    expect(p.body.data?.publishVm.kind, JSON.stringify(p.body)).toBe('vm.publish');
    expect((await rest.settle(olga, p.body.data.publishVm.id as string))['status']).toBe('succeeded');
  }, 60_000);
});
