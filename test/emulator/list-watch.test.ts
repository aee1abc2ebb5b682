import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { KubeStatus } from '../../src/adapters/sim/kube-emulator/index.js';
import type { Cluster } from './support.js';
import { createNamespace, eventually, expectApiError, KUBEVIRT, minimalVm, startCluster } from './support.js';

type Json = Record<string, unknown>;
interface Seen {
  type: string;
  name: string;
  rv: number;
  obj: Json;
}

let c: Cluster;
const NS = 'watch';
const SEL = 'sel';
const VM_PATH = `/apis/kubevirt.io/v1/namespaces/${NS}/virtualmachines`;
const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

beforeAll(async () => {
  c = await startCluster({ bookmarkIntervalMs: 50 });
  await createNamespace(c, NS);
  await createNamespace(c, SEL);
  const labels: Record<string, Record<string, string>> = {
    a: { tier: 'web', env: 'prod' },
    b: { tier: 'web', env: 'dev' },
    c: { tier: 'db', env: 'prod', pii: 'true' },
    d: { tier: 'cache' },
    e: {},
  };
  for (const [name, l] of Object.entries(labels)) {
    await c.core.createNamespacedSecret({ namespace: SEL, body: { metadata: { name, labels: l } } });
  }
});
afterAll(async () => {
  await c.emu.close();
});

/** Starts a client-node Watch collecting events; `done` resolves with the error passed to done. */
async function watch(cluster: Cluster, path: string, query: Record<string, string | number | boolean>) {
  const events: Seen[] = [];
  let finish: (err: unknown) => void = () => undefined;
  const done = new Promise<unknown>((r) => (finish = r));
  const controller = await new k8s.Watch(cluster.kc).watch(
    path,
    query,
    (type, obj: Json) => {
      const meta = (obj.metadata ?? {}) as Json;
      events.push({ type, name: String(meta.name ?? ''), rv: Number(meta.resourceVersion), obj });
    },
    (err) => finish(err),
  );
  return { events, done, stop: () => controller.abort() };
}

async function names(labelSelector?: string, fieldSelector?: string): Promise<string[]> {
  const list = await c.core.listNamespacedSecret({
    namespace: SEL,
    ...(labelSelector ? { labelSelector } : {}),
    ...(fieldSelector ? { fieldSelector } : {}),
  });
  return list.items.map((s) => s.metadata?.name ?? '');
}

describe('label selectors', () => {
  test.each([
    ['tier=web', ['a', 'b']],
    ['tier==web', ['a', 'b']],
    ['tier!=web', ['c', 'd', 'e']],
    ['tier in (web,db)', ['a', 'b', 'c']],
    ['tier notin (web, db)', ['d', 'e']],
    ['pii', ['c']],
    ['!pii', ['a', 'b', 'd', 'e']],
    ['tier=web,env=prod', ['a']],
    ['env in (prod),!pii', ['a']],
    ['', ['a', 'b', 'c', 'd', 'e']],
  ])('%j selects %j', async (selector, expected) => {
    expect(await names(selector)).toEqual(expected);
  });

  test('a malformed selector is 400 BadRequest', async () => {
    const err = await expectApiError(c.core.listNamespacedSecret({ namespace: SEL, labelSelector: 'tier in web' }), 400);
    expect(err.message).toContain('unable to parse requirement');
  });
});

describe('field selectors', () => {
  test('metadata.name and metadata.namespace are supported', async () => {
    expect(await names(undefined, 'metadata.name=c')).toEqual(['c']);
    expect(await names(undefined, 'metadata.name!=c,metadata.namespace=sel')).toEqual(['a', 'b', 'd', 'e']);
    expect(await names('tier=web', 'metadata.name==b')).toEqual(['b']);
  });

  test('an unsupported field is 400 BadRequest', async () => {
    const err = await expectApiError(c.core.listNamespacedSecret({ namespace: SEL, fieldSelector: 'spec.foo=bar' }), 400);
    expect(err.message).toBe('field label not supported: spec.foo');
  });
});

