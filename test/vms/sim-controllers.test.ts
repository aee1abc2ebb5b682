import { afterEach, describe, expect, it } from 'vitest';
import { virtualMachineObject } from '../../src/adapters/kubernetes/vm-objects.js';
import {
  createMigrationController,
  createVmLifecycleController,
  seededNodeName,
  type KubeObject,
} from '../../src/adapters/sim/kube-emulator/index.js';
import type { VmSpec } from '../../src/domain/vms/vm.js';
import { createNamespace, startCluster, type Cluster } from '../emulator/support.js';
import { manualScheduler, type ManualScheduler } from '../support/manual-scheduler.js';
import { DV, VM, VMI } from './support.js';

const NS = 'sim';
const VMIM = 'virtualmachineinstancemigrations.kubevirt.io';
// The controllers run on a manual scheduler: each step below is one move of time, and "not yet"
// is asserted by moving time to just before a step, without sleeping.
let c: Cluster | undefined;
let time: ManualScheduler;
afterEach(async () => {
  await c?.emu.close();
  c = undefined;
});

type Json = Record<string, any>;
const spec = (name: string, extra: Partial<VmSpec> = {}): VmSpec => ({
  tenant: NS,
  name,
  id: `id-${name}`,
  ownerId: 'olga',
  image: { scope: 'platform', name: 'img' },
  source: { namespace: 'images', pvcName: 'img' },
  cpu: 1,
  memoryGi: 2,
  diskGi: 10,
  storageClass: 'kv-standard',
  arc: false,
  running: true,
  labels: {},
  ...extra,
});

async function cluster(opts: { provisionMs?: number; startMs?: number; stopMs?: number; phaseMs?: number } = {}): Promise<Cluster> {
  time = manualScheduler();
  c = await startCluster({
    controllers: [
      createVmLifecycleController({ provisionMs: opts.provisionMs ?? 0, startMs: opts.startMs ?? 0, stopMs: opts.stopMs ?? 0, scheduler: time }),
      createMigrationController({ phaseMs: opts.phaseMs ?? 0, scheduler: time }),
    ],
  });
  await createNamespace(c, NS);
  await createNamespace(c, 'images');
  await c.core.createNamespacedPersistentVolumeClaim({
    namespace: 'images',
    body: { metadata: { name: 'img' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '10Gi' } } } },
  });
  return c;
}

async function createVm(cl: Cluster, s: VmSpec): Promise<void> {
  await cl.custom.createNamespacedCustomObject({
    group: 'kubevirt.io',
    version: 'v1',
    plural: 'virtualmachines',
    namespace: NS,
    body: virtualMachineObject(s),
  });
}

/** Records every printableStatus a VM goes through. */
function watchStatuses(cl: Cluster, name: string): string[] {
  const seen: string[] = [];
  cl.emu.store.subscribe(VM, (ev) => {
    const ps = (ev.object.status as Json | undefined)?.printableStatus;
    if (ev.object.metadata.name === name && typeof ps === 'string' && seen.at(-1) !== ps) seen.push(ps);
  });
  return seen;
}

const status = (cl: Cluster, name: string): Json => (cl.emu.store.get(VM, NS, name)?.status ?? {}) as Json;
const condition = (obj: KubeObject | undefined, type: string): Json | undefined =>
  ((obj?.status as Json | undefined)?.conditions as Json[] | undefined)?.find((x) => x.type === type);

