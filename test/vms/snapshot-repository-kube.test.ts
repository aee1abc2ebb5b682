import { afterEach, describe, expect, it } from 'vitest';
import { cachedSupport, createKubeSnapshotRepository, type KubeSnapshotRepository } from '../../src/adapters/kubernetes/snapshot-repository.js';
import { snapshotObject } from '../../src/adapters/kubernetes/snapshot-objects.js';
import { SNAPSHOT_RESOURCES, startKubeEmulator, type KubeEmulator } from '../../src/adapters/sim/kube-emulator/index.js';
import type { SnapshotSupport } from '../../src/domain/vms/snapshot.js';
import { eventually } from '../support/eventually.js';
import { emulatorClient, rawClient } from '../kubernetes/support/kube-fixture.js';

const TENANT = 'cs-101';
const SNAPSHOT_API = '/apis/snapshot.kubevirt.io/';

describe('Kubernetes snapshot repository: lists from a watch', () => {
  let emulator: KubeEmulator | undefined;
  let repo: KubeSnapshotRepository | undefined;
  afterEach(async () => {
    await repo?.close();
    await emulator?.close();
    repo = undefined;
    emulator = undefined;
  });

  async function start(): Promise<{ emulator: KubeEmulator; repo: KubeSnapshotRepository }> {
    emulator = await startKubeEmulator();
    const res = await rawClient(emulator.url).post('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: TENANT } });
    if (res.status !== 201) throw new Error(`namespace: ${res.status}`);
    repo = createKubeSnapshotRepository({ client: emulatorClient(emulator.url), supportCacheMs: 60_000, watchRestartDelayMs: { min: 20, max: 200 } });
    return { emulator, repo };
  }

  const spec = (name: string, vm = 'web') => ({ tenant: TENANT, vm, name, sizeGi: 10, operationId: `op-${name}` });
  const gets = (em: KubeEmulator) => em.requestCount({ method: 'GET', pathPrefix: SNAPSHOT_API });

  it('sends nothing before the first list, and no request per list once the watch has listed', async () => {
    const { emulator: em, repo: r } = await start();
    expect(gets(em)).toBe(0);
    expect(await r.list(TENANT)).toEqual([]);
    // The watch's own list and watch request, then nothing more however often the tenant's snapshots are read.
    await eventually(() => expect(gets(em)).toBe(2));
    for (let i = 0; i < 20; i++) expect(await r.list(TENANT, 'web')).toEqual([]);
    expect(gets(em)).toBe(2);
  });

  it('our creates and deletes show at once; another client’s snapshot once the watch brings it', async () => {
    const { emulator: em, repo: r } = await start();
    await r.list(TENANT);
    await r.create(spec('before'));
    expect((await r.list(TENANT)).map((s) => [s.name, s.vm, s.sizeGi])).toEqual([['before', 'web', 10]]);

    em.store.create(SNAPSHOT_RESOURCES.snapshots, snapshotObject(spec('nightly', 'db')) as never);
    await eventually(async () => expect((await r.list(TENANT)).map((s) => s.name)).toEqual(['before', 'nightly']));
    expect((await r.list(TENANT, 'db')).map((s) => s.name)).toEqual(['nightly']);

    expect(await r.delete(TENANT, 'before')).toBe(true);
    expect((await r.list(TENANT)).map((s) => s.name)).toEqual(['nightly']);
  });

  it('a snapshot without the platform’s labels, or of another tenant’s label, is not listed', async () => {
    const { emulator: em, repo: r } = await start();
    await r.list(TENANT);
    const foreign = snapshotObject(spec('by-hand'));
    em.store.create(SNAPSHOT_RESOURCES.snapshots, { ...foreign, metadata: { ...foreign.metadata, labels: {} } } as never);
    const mislabeled = snapshotObject({ ...spec('moved'), tenant: 'cs-202' });
    em.store.create(SNAPSHOT_RESOURCES.snapshots, { ...mislabeled, metadata: { ...mislabeled.metadata, namespace: TENANT } } as never);
    await r.create(spec('ours'));
    // A labelled one written after them: once the watch brought it, it brought those before it too.
    em.store.create(SNAPSHOT_RESOURCES.snapshots, snapshotObject(spec('marker')) as never);
    await eventually(async () => expect((await r.list(TENANT)).map((s) => s.name)).toContain('marker'));
    // Both are in the namespace; neither is a snapshot of this tenant's as the platform labels them.
    expect((await r.list(TENANT)).map((s) => s.name)).toEqual(['marker', 'ours']);
  });
});

describe('cachedSupport', () => {
  const clock = { now: () => new Date(now) };
  let now = 0;

  /** An ask that answers when released (every ask under way at once), counting the asks. */
  function counted(answer: SnapshotSupport) {
    let asks = 0;
    let waiting: Array<() => void> = [];
    const ask = async () => {
      asks += 1;
      await new Promise<void>((resolve) => waiting.push(resolve));
      return answer;
    };
    const release = () => {
      for (const r of waiting) r();
      waiting = [];
    };
    return { ask, asks: () => asks, release };
  }

  it('callers while an ask is under way share it; an expired answer is asked again', async () => {
    const a = counted({ supported: true });
    const support = cachedSupport(a.ask, clock, 30_000);
    const answers = Array.from({ length: 10 }, () => support());
    a.release();
    expect(await Promise.all(answers)).toEqual(Array.from({ length: 10 }, () => ({ supported: true })));
    expect(a.asks()).toBe(1);
    expect(await support()).toEqual({ supported: true });
    expect(a.asks()).toBe(1);
    now += 30_000;
    const again = support();
    a.release();
    await again;
    expect(a.asks()).toBe(2);
  });

  it('with no caching every caller asks for itself', async () => {
    const a = counted({ supported: false, reason: 'off' });
    const support = cachedSupport(a.ask, clock, 0);
    const answers = [support(), support(), support()];
    a.release();
    expect(await Promise.all(answers)).toEqual(Array.from({ length: 3 }, () => ({ supported: false, reason: 'off' })));
    expect(a.asks()).toBe(3);
  });
});
