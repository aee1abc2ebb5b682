import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Cluster } from './support.js';
import { createNamespace, expectApiError, KUBEVIRT, minimalVm, startCluster } from './support.js';

type Json = Record<string, unknown>;
let c: Cluster;
const NS = 'crud';

beforeAll(async () => {
  c = await startCluster();
  await createNamespace(c, NS);
});
afterAll(async () => {
  await c.emu.close();
});

const vmApi = <T extends object>(extra: T) => ({ ...KUBEVIRT, namespace: NS, ...extra });
const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

describe('core objects through CoreV1Api', () => {
  test('a namespace is created Active with its name label, and read back with uid and resourceVersion', async () => {
    const created = await c.core.createNamespace({ body: { metadata: { name: 'crud-ns' } } });
    expect(created.status?.phase).toBe('Active');
    expect(created.metadata?.labels?.['kubernetes.io/metadata.name']).toBe('crud-ns');
    const read = await c.core.readNamespace({ name: 'crud-ns' });
    expect(read.metadata?.uid).toBe(created.metadata?.uid);
    expect(Number(read.metadata?.resourceVersion)).toBeGreaterThan(0);
  });

  test('secrets: stringData is stored base64 in data, replace is optimistic, delete answers a Success Status', async () => {
    const s = await c.core.createNamespacedSecret({
      namespace: NS,
      body: { metadata: { name: 'cloudinit' }, stringData: { userdata: '#cloud-config' } },
    });
    expect(s.data?.userdata).toBe(Buffer.from('#cloud-config').toString('base64'));
    expect(s.type).toBe('Opaque');
    const updated = await c.core.replaceNamespacedSecret({ namespace: NS, name: 'cloudinit', body: { ...s, data: { userdata: 'eA==' } } });
    expect(Number(updated.metadata?.resourceVersion)).toBeGreaterThan(Number(s.metadata?.resourceVersion));
    const stale = await expectApiError(c.core.replaceNamespacedSecret({ namespace: NS, name: 'cloudinit', body: s }), 409);
    expect(stale.reason).toBe('Conflict');
    expect(stale.message).toBe(
      'Operation cannot be fulfilled on secrets "cloudinit": the object has been modified; please apply your changes to the latest version and try again',
    );
    const deleted = await c.core.deleteNamespacedSecret({ namespace: NS, name: 'cloudinit' });
    expect(deleted.status).toBe('Success');
    await expectApiError(c.core.readNamespacedSecret({ namespace: NS, name: 'cloudinit' }), 404);
  });

  test('configmaps: created with a resourceVersion, listed by label, replace is optimistic, delete with a stale uid is 409, then 404', async () => {
    const cm = await c.core.createNamespacedConfigMap({
      namespace: NS,
      body: { metadata: { name: 'reg-1', labels: { app: 'lti' } }, data: { issuer: 'https://lms.example.edu' } },
    });
    expect(Number(cm.metadata?.resourceVersion)).toBeGreaterThan(0);
    await expectApiError(c.core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'reg-1' } } }), 409);
    await c.core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'reg-2', labels: { app: 'other' } } } });
    const listed = await c.core.listNamespacedConfigMap({ namespace: NS, labelSelector: 'app=lti' });
    expect(listed.items.map((i) => i.metadata?.name)).toEqual(['reg-1']);
    const updated = await c.core.replaceNamespacedConfigMap({
      namespace: NS,
      name: 'reg-1',
      body: { ...cm, data: { issuer: 'https://b.example.edu' } },
    });
    expect(updated.data?.issuer).toBe('https://b.example.edu');
    expect((await expectApiError(c.core.replaceNamespacedConfigMap({ namespace: NS, name: 'reg-1', body: cm }), 409)).reason).toBe('Conflict');
    const bad = await expectApiError(
      c.core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'reg-3' }, data: { 'bad key': 'x' } } }),
      422,
    );
    expect(bad.reason).toBe('Invalid');
    await expectApiError(c.core.deleteNamespacedConfigMap({ namespace: NS, name: 'reg-1', body: { preconditions: { uid: 'not-its-uid' } } }), 409);
    expect((await c.core.deleteNamespacedConfigMap({ namespace: NS, name: 'reg-1' })).status).toBe('Success');
    await expectApiError(c.core.readNamespacedConfigMap({ namespace: NS, name: 'reg-1' }), 404);
  });

  test('a Secret with non-base64 data or an invalid name is 422 Invalid', async () => {
    const bad = await expectApiError(c.core.createNamespacedSecret({ namespace: NS, body: { metadata: { name: 's1' }, data: { k: '???' } } }), 422);
    expect(bad.details?.causes?.map((x) => x.field)).toEqual(['data.k']);
    const name = await expectApiError(c.core.createNamespacedSecret({ namespace: NS, body: { metadata: { name: 'Bad_Name' } } }), 422);
    expect(name.reason).toBe('Invalid');
    expect(name.message).toContain('Secret "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain');
  });

  test('label values and keys must be valid: an e-mail address is not a label value', async () => {
    const err = await expectApiError(
      c.core.createNamespacedSecret({ namespace: NS, body: { metadata: { name: 'lbl', labels: { owner: 'alice@uni.edu', 'bad key': 'x' } } } }),
      422,
    );
    expect(err.details?.causes?.map((x) => x.message)).toEqual([
      expect.stringMatching(/^Invalid value: "alice@uni.edu": a valid label must be an empty string/),
      expect.stringMatching(/^Invalid value: "bad key": name part must consist of alphanumeric characters/),
    ]);
    expect(err.details?.causes?.every((x) => x.field === 'metadata.labels')).toBe(true);
  });

  test('a namespace name must be a DNS-1123 label', async () => {
    const err = await expectApiError(c.core.createNamespace({ body: { metadata: { name: 'a.b' } } }), 422);
    expect(err.details?.causes?.[0]).toMatchObject({ field: 'metadata.name', reason: 'FieldValueInvalid' });
    expect(err.message).toContain('RFC 1123 label');
  });

  test('creating in a namespace that does not exist is 404 for the namespace', async () => {
    const err = await expectApiError(c.core.createNamespacedSecret({ namespace: 'ghost', body: { metadata: { name: 'x' } } }), 404);
    expect(err.message).toBe('namespaces "ghost" not found');
  });

  test('a body namespace different from the URL is 400 BadRequest', async () => {
    const err = await expectApiError(c.core.createNamespacedSecret({ namespace: NS, body: { metadata: { name: 'x', namespace: 'other' } } }), 400);
    expect(err.reason).toBe('BadRequest');
  });

  test('PVCs need access modes and a storage request; the spec is immutable except the size, which may only grow', async () => {
    const missing = await expectApiError(
      c.core.createNamespacedPersistentVolumeClaim({ namespace: NS, body: { metadata: { name: 'p0' }, spec: {} } }),
      422,
    );
    expect(missing.details?.causes?.map((x) => x.field).sort()).toEqual(['spec.accessModes', 'spec.resources[storage]']);
    const body = { metadata: { name: 'p1' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } };
    const pvc = await c.core.createNamespacedPersistentVolumeClaim({ namespace: NS, body });
    expect(pvc.status?.phase).toBe('Pending');
    const shrink = { spec: { resources: { requests: { storage: '512Mi' } } } };
    await expectApiError(c.core.patchNamespacedPersistentVolumeClaim({ namespace: NS, name: 'p1', body: shrink }, mergePatch), 422);
    const grown = await c.core.patchNamespacedPersistentVolumeClaim(
      { namespace: NS, name: 'p1', body: { spec: { resources: { requests: { storage: '2Gi' } } } } },
      mergePatch,
    );
    expect(grown.spec?.resources?.requests?.storage).toBe('2Gi');
  });

  test('generateName produces a unique name with the prefix', async () => {
    const a = await c.core.createNamespacedSecret({ namespace: NS, body: { metadata: { generateName: 'gen-' } } });
    const b = await c.core.createNamespacedSecret({ namespace: NS, body: { metadata: { generateName: 'gen-' } } });
    expect(a.metadata?.name).toMatch(/^gen-[a-z0-9]{5}$/);
    expect(a.metadata?.name).not.toBe(b.metadata?.name);
  });
});

