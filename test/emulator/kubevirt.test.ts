import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createVmLifecycleController, schemaValidatorFor } from '../../src/adapters/sim/kube-emulator/index.js';
import type { Cluster } from './support.js';
import { createNamespace, eventually, KUBEVIRT, minimalVm, startCluster } from './support.js';

type Json = Record<string, unknown>;
let c: Cluster;
const NS = 'kv';

beforeAll(async () => {
  c = await startCluster();
  await createNamespace(c, NS);
});
afterAll(async () => {
  await c.emu.close();
});

async function action(cluster: Cluster, name: string, verb: string, body?: Json): Promise<{ status: number; body: Json | undefined }> {
  const res = await fetch(`${cluster.emu.url}/apis/subresources.kubevirt.io/v1/namespaces/${NS}/virtualmachines/${name}/${verb}`, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/json', Authorization: 'Bearer anything' },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Json) : undefined };
}

const runStrategy = (cluster: Cluster, name: string): unknown =>
  (cluster.emu.store.get('virtualmachines.kubevirt.io', NS, name)?.spec as Json | undefined)?.runStrategy;

describe('KubeVirt VM actions (subresources.kubevirt.io)', () => {
  test('start and stop flip runStrategy with 202, and answer 409 when already in that state', async () => {
    await c.custom.createNamespacedCustomObject({ ...KUBEVIRT, namespace: NS, body: minimalVm('act', NS) });
    expect((await action(c, 'act', 'start')).status).toBe(202);
    expect(runStrategy(c, 'act')).toBe('Always');
    const again = await action(c, 'act', 'start');
    expect(again.status).toBe(409);
    expect(again.body?.message).toBe(
      'Operation cannot be fulfilled on virtualmachine.kubevirt.io "act": Always does not support manual start requests',
    );
    expect((await action(c, 'act', 'restart')).status).toBe(202);
    expect(runStrategy(c, 'act')).toBe('Always');
    expect((await action(c, 'act', 'stop', { gracePeriod: 0 })).status).toBe(202);
    expect(runStrategy(c, 'act')).toBe('Halted');
    expect((await action(c, 'act', 'stop')).status).toBe(409);
    const calls = c.emu.vmActions.calls.filter((x) => x.name === 'act').map((x) => x.action);
    expect(calls).toEqual(['start', 'start', 'restart', 'stop', 'stop']);
    expect(c.emu.vmActions.calls.find((x) => x.action === 'stop')?.body).toEqual({ gracePeriod: 0 });
  });

  test('migrate creates a VirtualMachineInstanceMigration for the VM', async () => {
    await c.custom.createNamespacedCustomObject({
      ...KUBEVIRT,
      namespace: NS,
      body: { ...minimalVm('mig', NS), spec: { ...(minimalVm('mig', NS).spec as Json), runStrategy: 'Always' } },
    });
    expect((await action(c, 'mig', 'migrate', {})).status).toBe(202);
    const migrations = (await c.custom.listNamespacedCustomObject({
      group: 'kubevirt.io',
      version: 'v1',
      plural: 'virtualmachineinstancemigrations',
      namespace: NS,
    })) as { items: Json[] };
    expect(migrations.items).toHaveLength(1);
    expect(migrations.items[0]?.spec).toEqual({ vmiName: 'mig' });
    expect(String((migrations.items[0]?.metadata as Json).name)).toMatch(/^kubevirt-migrate-vm-/);
  });

  test('an action on a missing VM is 404, and unknown actions are 404 too', async () => {
    const res = await action(c, 'ghost', 'start');
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ reason: 'NotFound', message: 'virtualmachine.kubevirt.io "ghost" not found' });
    expect((await action(c, 'act', 'pause-forever')).status).toBe(404);
  });

  test('handlers can be replaced by controllers', async () => {
    const seen: string[] = [];
    const previous = c.emu.vmActions.set('restart', (call, vm, store) => {
      seen.push(`${call.namespace}/${String(vm.metadata.name)}`);
      previous(call, vm, store);
    });
    await c.custom.createNamespacedCustomObject({
      ...KUBEVIRT,
      namespace: NS,
      body: { ...minimalVm('hook', NS), spec: { ...(minimalVm('hook', NS).spec as Json), runStrategy: 'Always' } },
    });
    expect((await action(c, 'hook', 'restart')).status).toBe(202);
    expect(seen).toEqual([`${NS}/hook`]);
    c.emu.vmActions.set('restart', previous);
  });
});

