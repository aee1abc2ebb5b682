import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Cluster } from './support.js';
import { CDI, createNamespace, eventually, expectApiError, KUBEVIRT, minimalVm, startCluster } from './support.js';

type Json = Record<string, unknown>;
let c: Cluster;
const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

beforeAll(async () => {
  c = await startCluster();
});
afterAll(async () => {
  await c.emu.close();
});

const studentHard = {
  'requests.cpu': '8',
  'requests.memory': '16Gi',
  'limits.cpu': '16',
  'limits.memory': '32Gi',
  persistentvolumeclaims: '5',
  'requests.storage': '100Gi',
  'count/virtualmachines.kubevirt.io': '2',
  pods: '10',
};

async function quotaNamespace(name: string, hard: Record<string, string> = studentHard): Promise<void> {
  await createNamespace(c, name);
  await c.core.createNamespacedResourceQuota({ namespace: name, body: { metadata: { name: 'tenant' }, spec: { hard } } });
}

async function used(ns: string): Promise<Record<string, string>> {
  const q = await c.core.readNamespacedResourceQuota({ namespace: ns, name: 'tenant' });
  return q.status?.used ?? {};
}

function vmi(name: string, ns: string, cpu: string, memory: string): Json {
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachineInstance',
    metadata: { name, namespace: ns },
    spec: {
      domain: { resources: { requests: { cpu, memory }, limits: { cpu, memory } }, devices: {} },
    },
  };
}

const VMI = { group: 'kubevirt.io', version: 'v1', plural: 'virtualmachineinstances' } as const;