describe('VirtualMachines through CustomObjectsApi', () => {
  test('create answers the stored object with uid, generation 1 and a resourceVersion; get and delete return it', async () => {
    const vm = (await c.custom.createNamespacedCustomObject(vmApi({ body: minimalVm('vm-a', NS) }))) as Json;
    const meta = vm.metadata as Json;
    expect(meta.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(meta.generation).toBe(1);
    expect(meta.creationTimestamp).toMatch(/Z$/);
    const got = (await c.custom.getNamespacedCustomObject(vmApi({ name: 'vm-a' }))) as Json;
    expect((got.metadata as Json).resourceVersion).toBe(meta.resourceVersion);
    const deleted = (await c.custom.deleteNamespacedCustomObject(vmApi({ name: 'vm-a' }))) as Json;
    expect(deleted.kind).toBe('VirtualMachine');
    const gone = await expectApiError(c.custom.getNamespacedCustomObject(vmApi({ name: 'vm-a' })), 404);
    expect(gone.message).toBe('virtualmachines.kubevirt.io "vm-a" not found');
    expect(gone.details).toMatchObject({ name: 'vm-a', group: 'kubevirt.io', kind: 'virtualmachines' });
  });

  test('creating the same name twice is 409 AlreadyExists', async () => {
    await c.custom.createNamespacedCustomObject(vmApi({ body: minimalVm('vm-dup', NS) }));
    const err = await expectApiError(c.custom.createNamespacedCustomObject(vmApi({ body: minimalVm('vm-dup', NS) })), 409);
    expect(err.reason).toBe('AlreadyExists');
    expect(err.message).toBe('virtualmachines.kubevirt.io "vm-dup" already exists');
  });

  test('an unknown field in the spec is 422 Invalid naming the field path, and nothing is stored', async () => {
    const vm = minimalVm('vm-typo', NS);
    ((vm.spec as Json).template as Json).spec = { ...(((vm.spec as Json).template as Json).spec as Json), nodeSelecter: { a: 'b' } };
    const err = await expectApiError(c.custom.createNamespacedCustomObject(vmApi({ body: vm })), 422);
    expect(err.reason).toBe('Invalid');
    expect(err.details?.kind).toBe('VirtualMachine');
    expect(err.details?.causes).toEqual([
      { reason: 'FieldValueInvalid', field: 'spec.template.spec.nodeSelecter', message: 'unknown field "spec.template.spec.nodeSelecter"' },
    ]);
    expect(err.message).toBe(
      'VirtualMachine.kubevirt.io "vm-typo" is invalid: spec.template.spec.nodeSelecter: unknown field "spec.template.spec.nodeSelecter"',
    );
    expect(c.emu.store.get('virtualmachines.kubevirt.io', NS, 'vm-typo')).toBeUndefined();
  });

  test('fieldValidation=Ignore drops the unknown field instead', async () => {
    const vm = minimalVm('vm-ignore', NS);
    (vm.spec as Json).extra = true;
    const created = (await c.custom.createNamespacedCustomObject(vmApi({ body: vm, fieldValidation: 'Ignore' }))) as Json;
    expect((created.spec as Json).extra).toBeUndefined();
  });

  test('fieldValidation=Warn drops the unknown field and answers a Warning header', async () => {
    const vm = minimalVm('vm-warn', NS);
    (vm.spec as Json).extra = true;
    const res = await fetch(`${c.emu.url}/apis/kubevirt.io/v1/namespaces/${NS}/virtualmachines?fieldValidation=Warn`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(vm),
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('warning')).toBe('299 - "unknown field \\"spec.extra\\""');
    expect(((await res.json()) as Json & { spec: Json }).spec.extra).toBeUndefined();
  });

  test('a disk without a volume is rejected like the KubeVirt webhook does', async () => {
    const vm = minimalVm('vm-nodisk', NS);
    ((vm.spec as Json).template as Json).spec = { ...(((vm.spec as Json).template as Json).spec as Json), volumes: [] };
    const err = await expectApiError(c.custom.createNamespacedCustomObject(vmApi({ body: vm })), 422);
    expect(err.details?.causes?.map((x) => x.field)).toEqual([
      'spec.template.spec.domain.devices.disks[0].name',
      'spec.template.spec.domain.devices.disks[1].name',
    ]);
  });

  test('replace with a stale resourceVersion is 409 Conflict; spec changes bump generation, status is kept', async () => {
    const vm = (await c.custom.createNamespacedCustomObject(vmApi({ body: minimalVm('vm-rv', NS) }))) as Json;
    const next = structuredClone(vm);
    (next.spec as Json).runStrategy = 'Always';
    next.status = { printableStatus: 'Running' };
    const replaced = (await c.custom.replaceNamespacedCustomObject(vmApi({ name: 'vm-rv', body: next }))) as Json;
    expect((replaced.metadata as Json).generation).toBe(2);
    expect(replaced.status).toBeUndefined();
    const err = await expectApiError(c.custom.replaceNamespacedCustomObject(vmApi({ name: 'vm-rv', body: vm })), 409);
    expect(err.reason).toBe('Conflict');
    expect(err.message).toContain('the object has been modified; please apply your changes to the latest version and try again');
  });

  test('json, merge and strategic merge patches apply; the status subresource only writes status', async () => {
    await c.custom.createNamespacedCustomObject(vmApi({ body: minimalVm('vm-patch', NS) }));
    const json = (await c.custom.patchNamespacedCustomObject(
      vmApi({ name: 'vm-patch', body: [{ op: 'replace', path: '/spec/runStrategy', value: 'Always' }] }),
    )) as Json;
    expect((json.spec as Json).runStrategy).toBe('Always');
    const merged = (await c.custom.patchNamespacedCustomObject(
      vmApi({ name: 'vm-patch', body: { metadata: { labels: { a: 'b' } } } }),
      mergePatch,
    )) as Json;
    expect((merged.metadata as Json).labels).toEqual({ 'labplane.io/tenant': NS, a: 'b' });
    const smp = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch);
    const strategic = (await c.custom.patchNamespacedCustomObject(
      vmApi({ name: 'vm-patch', body: { metadata: { labels: { a: null } } } }),
      smp,
    )) as Json;
    expect((strategic.metadata as Json).labels).toEqual({ 'labplane.io/tenant': NS });
    const status = (await c.custom.patchNamespacedCustomObjectStatus(
      vmApi({ name: 'vm-patch', body: { spec: { runStrategy: 'Halted' }, status: { printableStatus: 'Running', ready: true } } }),
      mergePatch,
    )) as Json;
    expect(status.status).toEqual({ printableStatus: 'Running', ready: true });
    expect((status.spec as Json).runStrategy).toBe('Always');
    const badStatus = await expectApiError(
      c.custom.patchNamespacedCustomObjectStatus(vmApi({ name: 'vm-patch', body: { status: { printableStatuss: 'x' } } }), mergePatch),
      422,
    );
    expect(badStatus.details?.causes?.[0]?.field).toBe('status.printableStatuss');
    const failedTest = await expectApiError(
      c.custom.patchNamespacedCustomObject(vmApi({ name: 'vm-patch', body: [{ op: 'test', path: '/spec/runStrategy', value: 'Manual' }] })),
      422,
    );
    expect(failedTest.reason).toBe('Invalid');
  });

  test('a patch carrying an old resourceVersion is 409 Conflict', async () => {
    const vm = (await c.custom.createNamespacedCustomObject(vmApi({ body: minimalVm('vm-patch-rv', NS) }))) as Json;
    await c.custom.patchNamespacedCustomObject(vmApi({ name: 'vm-patch-rv', body: { metadata: { labels: { x: 'y' } } } }), mergePatch);
    const body = { metadata: { resourceVersion: (vm.metadata as Json).resourceVersion, labels: { x: 'z' } } };
    await expectApiError(c.custom.patchNamespacedCustomObject(vmApi({ name: 'vm-patch-rv', body }), mergePatch), 409);
  });

  test('all-namespaces list includes VMs from every namespace with kind/apiVersion on items', async () => {
    await createNamespace(c, 'crud-other');
    await c.custom.createNamespacedCustomObject({ ...KUBEVIRT, namespace: 'crud-other', body: minimalVm('vm-x', 'crud-other') });
    const list = (await c.custom.listClusterCustomObject(KUBEVIRT)) as { kind: string; items: Json[] };
    expect(list.kind).toBe('VirtualMachineList');
    const namespaces = new Set(list.items.map((i) => (i.metadata as Json).namespace));
    expect(namespaces).toEqual(new Set([NS, 'crud-other']));
    expect(list.items.every((i) => i.kind === 'VirtualMachine')).toBe(true);
  });
});

