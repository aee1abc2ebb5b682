import { afterEach, describe, expect, it } from 'vitest';
import { namespaceObject, roleBindingObject } from '../../src/adapters/kubernetes/tenant-objects.js';
import type { TenantSpec } from '../../src/domain/tenants/tenant.js';
import { tenantSpec, uniqueId } from '../contracts/tenant-repository.contract.js';
import { startKubeFixture, type KubeFixture } from './support/kube-fixture.js';

let fx: KubeFixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

/** A complete tenant written by another client (another replica of the service). */
async function createElsewhere(f: KubeFixture, spec: TenantSpec): Promise<void> {
  const res = await f.raw.post('/api/v1/namespaces', namespaceObject(spec, true));
  expect(res.status).toBe(201);
}

type NamespaceBody = { metadata: { annotations?: Record<string, string>; resourceVersion?: string } };

async function annotateElsewhere(f: KubeFixture, id: string, displayName: string, current?: NamespaceBody): Promise<NamespaceBody> {
  const body = current ?? ((await f.raw.get(`/api/v1/namespaces/${id}`)).body as NamespaceBody);
  body.metadata.annotations = { ...body.metadata.annotations, 'labplane.io/display-name': displayName };
  const res = await f.raw.put(`/api/v1/namespaces/${id}`, body);
  expect(res.status).toBe(200);
  return res.body as NamespaceBody;
}

const poll = { timeout: 5000, interval: 25 };