describe('VM lifecycle controller (opt-in)', () => {
  test('runStrategy drives a VMI and the VM printableStatus; a full quota blocks the VMI', async () => {
    const sim = await startCluster({ controllers: [createVmLifecycleController()] });
    try {
      await createNamespace(sim, NS);
      await sim.custom.createNamespacedCustomObject({ ...KUBEVIRT, namespace: NS, body: minimalVm('life', NS) });
      await eventually(() =>
        (sim.emu.store.get('virtualmachines.kubevirt.io', NS, 'life')?.status as Json | undefined)?.printableStatus === 'Stopped' ? true : undefined,
      );
      expect((await action(sim, 'life', 'start')).status).toBe(202);
      const vmi = await eventually(() => sim.emu.store.get('virtualmachineinstances.kubevirt.io', NS, 'life'));
      expect(vmi.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'VirtualMachine', name: 'life', controller: true });
      expect((vmi.status as Json).phase).toBe('Running');
      const running = await eventually(() => {
        const vm = sim.emu.store.get('virtualmachines.kubevirt.io', NS, 'life');
        return (vm?.status as Json | undefined)?.printableStatus === 'Running' ? vm : undefined;
      });
      const validator = schemaValidatorFor();
      expect(validator.validate({ doc: 'kubevirt', definition: 'v1.VirtualMachine' }, running).causes).toEqual([]);
      expect(validator.validate({ doc: 'kubevirt', definition: 'v1.VirtualMachineInstance' }, vmi).causes).toEqual([]);
      expect((await action(sim, 'life', 'stop')).status).toBe(202);
      await eventually(() => (sim.emu.store.get('virtualmachineinstances.kubevirt.io', NS, 'life') ? undefined : true));

      await sim.core.createNamespacedResourceQuota({ namespace: NS, body: { metadata: { name: 'tight' }, spec: { hard: { 'requests.cpu': '1' } } } });
      expect((await action(sim, 'life', 'start')).status).toBe(202);
      const status = await eventually(() => {
        const s = sim.emu.store.get('virtualmachines.kubevirt.io', NS, 'life')?.status as Json | undefined;
        return Array.isArray(s?.conditions) && s.conditions.length > 0 && (s.conditions[0] as Json).type === 'Failure' ? s : undefined;
      });
      expect(((status.conditions as Json[])[0] as Json).message).toContain('exceeded quota: tight');
      expect(sim.emu.store.get('virtualmachineinstances.kubevirt.io', NS, 'life')).toBeUndefined();
    } finally {
      await sim.emu.close();
    }
  });
});

describe('discovery', () => {
  test('/version, /api, /apis and APIResourceLists describe the served resources', async () => {
    const get = async (path: string): Promise<Json> => (await (await fetch(`${c.emu.url}${path}`)).json()) as Json;
    expect((await get('/version')).major).toBe('1');
    expect((await get('/api')).versions).toEqual(['v1']);
    const groups = ((await get('/apis')).groups as Json[]).map((g) => g.name);
    expect(groups).toEqual(
      expect.arrayContaining([
        'kubevirt.io',
        'cdi.kubevirt.io',
        'networking.k8s.io',
        'rbac.authorization.k8s.io',
        'labplane.io',
        'subresources.kubevirt.io',
      ]),
    );
    const kv = (await get('/apis/kubevirt.io/v1')).resources as Json[];
    expect(kv.find((r) => r.name === 'virtualmachines')).toMatchObject({ kind: 'VirtualMachine', namespaced: true, singularName: 'virtualmachine' });
    expect(kv.map((r) => r.name)).toContain('virtualmachines/status');
    const core = (await get('/api/v1')).resources as Json[];
    expect(core.find((r) => r.name === 'namespaces')).toMatchObject({ namespaced: false, kind: 'Namespace' });
    expect(core.find((r) => r.name === 'pods')?.verbs).toEqual(['get', 'list', 'watch']);
    const sub = (await get('/apis/subresources.kubevirt.io/v1')).resources as Json[];
    expect(sub.map((r) => r.name)).toEqual([
      'virtualmachines/start',
      'virtualmachines/stop',
      'virtualmachines/restart',
      'virtualmachines/migrate',
      'virtualmachineinstances/userlist',
      'virtualmachineinstances/vnc',
      'virtualmachineinstances/console',
    ]);
  });

  test('KubernetesObjectApi resolves resources through discovery and supports server-side apply', async () => {
    const client = k8s.KubernetesObjectApi.makeApiClient(c.kc);
    const spec = { template: { image: { scope: 'platform', name: 'ubuntu-24-04' }, cpu: 1, memoryGi: 2, diskGi: 10, storageClass: 'kv-standard' } };
    await client.create({
      apiVersion: 'labplane.io/v1alpha1',
      kind: 'Lab',
      metadata: { name: 'course-101', namespace: NS },
      spec,
    } as k8s.KubernetesObject);
    const lab = (await client.read({
      apiVersion: 'labplane.io/v1alpha1',
      kind: 'Lab',
      metadata: { name: 'course-101', namespace: NS },
    })) as k8s.KubernetesObject & { spec: Json };
    expect(lab.spec).toMatchObject(spec);
    const applied = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'applied', namespace: NS }, stringData: { a: 'b' } };
    await client.patch(applied as k8s.KubernetesObject, undefined, undefined, 'labplane', true, k8s.PatchStrategy.ServerSideApply);
    const secret = await c.core.readNamespacedSecret({ namespace: NS, name: 'applied' });
    expect(secret.data).toEqual({ a: Buffer.from('b').toString('base64') });
    const vms = await client.list('kubevirt.io/v1', 'VirtualMachine', NS);
    expect(vms.items.length).toBeGreaterThan(0);
  });
});