describe('networking and RBAC', () => {
  test('a NetworkPolicy with a bad policy type or CIDR is 422; a valid one is stored with generation 1', async () => {
    const bad = await expectApiError(
      c.net.createNamespacedNetworkPolicy({ namespace: NS, body: { metadata: { name: 'deny' }, spec: { podSelector: {}, policyTypes: ['Egres'] } } }),
      422,
    );
    expect(bad.details?.causes?.[0]).toMatchObject({ field: 'spec.policyTypes[0]', reason: 'FieldValueNotSupported' });
    const cidr = await expectApiError(
      c.net.createNamespacedNetworkPolicy({
        namespace: NS,
        body: { metadata: { name: 'imds' }, spec: { podSelector: {}, egress: [{ to: [{ ipBlock: { cidr: '169.254.169.254' } }] }] } },
      }),
      422,
    );
    expect(cidr.details?.causes?.[0]?.field).toBe('spec.egress[0].to[0].ipBlock.cidr');
    const ok = await c.net.createNamespacedNetworkPolicy({
      namespace: NS,
      body: {
        metadata: { name: 'imds' },
        spec: { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['169.254.169.254/32'] } }] }] },
      },
    });
    expect(ok.metadata?.generation).toBe(1);
  });

  test('RoleBinding subjects need the right apiGroup and roleRef cannot change', async () => {
    const roleRef = { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' };
    const bad = await expectApiError(
      c.rbac.createNamespacedRoleBinding({ namespace: NS, body: { metadata: { name: 'rb' }, roleRef, subjects: [{ kind: 'User', name: 'alice' }] } }),
      422,
    );
    expect(bad.details?.causes?.[0]).toMatchObject({ field: 'subjects[0].apiGroup', reason: 'FieldValueNotSupported' });
    const rb = await c.rbac.createNamespacedRoleBinding({
      namespace: NS,
      body: { metadata: { name: 'rb' }, roleRef, subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'alice' }] },
    });
    const changed = await expectApiError(
      c.rbac.replaceNamespacedRoleBinding({ namespace: NS, name: 'rb', body: { ...rb, roleRef: { ...roleRef, name: 'admin' } } }),
      422,
    );
    expect(changed.details?.causes?.[0]?.field).toBe('roleRef');
    const cluster = await c.rbac.createClusterRoleBinding({
      body: { metadata: { name: 'system:labplane' }, roleRef, subjects: [{ kind: 'ServiceAccount', name: 'sa', namespace: NS }] },
    });
    expect(cluster.metadata?.name).toBe('system:labplane');
  });
});
