import { afterEach, describe, expect, it } from 'vitest';
import { createDataVolumeController, type DataVolumeControllerOptions } from '../../src/adapters/sim/kube-emulator/datavolume-controller.js';
import { resourceByKey, schemaValidatorFor, type KubeObject } from '../../src/adapters/sim/kube-emulator/index.js';
import { CDI, createNamespace, eventually, startCluster, type Cluster } from '../emulator/support.js';
import { manualScheduler } from '../support/manual-scheduler.js';

const DV = 'datavolumes.cdi.kubevirt.io';
const PVC = 'persistentvolumeclaims';
const validator = schemaValidatorFor();
let c: Cluster | undefined;

afterEach(async () => {
  await c?.emu.close();
  c = undefined;
});

async function cluster(opts: DataVolumeControllerOptions = {}): Promise<Cluster> {
  c = await startCluster({ controllers: [createDataVolumeController({ importDurationMs: 200, phaseDelayMs: 20, tickMs: 20, ...opts })] });
  await createNamespace(c, 'imgs');
  return c;
}

function dataVolume(name: string, url: string, extra: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'cdi.kubevirt.io/v1beta1',
    kind: 'DataVolume',
    metadata: { name, namespace: 'imgs' },
    spec: { source: { http: { url } }, storage: { resources: { requests: { storage: '3Gi' } }, storageClassName: 'kv-standard' }, ...extra },
  };
}

const status = (cl: Cluster, name: string) => (cl.emu.store.get(DV, 'imgs', name)?.status ?? {}) as Record<string, unknown>;

function expectValid(resource: string, obj: KubeObject | undefined): void {
  expect(obj).toBeDefined();
  const res = validator.validate(resourceByKey(resource).schema, structuredClone(obj) as Record<string, unknown>);
  expect(res.causes).toEqual([]);
}