describe('simulated virt-controller', () => {
  it('a VM goes Provisioning (the disk clones with progress) → Starting → Running, and Stopping → Stopped', async () => {
    const cl = await cluster({ provisionMs: 200, startMs: 150, stopMs: 100 });
    const seen = watchStatuses(cl, 'v1');
    const progress: string[] = [];
    cl.emu.store.subscribe(DV, (ev) => progress.push(String((ev.object.status as Json | undefined)?.progress)));
    await createVm(cl, spec('v1'));
    time.advance(0);
    expect(seen).toEqual(['Provisioning']);
    time.advance(199);
    expect(seen).toEqual(['Provisioning']);
    time.advance(1);
    expect(seen).toEqual(['Provisioning', 'Starting']);
    time.advance(149);
    expect(seen).toEqual(['Provisioning', 'Starting']);
    time.advance(1);
    expect(seen).toEqual(['Provisioning', 'Starting', 'Running']);
    expect(progress[0]).toBe('0.00%');
    expect(progress.at(-1)).toBe('100.0%');
    expect(progress.length).toBeGreaterThan(3);
    expect(cl.emu.store.list(DV, { namespace: NS })[0]?.status).toMatchObject({ phase: 'Succeeded' });
    const vm = cl.emu.store.get(VM, NS, 'v1') as KubeObject;
    vm.spec = { ...(vm.spec as Json), runStrategy: 'Halted' };
    delete vm.metadata.resourceVersion;
    cl.emu.store.update(VM, vm);
    time.advance(99);
    expect(seen.slice(3)).toEqual(['Stopping']);
    expect(cl.emu.store.get(VMI, NS, 'v1')).toBeDefined();
    time.advance(1);
    expect(seen.slice(3)).toEqual(['Stopping', 'Stopped']);
    expect(cl.emu.store.get(VMI, NS, 'v1')).toBeUndefined();
  });

  it('a missing clone source, or a disk the quota does not admit, is DataVolumeError with the reason; a raised quota lets it through', async () => {
    const cl = await cluster();
    await createVm(cl, spec('lost', { source: { namespace: 'images', pvcName: 'nope' } }));
    time.advance(0);
    expect(status(cl, 'lost').printableStatus).toBe('DataVolumeError');
    expect(condition(cl.emu.store.get(VM, NS, 'lost'), 'DataVolumesReady')?.message).toContain('clone source');
    await cl.core.createNamespacedResourceQuota({ namespace: NS, body: { metadata: { name: 'q' }, spec: { hard: { 'requests.storage': '5Gi' } } } });
    await createVm(cl, spec('big'));
    time.advance(0);
    expect(status(cl, 'big').printableStatus).toBe('DataVolumeError');
    expect(condition(cl.emu.store.get(VM, NS, 'big'), 'Failure')?.message).toContain('exceeded quota: q');
    await cl.core.replaceNamespacedResourceQuota({
      namespace: NS,
      name: 'q',
      body: { metadata: { name: 'q' }, spec: { hard: { 'requests.storage': '50Gi' } } },
    });
    time.advance(0);
    expect(status(cl, 'big').printableStatus).toBe('Running');
  });

  it('LiveMigratable is False unless every disk is ReadWriteMany (kv-standard counts as RWX when no access modes are given)', async () => {
    const cl = await cluster();
    await createVm(cl, spec('rwx'));
    await createVm(cl, spec('rwo', { storageClass: 'kv-premium-retain' }));
    time.advance(0);
    const rwx = cl.emu.store.get(VMI, NS, 'rwx');
    const rwo = cl.emu.store.get(VMI, NS, 'rwo');
    expect(condition(rwx, 'LiveMigratable')).toMatchObject({ status: 'True' });
    expect(condition(rwo, 'LiveMigratable')).toMatchObject({ status: 'False', reason: 'DisksNotLiveMigratable' });
  });

  it('VMIs go to the least loaded schedulable KubeVirt node', async () => {
    const cl = await cluster();
    const node = cl.emu.store.get('nodes', undefined, seededNodeName(2)) as KubeObject;
    node.spec = { ...(node.spec as Json), unschedulable: true };
    delete node.metadata.resourceVersion;
    cl.emu.store.update('nodes', node);
    for (const n of ['p1', 'p2', 'p3', 'p4']) await createVm(cl, spec(n));
    time.advance(0);
    const nodes = cl.emu.store
      .list(VMI, { namespace: NS })
      .map((v) => (v.status as Json).nodeName as string)
      .sort();
    expect(nodes).toEqual([seededNodeName(0), seededNodeName(0), seededNodeName(1), seededNodeName(1)]);
  });
});

