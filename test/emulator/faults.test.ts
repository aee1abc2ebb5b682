import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import type { Cluster } from './support.js';
import { createNamespace, expectApiError, startCluster } from './support.js';

let c: Cluster;
const NS = 'faults';

beforeAll(async () => {
  c = await startCluster();
  await createNamespace(c, NS);
});
beforeEach(() => {
  c.emu.faults.clear();
});
afterAll(async () => {
  await c.emu.close();
});

describe('fault injection', () => {
  test('failNext(429) answers TooManyRequests with Retry-After for the next n matching requests only', async () => {
    c.emu.faults.failNext(2, { status: 429, retryAfterSeconds: 7, method: 'GET', pathPrefix: `/api/v1/namespaces/${NS}/secrets` });
    await c.core.createNamespacedSecret({ namespace: NS, body: { metadata: { name: 'unaffected' } } });
    const err = await expectApiError(c.core.listNamespacedSecret({ namespace: NS }), 429);
    expect(err).toMatchObject({ reason: 'TooManyRequests', details: { retryAfterSeconds: 7 } });
    const res = await fetch(`${c.emu.url}/api/v1/namespaces/${NS}/secrets`);
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('7');
    const list = await c.core.listNamespacedSecret({ namespace: NS });
    expect(list.items.map((s) => s.metadata?.name)).toEqual(['unaffected']);
  });

  test('failNext(500) and failNext(503) answer InternalError / ServiceUnavailable and write nothing', async () => {
    c.emu.faults.failNext(1, { status: 500, method: 'POST' });
    const internal = await expectApiError(c.core.createNamespacedSecret({ namespace: NS, body: { metadata: { name: 'x500' } } }), 500);
    expect(internal.reason).toBe('InternalError');
    expect(c.emu.store.get('secrets', NS, 'x500')).toBeUndefined();
    c.emu.faults.failNext(1, { status: 503 });
    const unavailable = await expectApiError(c.core.readNamespace({ name: NS }), 503);
    expect(unavailable.reason).toBe('ServiceUnavailable');
    await c.core.readNamespace({ name: NS });
  });

  test('latency delays matching requests until cleared', async () => {
    c.emu.faults.latency(400, { pathPrefix: '/api/v1/namespaces/faults' });
    let t = performance.now();
    await c.core.readNamespace({ name: NS });
    expect(performance.now() - t).toBeGreaterThanOrEqual(390);
    t = performance.now();
    await c.core.listNode();
    expect(performance.now() - t).toBeLessThan(390);
    c.emu.faults.clear();
    t = performance.now();
    await c.core.readNamespace({ name: NS });
    expect(performance.now() - t).toBeLessThan(390);
  });

  test('requestCount counts served requests by method and path prefix', async () => {
    const before = c.emu.requestCount();
    const gets = c.emu.requestCount({ method: 'get', pathPrefix: '/api/v1/nodes' });
    await c.core.listNode();
    await c.core.readNode({ name: 'aks-kubevirt-0000' });
    expect(c.emu.requestCount({ method: 'GET', pathPrefix: '/api/v1/nodes' })).toBe(gets + 2);
    expect(c.emu.requestCount()).toBe(before + 2);
    expect(c.emu.requestCount({ method: 'DELETE' })).toBe(0);
  });
});

describe('seeded cluster and health', () => {
  test('nodes are seeded with the kubevirt label, taint and allocatable resources', async () => {
    const nodes = await c.core.listNode({ labelSelector: 'workload=kubevirt' });
    expect(nodes.items.map((n) => n.metadata?.name)).toEqual(['aks-kubevirt-0000', 'aks-kubevirt-0001', 'aks-kubevirt-0002']);
    const node = nodes.items[0];
    expect(node?.spec?.taints).toEqual([{ key: 'kubevirt.io/dedicated', value: 'true', effect: 'NoSchedule' }]);
    expect(node?.status?.allocatable).toMatchObject({ cpu: '15740m', memory: expect.stringMatching(/Ki$/) as unknown });
  });

  test.each(['/healthz', '/readyz', '/livez'])('%s answers ok', async (path) => {
    const res = await fetch(`${c.emu.url}${path}`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('ok');
  });

  test('unknown paths are 404 Status and writes to read-only pods are 405', async () => {
    const res = await fetch(`${c.emu.url}/apis/kubevirt.io/v1/namespaces/${NS}/virtualmachinez`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { reason: string }).reason).toBe('NotFound');
    const err = await expectApiError(c.core.createNamespacedPod({ namespace: NS, body: { metadata: { name: 'p' }, spec: { containers: [] } } }), 405);
    expect(err.reason).toBe('MethodNotAllowed');
  });
});