describe('pagination', () => {
  test('limit + continue walks the whole list in name order with one resourceVersion', async () => {
    const first = await c.core.listNamespacedSecret({ namespace: SEL, limit: 2 });
    expect(first.items.map((s) => s.metadata?.name)).toEqual(['a', 'b']);
    expect(first.metadata?._continue).toBeTruthy();
    expect(first.metadata?.remainingItemCount).toBe(3);
    const rv = first.metadata?.resourceVersion;
    expect(Number(rv)).toBeGreaterThan(0);
    const second = await c.core.listNamespacedSecret({ namespace: SEL, limit: 2, _continue: first.metadata?._continue ?? '' });
    expect(second.items.map((s) => s.metadata?.name)).toEqual(['c', 'd']);
    expect(second.metadata?.resourceVersion).toBe(rv);
    const third = await c.core.listNamespacedSecret({ namespace: SEL, limit: 2, _continue: second.metadata?._continue ?? '' });
    expect(third.items.map((s) => s.metadata?.name)).toEqual(['e']);
    expect(third.metadata?._continue).toBeUndefined();
  });

  test('pagination composes with selectors', async () => {
    const first = await c.core.listNamespacedSecret({ namespace: SEL, limit: 1, labelSelector: 'env' });
    expect(first.items.map((s) => s.metadata?.name)).toEqual(['a']);
    const rest = await c.core.listNamespacedSecret({ namespace: SEL, limit: 5, labelSelector: 'env', _continue: first.metadata?._continue ?? '' });
    expect(rest.items.map((s) => s.metadata?.name)).toEqual(['b', 'c']);
  });

  test('a garbage continue token is 400', async () => {
    await expectApiError(c.core.listNamespacedSecret({ namespace: SEL, limit: 1, _continue: 'garbage' }), 400);
  });

  test('the list resourceVersion moves with writes', async () => {
    const before = await c.core.listNamespacedSecret({ namespace: SEL });
    await c.core.createNamespacedSecret({ namespace: SEL, body: { metadata: { name: 'zz' } } });
    const after = await c.core.listNamespacedSecret({ namespace: SEL });
    expect(Number(after.metadata?.resourceVersion)).toBeGreaterThan(Number(before.metadata?.resourceVersion));
    await c.core.deleteNamespacedSecret({ namespace: SEL, name: 'zz' });
  });
});