describe('simulated CDI (DataVolume controller)', () => {
  it('moves a DataVolume through Pending, ImportScheduled and ImportInProgress with rising progress to Succeeded', async () => {
    const cl = await cluster();
    const phases: string[] = [];
    const progress: string[] = [];
    const off = cl.emu.store.subscribe(DV, (ev) => {
      const s = (ev.object.status ?? {}) as Record<string, unknown>;
      if (typeof s.phase === 'string' && phases.at(-1) !== s.phase) phases.push(s.phase);
      if (typeof s.progress === 'string') progress.push(s.progress);
    });
    await cl.custom.createNamespacedCustomObject({ ...CDI, namespace: 'imgs', body: dataVolume('ok', 'https://images.example.com/ok.img') });
    await eventually(() => (status(cl, 'ok').phase === 'Succeeded' ? true : undefined));
    off();
    expect(phases).toEqual(['Pending', 'ImportScheduled', 'ImportInProgress', 'Succeeded']);
    const percents = progress.filter((p) => p !== 'N/A').map((p) => Number.parseFloat(p));
    expect(percents.length).toBeGreaterThan(2);
    expect([...percents].sort((a, b) => a - b)).toEqual(percents);
    expect(percents.at(-1)).toBe(100);
    expectValid(DV, cl.emu.store.get(DV, 'imgs', 'ok'));
  });

  it('creates the PVC on success: same name, requested size and class, Bound, owned by the DataVolume', async () => {
    const cl = await cluster();
    await cl.custom.createNamespacedCustomObject({ ...CDI, namespace: 'imgs', body: dataVolume('disk', 'https://images.example.com/disk.img') });
    const pvc = await eventually(() => cl.emu.store.get(PVC, 'imgs', 'disk'));
    expect(pvc.spec).toMatchObject({ resources: { requests: { storage: '3Gi' } }, storageClassName: 'kv-standard', accessModes: ['ReadWriteOnce'] });
    expect(pvc.status).toMatchObject({ phase: 'Bound', capacity: { storage: '3Gi' } });
    expect(pvc.metadata.ownerReferences?.[0]).toMatchObject({
      kind: 'DataVolume',
      name: 'disk',
      uid: cl.emu.store.get(DV, 'imgs', 'disk')?.metadata.uid,
    });
    expectValid(PVC, pvc);
    await cl.custom.deleteNamespacedCustomObject({ ...CDI, namespace: 'imgs', name: 'disk' });
    await eventually(() => (cl.emu.store.get(PVC, 'imgs', 'disk') === undefined ? true : undefined));
  });

  it('a source URL with sim-fail ends in phase Failed with the reason in the conditions, and no PVC', async () => {
    const cl = await cluster();
    await cl.custom.createNamespacedCustomObject({ ...CDI, namespace: 'imgs', body: dataVolume('bad', 'https://images.example.com/sim-fail.img') });
    await eventually(() => (status(cl, 'bad').phase === 'Failed' ? true : undefined));
    expect(JSON.stringify(status(cl, 'bad').conditions)).toContain('404 Not Found');
    expect(cl.emu.store.get(PVC, 'imgs', 'bad')).toBeUndefined();
    expectValid(DV, cl.emu.store.get(DV, 'imgs', 'bad'));
  });

  it('a source URL with sim-crash keeps the importer restarting: restartCount rises, the import never finishes', async () => {
    const cl = await cluster();
    await cl.custom.createNamespacedCustomObject({
      ...CDI,
      namespace: 'imgs',
      body: dataVolume('crash', 'https://images.example.com/sim-crash.img'),
    });
    await eventually(() => (Number(status(cl, 'crash').restartCount) >= 3 ? true : undefined));
    expect(status(cl, 'crash').phase).toBe('ImportInProgress');
    expect(JSON.stringify(status(cl, 'crash').conditions)).toContain('qcow2');
  });

  it('the outcome knob decides per DataVolume, and the import time is configurable', async () => {
    const time = manualScheduler();
    const outcome: DataVolumeControllerOptions['outcome'] = (dv) =>
      dv.metadata.name === 'nope' ? { type: 'fail', reason: 'Forbidden', message: 'access denied' } : { type: 'succeed' };
    const cl = await cluster({ importDurationMs: 60_000, outcome, scheduler: time });
    await cl.custom.createNamespacedCustomObject({ ...CDI, namespace: 'imgs', body: dataVolume('nope', 'https://images.example.com/a.img') });
    await cl.custom.createNamespacedCustomObject({ ...CDI, namespace: 'imgs', body: dataVolume('slow', 'https://images.example.com/b.img') });
    time.advance(100);
    expect(status(cl, 'nope').phase).toBe('Failed');
    expect(status(cl, 'slow').phase).toBe('ImportInProgress');
    time.advance(2_800); // 2.9 s of the 60 s import
    expect(status(cl, 'slow').phase).toBe('ImportInProgress');
    expect(Number.parseFloat(String(status(cl, 'slow').progress))).toBeLessThan(5);
    time.advance(60_000);
    expect(status(cl, 'slow').phase).toBe('Succeeded');
  });

  it('a pre-imported DataVolume is Succeeded with its PVC at once', async () => {
    const cl = await cluster({ importDurationMs: 60_000, preImported: ['imgs/golden'] });
    await cl.custom.createNamespacedCustomObject({ ...CDI, namespace: 'imgs', body: dataVolume('golden', 'https://images.example.com/g.img') });
    await eventually(() => (status(cl, 'golden').phase === 'Succeeded' ? true : undefined), 500);
    expect(cl.emu.store.get(PVC, 'imgs', 'golden')).toBeDefined();
  });

  it('a clone from a PVC goes through CloneScheduled and CloneInProgress', async () => {
    const cl = await cluster();
    const phases: string[] = [];
    const off = cl.emu.store.subscribe(DV, (ev) => {
      const p = (ev.object.status as Record<string, unknown> | undefined)?.phase;
      if (typeof p === 'string' && phases.at(-1) !== p) phases.push(p);
    });
    const body = dataVolume('copy', '');
    body.spec = { ...(body.spec as Record<string, unknown>), source: { pvc: { namespace: 'imgs', name: 'golden' } } };
    await cl.custom.createNamespacedCustomObject({ ...CDI, namespace: 'imgs', body });
    await eventually(() => (status(cl, 'copy').phase === 'Succeeded' ? true : undefined));
    off();
    expect(phases).toEqual(['Pending', 'CloneScheduled', 'CloneInProgress', 'Succeeded']);
  });
});