describe('reads from the watch-backed cache', () => {
  it('once synced, get, list, members, usage and memberships cost the API server nothing, even right after a write', async () => {
    fx = await startKubeFixture();
    const s = tenantSpec();
    await fx.repo.create(s);
    const before = fx.emulator.requestCount();
    expect(await fx.repo.get(s.id)).toMatchObject({ id: s.id });
    expect((await fx.repo.list()).map((t) => t.id)).toContain(s.id);
    expect(await fx.repo.listMembers(s.id)).toHaveLength(1);
    expect(await fx.repo.usage(s.id)).toMatchObject({ virtualMachines: 0 });
    expect(await fx.repo.membershipsOf(['olga-0001'])).toContainEqual([s.id, 'owner']);
    await fx.repo.putMember(s.id, { principalId: 'bob-1', principalType: 'User', role: 'member' });
    const afterPut = fx.emulator.requestCount();
    expect(await fx.repo.listMembers(s.id)).toHaveLength(2);
    expect(fx.emulator.requestCount()).toBe(afterPut);
    expect(afterPut - before).toBe(1);
  });

  it('writes by another client reach the cache through the watch', async () => {
    fx = await startKubeFixture();
    const s = tenantSpec();
    await createElsewhere(fx, s);
    const f = fx;
    await expect.poll(() => f.repo.get(s.id), poll).toMatchObject({ id: s.id, displayName: s.displayName });
  });

  it('after a dropped watch the cache catches up with what changed while it was down', async () => {
    fx = await startKubeFixture();
    const f = fx;
    const kept = tenantSpec();
    const doomed = tenantSpec();
    await f.repo.create(kept);
    await f.repo.create(doomed);
    const keptNs = (await f.raw.get(`/api/v1/namespaces/${kept.id}`)).body as NamespaceBody;
    // The watches drop, and every attempt to re-establish them fails until the writes below are done.
    f.emulator.faults.failNext(10_000, { status: 500, method: 'GET', pathPrefix: '/ap' });
    expect(f.emulator.faults.dropWatches()).toBeGreaterThanOrEqual(3);
    const added = tenantSpec();
    await createElsewhere(f, added);
    await annotateElsewhere(f, kept.id, 'Changed elsewhere', keptNs);
    const rb = roleBindingObject(kept.id, { principalId: 'carol-1', principalType: 'User', role: 'member' });
    expect((await f.raw.post(`/apis/rbac.authorization.k8s.io/v1/namespaces/${kept.id}/rolebindings`, rb)).status).toBe(201);
    expect((await f.raw.delete(`/api/v1/namespaces/${doomed.id}`)).status).toBe(200);
    await expect.poll(() => f.logger.lines.filter((l) => l.msg.includes('restarting')).length, poll).toBeGreaterThanOrEqual(6);
    expect(await f.repo.get(added.id)).toBeUndefined();
    f.emulator.faults.clear();

    await expect.poll(() => f.repo.get(added.id), poll).toMatchObject({ id: added.id });
    await expect.poll(async () => (await f.repo.get(kept.id))?.displayName, poll).toBe('Changed elsewhere');
    await expect.poll(async () => (await f.repo.listMembers(kept.id)).map((m) => m.principalId), poll).toContain('carol-1');
    await expect.poll(async () => (await f.repo.get(doomed.id))?.phase ?? 'gone', poll).not.toBe('Active');
    expect(f.logger.lines.some((l) => l.msg.includes('restarting'))).toBe(true);
    const settled = f.emulator.requestCount();
    await f.repo.list();
    expect(f.emulator.requestCount()).toBe(settled);
  });

  it('an update at a version the cache has not seen yet builds on the server’s copy and loses nothing', async () => {
    fx = await startKubeFixture();
    const f = fx;
    const s = tenantSpec();
    await f.repo.create(s);
    const current = (await f.raw.get(`/api/v1/namespaces/${s.id}`)).body as NamespaceBody;
    f.emulator.faults.failNext(10_000, { status: 500, method: 'GET', pathPrefix: '/ap' });
    f.emulator.faults.dropWatches();
    const changed = await annotateElsewhere(f, s.id, 'Renamed by another replica', current);
    f.emulator.faults.clear();
    const updated = await f.repo.update(s.id, { description: 'Mine' }, changed.metadata.resourceVersion);
    expect(updated).toMatchObject({ displayName: 'Renamed by another replica', description: 'Mine' });
  });

  it('after 410 Gone the informer relists and forgets what was deleted while it was away', async () => {
    fx = await startKubeFixture({}, { watchHistorySize: 3, namespaceDeletionDelayMs: 0 });
    const f = fx;
    const kept = tenantSpec();
    const doomed = tenantSpec();
    await f.repo.create(kept);
    await f.repo.create(doomed);
    let ns = (await f.raw.get(`/api/v1/namespaces/${kept.id}`)).body as NamespaceBody;
    f.emulator.faults.failNext(10_000, { status: 500, method: 'GET', pathPrefix: '/api/v1/namespaces' });
    f.emulator.faults.dropWatches();
    expect((await f.raw.delete(`/api/v1/namespaces/${doomed.id}`)).status).toBe(200);
    for (let i = 0; i < 5; i++) ns = await annotateElsewhere(f, kept.id, `rev ${i}`, ns);
    f.emulator.faults.clear();
    await expect.poll(async () => (await f.repo.get(kept.id))?.displayName, poll).toBe('rev 4');
    await expect.poll(() => f.repo.get(doomed.id), poll).toBeUndefined();
    expect((await f.repo.list()).map((t) => t.id)).not.toContain(doomed.id);
    const relists = f.logger.lines.filter((l) => l.msg === 'kubernetes informer listed' && l.obj['informer'] === 'namespaces');
    expect(relists.length).toBeGreaterThanOrEqual(2);
  });

  it('when the informers cannot sync in time, start resolves false and reads go to the API server until they do', async () => {
    const id = uniqueId();
    fx = await startKubeFixture();
    await fx.repo.create(tenantSpec({ id }));
    await fx.repo.close();
    fx.emulator.faults.latency(800, { method: 'GET', pathPrefix: '/api/v1/namespaces' });
    const { createKubeTenantRepository } = await import('../../src/adapters/kubernetes/tenant-repository.js');
    const { emulatorClient } = await import('./support/kube-fixture.js');
    const repo = createKubeTenantRepository({ client: emulatorClient(fx.emulator.url), syncTimeoutMs: 100 });
    try {
      expect(await repo.start()).toBe(false);
      const before = fx.emulator.requestCount({ method: 'GET', pathPrefix: `/api/v1/namespaces/${id}` });
      expect(await repo.get(id)).toMatchObject({ id });
      expect(fx.emulator.requestCount({ method: 'GET', pathPrefix: `/api/v1/namespaces/${id}` })).toBe(before + 1);
      fx.emulator.faults.clear();
      await expect.poll(() => repo.cacheSynced(), poll).toBe(true);
      const synced = fx.emulator.requestCount();
      expect(await repo.get(id)).toMatchObject({ id });
      expect(fx.emulator.requestCount()).toBe(synced);
    } finally {
      await repo.close();
    }
  });
});

describe('client-side request budget', () => {
  it('every request of a create goes through the budget', async () => {
    let taken = 0;
    fx = await startKubeFixture({ limiter: { take: async () => void (taken += 1) } });
    const before = taken;
    const writes = () => ['POST', 'PUT', 'PATCH', 'DELETE'].reduce((n, method) => n + (fx?.emulator.requestCount({ method }) ?? 0), 0);
    const writesBefore = writes();
    await fx.repo.create(tenantSpec());
    // 9 writes (namespace, 6 children, 1 binding, provisioned); each took a token.
    expect(writes() - writesBefore).toBe(9);
    expect(taken - before).toBeGreaterThanOrEqual(9);
  });
});