describe('ResourceQuota', () => {
  test('status.hard mirrors spec.hard and status.used starts at zero', async () => {
    await quotaNamespace('q-status');
    const q = await eventually(async () => {
      const read = await c.core.readNamespacedResourceQuota({ namespace: 'q-status', name: 'tenant' });
      return read.status?.used ? read : undefined;
    });
    expect(q.status?.hard).toEqual(studentHard);
    expect(q.status?.used).toMatchObject({ 'requests.cpu': '0', pods: '0', persistentvolumeclaims: '0', 'count/virtualmachines.kubevirt.io': '0' });
  });

  test('usage counts PVCs, DataVolumes (as claims), VMs and VMI compute', async () => {
    const ns = 'q-usage';
    await quotaNamespace(ns);
    await c.core.createNamespacedPersistentVolumeClaim({
      namespace: ns,
      body: { metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '10Gi' } } } },
    });
    await c.custom.createNamespacedCustomObject({
      ...CDI,
      namespace: ns,
      body: {
        apiVersion: 'cdi.kubevirt.io/v1beta1',
        kind: 'DataVolume',
        metadata: { name: 'root' },
        spec: { source: { blank: {} }, storage: { resources: { requests: { storage: '20Gi' } } } },
      },
    });
    await c.custom.createNamespacedCustomObject({ ...KUBEVIRT, namespace: ns, body: minimalVm('vm1', ns) });
    await c.custom.createNamespacedCustomObject({ ...VMI, namespace: ns, body: vmi('vm1', ns, '1500m', '2Gi') });
    const u = await used(ns);
    expect(u).toMatchObject({
      'requests.storage': '30Gi',
      persistentvolumeclaims: '2',
      'count/virtualmachines.kubevirt.io': '1',
      pods: '1',
      'requests.cpu': '1500m',
      'limits.cpu': '1500m',
      'requests.memory': '2Gi',
      'limits.memory': '2Gi',
    });
  });

  test('a VMI that would exceed requests.cpu is 403 Forbidden with the real message and writes nothing', async () => {
    const ns = 'q-cpu';
    await quotaNamespace(ns);
    await c.custom.createNamespacedCustomObject({ ...VMI, namespace: ns, body: vmi('a', ns, '8', '4Gi') });
    const before = c.emu.store.resourceVersion();
    const err = await expectApiError(c.custom.createNamespacedCustomObject({ ...VMI, namespace: ns, body: vmi('b', ns, '2', '4Gi') }), 403);
    expect(err.reason).toBe('Forbidden');
    expect(err.message).toBe(
      'virtualmachineinstances.kubevirt.io "b" is forbidden: exceeded quota: tenant, requested: requests.cpu=2, used: requests.cpu=8, limited: requests.cpu=8',
    );
    expect(c.emu.store.get('virtualmachineinstances.kubevirt.io', ns, 'b')).toBeUndefined();
    expect(c.emu.store.resourceVersion()).toBe(before);
  });

  test('PVC count and storage are enforced, listing every exceeded resource', async () => {
    const ns = 'q-pvc';
    await quotaNamespace(ns, { persistentvolumeclaims: '1', 'requests.storage': '10Gi' });
    const pvc = (name: string, size: string) => ({
      metadata: { name },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: size } } },
    });
    await c.core.createNamespacedPersistentVolumeClaim({ namespace: ns, body: pvc('one', '8Gi') });
    const err = await expectApiError(c.core.createNamespacedPersistentVolumeClaim({ namespace: ns, body: pvc('two', '4Gi') }), 403);
    expect(err.message).toBe(
      'persistentvolumeclaims "two" is forbidden: exceeded quota: tenant, requested: persistentvolumeclaims=1,requests.storage=4Gi, used: persistentvolumeclaims=1,requests.storage=8Gi, limited: persistentvolumeclaims=1,requests.storage=10Gi',
    );
    const dv = {
      apiVersion: 'cdi.kubevirt.io/v1beta1',
      kind: 'DataVolume',
      metadata: { name: 'img' },
      spec: { source: { blank: {} }, storage: { resources: { requests: { storage: '1Gi' } } } },
    };
    await expectApiError(c.custom.createNamespacedCustomObject({ ...CDI, namespace: ns, body: dv }), 403);
  });

  test('the VM count is enforced', async () => {
    const ns = 'q-vms';
    await quotaNamespace(ns, { 'count/virtualmachines.kubevirt.io': '1' });
    await c.custom.createNamespacedCustomObject({ ...KUBEVIRT, namespace: ns, body: minimalVm('vm1', ns) });
    const err = await expectApiError(c.custom.createNamespacedCustomObject({ ...KUBEVIRT, namespace: ns, body: minimalVm('vm2', ns) }), 403);
    expect(err.message).toContain(
      'exceeded quota: tenant, requested: count/virtualmachines.kubevirt.io=1, used: count/virtualmachines.kubevirt.io=1, limited: count/virtualmachines.kubevirt.io=1',
    );
  });

  test('lowering spec.hard below usage is accepted; only writes that grow usage are then refused', async () => {
    const ns = 'q-lower';
    await quotaNamespace(ns);
    await c.custom.createNamespacedCustomObject({ ...VMI, namespace: ns, body: vmi('a', ns, '4', '4Gi') });
    const lowered = await c.core.patchNamespacedResourceQuota(
      { namespace: ns, name: 'tenant', body: { spec: { hard: { ...studentHard, 'requests.cpu': '2' } } } },
      mergePatch,
    );
    expect(lowered.spec?.hard?.['requests.cpu']).toBe('2');
    const q = await c.core.readNamespacedResourceQuota({ namespace: ns, name: 'tenant' });
    expect(q.status?.hard?.['requests.cpu']).toBe('2');
    expect(q.status?.used?.['requests.cpu']).toBe('4');
    await expectApiError(c.custom.createNamespacedCustomObject({ ...VMI, namespace: ns, body: vmi('b', ns, '100m', '1Gi') }), 403);
    await c.custom.deleteNamespacedCustomObject({ ...VMI, namespace: ns, name: 'a' });
    expect((await used(ns))['requests.cpu']).toBe('0');
  });

  test('a finished VMI (phase Succeeded) frees its compute', async () => {
    const ns = 'q-final';
    await quotaNamespace(ns);
    await c.custom.createNamespacedCustomObject({ ...VMI, namespace: ns, body: vmi('a', ns, '8', '4Gi') });
    await c.custom.patchNamespacedCustomObjectStatus({ ...VMI, namespace: ns, name: 'a', body: { status: { phase: 'Succeeded' } } }, mergePatch);
    expect((await used(ns))['requests.cpu']).toBe('0');
    await c.custom.createNamespacedCustomObject({ ...VMI, namespace: ns, body: vmi('b', ns, '8', '4Gi') });
  });
});
