import type { V1Namespace } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { createKubeClient } from '../../src/adapters/kubernetes/kube-client.js';
import { loadKubeConfig } from '../../src/adapters/kubernetes/kube-config.js';
import { asPage, listOptions } from '../../src/adapters/kubernetes/kube-reads.js';
import { ObjectStore } from '../../src/adapters/kubernetes/object-store.js';
import { createResourceCache, type ResourceCache } from '../../src/adapters/kubernetes/resource-cache.js';
import { startKubeEmulator, type KubeEmulator } from '../../src/adapters/sim/kube-emulator/index.js';
import { backoffMs } from '../../src/domain/shared/backoff.js';
import { rawClient, recordingLogger } from './support/kube-fixture.js';

type Obj = { metadata: { name: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string> } };
const obj = (namespace: string, name: string, rv: string, vm = ''): Obj => ({ metadata: { namespace, name, resourceVersion: rv, labels: { vm } } });

describe('the object store', () => {
  it('files objects under each indexer and moves them when they change', () => {
    const store = new ObjectStore<Obj>({ vm: (o) => [o.metadata.labels?.['vm'] ?? ''] });
    store.upsert(obj('t1', 'm1', '1', 'a'));
    store.upsert(obj('t1', 'm2', '2', 'a'));
    store.upsert(obj('t2', 'm3', '3', 'b'));
    expect(
      store
        .byIndex('vm', 'a')
        .map((o) => o.metadata.name)
        .sort(),
    ).toEqual(['m1', 'm2']);
    expect(store.list('t1')).toHaveLength(2);
    store.upsert(obj('t1', 'm2', '4', 'b'));
    expect(store.byIndex('vm', 'a').map((o) => o.metadata.name)).toEqual(['m1']);
    expect(
      store
        .byIndex('vm', 'b')
        .map((o) => o.metadata.name)
        .sort(),
    ).toEqual(['m2', 'm3']);
    store.remove(obj('t1', 'm1', '5'));
    expect(store.byIndex('vm', 'a')).toEqual([]);
    expect(store.list('t1').map((o) => o.metadata.name)).toEqual(['m2']);
  });

  it('says what changed, and nothing for a version it already holds', () => {
    const store = new ObjectStore<Obj>();
    expect(store.upsert(obj('t', 'a', '1'))).toMatchObject({ type: 'add' });
    expect(store.upsert(obj('t', 'a', '1'))).toBeUndefined();
    expect(store.upsert(obj('t', 'a', '2'))).toMatchObject({ type: 'update' });
    expect(store.remove(obj('t', 'a', '3'))).toMatchObject({ type: 'delete' });
    expect(store.remove(obj('t', 'a', '3'))).toBeUndefined();
  });

  it('a relist reports adds, updates and deletes as a watch would', () => {
    const store = new ObjectStore<Obj>();
    store.upsert(obj('t', 'kept', '1'));
    store.upsert(obj('t', 'changed', '2'));
    store.upsert(obj('t', 'gone', '3'));
    const changes = store.replace([obj('t', 'kept', '1'), obj('t', 'changed', '5'), obj('t', 'new', '6')], '6');
    expect(changes.map((c) => `${c.type} ${c.obj.metadata.name}`).sort()).toEqual(['add new', 'delete gone', 'update changed']);
  });
});

describe('list pages', () => {
  it('an empty continue token ends the list, in either client’s spelling', () => {
    expect(asPage({ items: [1], metadata: { continue: '' } }).metadata).toEqual({});
    expect(asPage({ items: [1], metadata: { _continue: '' } }).metadata).toEqual({});
    expect(asPage({ items: [], metadata: { continue: 'abc', resourceVersion: '7' } }).metadata).toEqual({ _continue: 'abc', resourceVersion: '7' });
    expect(asPage(undefined)).toEqual({ items: [], metadata: {} });
  });
});

describe('backoff with jitter', () => {
  it('grows exponentially up to the cap, spread by the random source', () => {
    const opts = { baseMs: 100, maxMs: 1000 };
    expect([0, 1, 2, 3, 4, 10].map((a) => backoffMs(a, opts, () => 0.999999))).toEqual([99, 199, 399, 799, 999, 999]);
    expect(backoffMs(3, opts, () => 0)).toBe(0);
    expect(backoffMs(3, { ...opts, jitter: 'equal' }, () => 0)).toBe(400);
    expect(backoffMs(3, { ...opts, jitter: 'equal' }, () => 0.5)).toBe(600);
  });

  it('two clients that failed together do not retry in lockstep', () => {
    const a = backoffMs(5, { baseMs: 250, maxMs: 30_000, jitter: 'equal' }, () => 0.1);
    const b = backoffMs(5, { baseMs: 250, maxMs: 30_000, jitter: 'equal' }, () => 0.9);
    expect(a).not.toBe(b);
  });
});

describe('a resource cache against a real-protocol API server', () => {
  let em: KubeEmulator | undefined;
  let cache: ResourceCache<V1Namespace> | undefined;
  afterEach(async () => {
    await cache?.stop();
    await em?.close();
    cache = undefined;
    em = undefined;
  });

  it('relists every resyncMs even while the watch is healthy, and tells listeners each change once', async () => {
    em = await startKubeEmulator();
    const logger = recordingLogger();
    const client = createKubeClient({ kubeConfig: loadKubeConfig({ server: em.url }), logger, timeoutMs: 2000 });
    const c = createResourceCache<V1Namespace>({
      client,
      name: 'namespaces',
      kind: 'Namespace',
      path: '/api/v1/namespaces',
      labelSelector: 'test=resync',
      api: { list: (q) => client.core.listNamespace(listOptions(q)), read: (_, name) => client.core.readNamespace({ name }) },
      resyncMs: 100,
    });
    cache = c;
    const told: string[] = [];
    c.subscribe((type, ns) => told.push(`${type} ${ns.metadata?.name ?? ''}`));
    c.start();
    await c.whenSynced;
    const res = await rawClient(em.url).post('/api/v1/namespaces', { metadata: { name: 'resync-1', labels: { test: 'resync' } } });
    expect(res.status).toBe(201);
    const listed = () => logger.lines.filter((l) => l.msg === 'kubernetes informer listed').length;
    await expect.poll(listed, { timeout: 5000, interval: 20 }).toBeGreaterThanOrEqual(3);
    expect(told).toEqual(['add resync-1']);
    expect((await c.list()).map((n) => n.metadata?.name)).toEqual(['resync-1']);
  });
});