describe('watch over client-node Watch', () => {
  test('events arrive in order with increasing resourceVersions, and a watch resumes after a given resourceVersion', async () => {
    const list = (await c.custom.listNamespacedCustomObject({ ...KUBEVIRT, namespace: NS })) as { metadata: { resourceVersion: string } };
    const w = await watch(c, VM_PATH, { resourceVersion: list.metadata.resourceVersion });
    await c.custom.createNamespacedCustomObject({ ...KUBEVIRT, namespace: NS, body: minimalVm('w1', NS) });
    await c.custom.patchNamespacedCustomObject({ ...KUBEVIRT, namespace: NS, name: 'w1', body: { spec: { runStrategy: 'Always' } } }, mergePatch);
    await c.custom.createNamespacedCustomObject({ ...KUBEVIRT, namespace: NS, body: minimalVm('w2', NS) });
    await c.custom.deleteNamespacedCustomObject({ ...KUBEVIRT, namespace: NS, name: 'w1' });
    await eventually(() => (w.events.length >= 4 ? true : undefined));
    w.stop();
    expect(w.events.map((e) => `${e.type} ${e.name}`)).toEqual(['ADDED w1', 'MODIFIED w1', 'ADDED w2', 'DELETED w1']);
    const rvs = w.events.map((e) => e.rv);
    expect([...rvs].sort((a, b) => a - b)).toEqual(rvs);
    expect(new Set(rvs).size).toBe(4);
    expect(w.events[1]?.obj.spec).toMatchObject({ runStrategy: 'Always' });
    expect(w.events[0]?.obj.kind).toBe('VirtualMachine');

    const resumed = await watch(c, VM_PATH, { resourceVersion: String(w.events[1]?.rv) });
    await eventually(() => (resumed.events.length >= 2 ? true : undefined));
    resumed.stop();
    expect(resumed.events.map((e) => `${e.type} ${e.name}`)).toEqual(['ADDED w2', 'DELETED w1']);
  });

  test('a watch without resourceVersion starts with ADDED for existing objects', async () => {
    await c.core.createNamespacedSecret({ namespace: NS, body: { metadata: { name: 'pre-1' } } });
    await c.core.createNamespacedSecret({ namespace: NS, body: { metadata: { name: 'pre-2' } } });
    const w = await watch(c, `/api/v1/namespaces/${NS}/secrets`, {});
    await eventually(() => (w.events.length >= 2 ? true : undefined));
    w.stop();
    expect(w.events.map((e) => `${e.type} ${e.name}`)).toEqual(['ADDED pre-1', 'ADDED pre-2']);
  });

  test('the legacy /watch/ path watches a single object by name', async () => {
    await c.core.createNamespacedSecret({ namespace: NS, body: { metadata: { name: 'solo' } } });
    await c.core.createNamespacedSecret({ namespace: NS, body: { metadata: { name: 'solo-other' } } });
    const w = await watch(c, `/api/v1/watch/namespaces/${NS}/secrets/solo`, {});
    await c.core.deleteNamespacedSecret({ namespace: NS, name: 'solo-other' });
    await c.core.deleteNamespacedSecret({ namespace: NS, name: 'solo' });
    await eventually(() => (w.events.length >= 2 ? true : undefined));
    w.stop();
    expect(w.events.map((e) => `${e.type} ${e.name}`)).toEqual(['ADDED solo', 'DELETED solo']);
  });

  test('with a label selector, objects entering the selection are ADDED and leaving it DELETED', async () => {
    const w = await watch(c, `/api/v1/namespaces/${NS}/secrets`, {
      labelSelector: 'team=red',
      resourceVersion: String(c.emu.store.resourceVersion()),
    });
    await c.core.createNamespacedSecret({ namespace: NS, body: { metadata: { name: 'lbl', labels: { team: 'blue' } } } });
    await c.core.patchNamespacedSecret({ namespace: NS, name: 'lbl', body: { metadata: { labels: { team: 'red' } } } }, mergePatch);
    await c.core.patchNamespacedSecret({ namespace: NS, name: 'lbl', body: { metadata: { labels: { team: 'green' } } } }, mergePatch);
    await eventually(() => (w.events.length >= 2 ? true : undefined));
    w.stop();
    expect(w.events.map((e) => `${e.type} ${e.name}`)).toEqual(['ADDED lbl', 'DELETED lbl']);
  });

  test('bookmarks are sent when allowed, carrying the current resourceVersion', async () => {
    const w = await watch(c, `/api/v1/namespaces/${NS}/secrets`, {
      allowWatchBookmarks: true,
      resourceVersion: String(c.emu.store.resourceVersion()),
    });
    const bookmark = await eventually(() => w.events.find((e) => e.type === 'BOOKMARK'));
    w.stop();
    expect(bookmark.obj.kind).toBe('Secret');
    expect(bookmark.rv).toBe(c.emu.store.resourceVersion());
  });

  test('timeoutSeconds ends the watch cleanly', async () => {
    const w = await watch(c, `/api/v1/namespaces/${NS}/secrets`, { timeoutSeconds: 1, resourceVersion: String(c.emu.store.resourceVersion()) });
    const started = Date.now();
    expect(await w.done).toBeNull();
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  test('dropWatches() abruptly ends open watches, which then see an error', async () => {
    const w = await watch(c, `/api/v1/namespaces/${NS}/secrets`, { resourceVersion: String(c.emu.store.resourceVersion()) });
    await eventually(() => (c.emu.faults.dropWatches() > 0 ? true : undefined));
    const err = await w.done;
    expect(err).toBeInstanceOf(Error);
  });
});

describe('expired resourceVersions', () => {
  let small: Cluster;
  beforeAll(async () => {
    small = await startCluster({ watchHistorySize: 3 });
    await createNamespace(small, 'exp');
  });
  afterAll(async () => {
    await small.emu.close();
  });

  test('a resourceVersion older than the history answers one ERROR event with a 410 Expired Status, then ends', async () => {
    const from = small.emu.store.resourceVersion();
    for (let i = 0; i < 6; i += 1) small.emu.store.create('secrets', { metadata: { name: `s${i}`, namespace: 'exp' } });
    const w = await watch(small, '/api/v1/namespaces/exp/secrets', { resourceVersion: String(from) });
    expect(await w.done).toBeNull();
    expect(w.events).toHaveLength(1);
    const status = w.events[0]?.obj as unknown as KubeStatus;
    expect(w.events[0]?.type).toBe('ERROR');
    expect(status).toMatchObject({ kind: 'Status', code: 410, reason: 'Expired' });
    expect(status.message).toMatch(/^too old resource version: \d+ \(\d+\)$/);
  });

  test('an informer relists after 410 and ends up with every object', async () => {
    await createNamespace(small, 'relist');
    for (let i = 0; i < 3; i += 1) small.emu.store.create('secrets', { metadata: { name: `early-${i}`, namespace: 'relist' } });
    const core = small.core;
    const informer = k8s.makeInformer(small.kc, '/api/v1/namespaces/relist/secrets', () => core.listNamespacedSecret({ namespace: 'relist' }));
    const added = new Set<string>();
    informer.on('add', (s) => added.add(s.metadata?.name ?? ''));
    informer.on('error', () => {
      setTimeout(() => void informer.start(), 5);
    });
    await informer.start();
    expect([...added].sort()).toEqual(['early-0', 'early-1', 'early-2']);
    const requestsBefore = small.emu.requestCount({ method: 'GET', pathPrefix: '/api/v1/namespaces/relist/secrets' });
    expect(small.emu.faults.dropWatches()).toBe(1);
    for (let i = 0; i < 10; i += 1) small.emu.store.create('secrets', { metadata: { name: `late-${i}`, namespace: 'relist' } });
    await eventually(() => (added.has('late-0') && added.has('late-9') ? true : undefined));
    await informer.stop();
    expect(informer.list('relist')).toHaveLength(13);
    // late-0 fell out of the 3-event history: only the relist after the 410 can have delivered it.
    expect(small.emu.requestCount({ method: 'GET', pathPrefix: '/api/v1/namespaces/relist/secrets' }) - requestsBefore).toBeGreaterThanOrEqual(2);
  });
});