describe('simulated migration controller', () => {
  it('a migration passes its phases, runs a target pod that counts against the quota, and moves the VMI', async () => {
    const cl = await cluster({ phaseMs: 40 });
    await cl.core.createNamespacedResourceQuota({
      namespace: NS,
      body: { metadata: { name: 'q' }, spec: { hard: { 'requests.cpu': '10', pods: '10' } } },
    });
    await createVm(cl, spec('m1'));
    time.advance(0);
    const vmi = cl.emu.store.get(VMI, NS, 'm1') as KubeObject;
    const from = (vmi.status as Json).nodeName as string;
    const phases: string[] = [];
    const vmStatuses = watchStatuses(cl, 'm1');
    let podCpu = '';
    cl.emu.store.subscribe(VMIM, (ev) => {
      const phase = (ev.object.status as Json | undefined)?.phase;
      if (typeof phase === 'string' && phases.at(-1) !== phase) phases.push(phase);
      if (phase === 'Running')
        podCpu = String(((cl.emu.store.get('resourcequotas', NS, 'q')?.status as Json | undefined)?.used as Json | undefined)?.['requests.cpu']);
    });
    await cl.custom.createNamespacedCustomObject({
      group: 'kubevirt.io',
      version: 'v1',
      plural: 'virtualmachineinstancemigrations',
      namespace: NS,
      body: { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachineInstanceMigration', metadata: { name: 'mig-1' }, spec: { vmiName: 'm1' } },
    });
    await time.advanceAsync(6 * 40);
    expect(phases.at(-1)).toBe('Running');
    await time.advanceAsync(40);
    expect(phases).toEqual(['Pending', 'Scheduling', 'Scheduled', 'PreparingTarget', 'TargetReady', 'Running', 'Succeeded']);
    expect(podCpu).toBe('2');
    expect(vmStatuses).toContain('Migrating');
    const moved = cl.emu.store.get(VMI, NS, 'm1');
    expect((moved?.status as Json).nodeName).not.toBe(from);
    expect((moved?.status as Json).migrationState).toMatchObject({ completed: true, sourceNode: from });
    expect(cl.emu.store.list('pods', { namespace: NS })).toEqual([]);
    time.advance(0);
    expect(status(cl, 'm1').printableStatus).toBe('Running');
  });

  it('a migration fails when the quota has no room for the target pod, or the VMI is not live-migratable', async () => {
    const cl = await cluster();
    await cl.core.createNamespacedResourceQuota({ namespace: NS, body: { metadata: { name: 'q' }, spec: { hard: { 'requests.cpu': '1' } } } });
    await createVm(cl, spec('tight'));
    await createVm(cl, spec('rwo', { storageClass: 'kv-premium-retain', cpu: 1 }));
    time.advance(0);
    expect(cl.emu.store.get(VMI, NS, 'tight')).toBeDefined();
    const migrate = (name: string, vmi: string) =>
      cl.custom.createNamespacedCustomObject({
        group: 'kubevirt.io',
        version: 'v1',
        plural: 'virtualmachineinstancemigrations',
        namespace: NS,
        body: { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachineInstanceMigration', metadata: { name }, spec: { vmiName: vmi } },
      });
    await migrate('mig-tight', 'tight');
    time.advance(0);
    const failed = cl.emu.store.get(VMIM, NS, 'mig-tight') as KubeObject;
    expect((failed.status as Json).phase).toBe('Failed');
    expect(((failed.status as Json).migrationState as Json).failureReason).toContain('exceeded quota');
    await migrate('mig-none', 'ghost');
    time.advance(0);
    expect((cl.emu.store.get(VMIM, NS, 'mig-none')?.status as Json | undefined)?.phase).toBe('Failed');
  });
});
