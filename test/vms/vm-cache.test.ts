import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { emulatorOf, restClient, VM, vmBody } from './support.js';

let t: TestApp;
let admin: string;
let rest: ReturnType<typeof restClient>;
let tenant: string;

beforeAll(async () => {
  t = await startTestApp();
  admin = await t.bearer({ sub: 'admin-c', roles: ['platform-admin'] });
  rest = restClient(t);
  tenant = await rest.createTenant(admin);
  const specs = [
    vmBody('a-1', { owner: 'ann', lab: 'cs101', labels: { team: 'red' }, running: false }),
    vmBody('a-2', { owner: 'ann', lab: 'cs101', labels: { team: 'blue' }, running: false }),
    vmBody('b-1', { owner: 'bob', lab: 'cs102', labels: { team: 'red' }, running: false }),
    vmBody('b-2', { owner: 'bob', running: false }),
    vmBody('c-1', { owner: 'cid', lab: 'cs101' }),
  ];
  await Promise.all(specs.map((s) => rest.createVm(admin, tenant, s)));
});
afterAll(async () => {
  await t?.close();
});

const names = (res: { body: { items: Array<{ name: string }> } }) => res.body.items.map((v) => v.name);

describe('cached VM reads', () => {
  it('GET and list cost the Kubernetes API server nothing', async () => {
    const em = emulatorOf(t);
    // Reads of what these requests could fetch: the tenant's objects and the nodes (the leader's
    // lease renewals and janitors run meanwhile and are not counted).
    const reads = () =>
      [
        `/apis/kubevirt.io/v1/namespaces/${tenant}/`,
        `/api/v1/namespaces/${tenant}/`,
        `/apis/cdi.kubevirt.io/v1beta1/namespaces/${tenant}/`,
        '/api/v1/nodes',
      ]
        .map((pathPrefix) => em.requestCount({ method: 'GET', pathPrefix }))
        .reduce((a, b) => a + b, 0);
    const before = reads();
    for (let i = 0; i < 20; i++) {
      expect((await rest.vm(admin, tenant, 'a-1')).status).toBe(200);
      expect((await rest.api().get(`/v1/tenants/${tenant}/vms`).set('authorization', admin)).status).toBe(200);
    }
    expect((await rest.api().get('/v1/nodes').set('authorization', admin)).status).toBe(200);
    expect(reads()).toBe(before);
  });

  it('lists page with limit and cursor, sorted by name', async () => {
    const first = await rest.api().get(`/v1/tenants/${tenant}/vms`).query({ limit: 2 }).set('authorization', admin);
    expect(names(first)).toEqual(['a-1', 'a-2']);
    const second = await rest.api().get(`/v1/tenants/${tenant}/vms`).query({ limit: 2, cursor: first.body.nextCursor }).set('authorization', admin);
    expect(names(second)).toEqual(['b-1', 'b-2']);
    const third = await rest.api().get(`/v1/tenants/${tenant}/vms`).query({ limit: 2, cursor: second.body.nextCursor }).set('authorization', admin);
    expect(names(third)).toEqual(['c-1']);
    expect(third.body.nextCursor).toBeUndefined();
  });

  it('lists filter by owner, state, lab and label', async () => {
    const q = (query: Record<string, string>) => rest.api().get(`/v1/tenants/${tenant}/vms`).query(query).set('authorization', admin);
    expect(names(await q({ owner: 'bob' }))).toEqual(['b-1', 'b-2']);
    expect(names(await q({ state: 'Running' }))).toEqual(['c-1']);
    expect(names(await q({ state: 'Stopped', lab: 'cs101' }))).toEqual(['a-1', 'a-2']);
    expect(names(await q({ label: 'team=red' }))).toEqual(['a-1', 'b-1']);
    expect(names(await q({ label: 'team' }))).toEqual(['a-1', 'a-2', 'b-1']);
    expect((await q({ state: 'Sleeping' })).status).toBe(400);
  });

  it('after a dropped watch, the cache catches up with what changed while it was down', async () => {
    const em = emulatorOf(t);
    // Re-established watches fail until the change below is made.
    em.faults.failNext(10_000, { status: 500, method: 'GET', pathPrefix: '/apis/kubevirt.io' });
    expect(em.faults.dropWatches()).toBeGreaterThan(0);
    const vm = em.store.get(VM, tenant, 'b-2');
    if (vm === undefined) throw new Error('b-2 missing');
    vm.metadata.labels = { ...vm.metadata.labels, team: 'green' };
    delete vm.metadata.resourceVersion;
    em.store.update(VM, vm);
    em.store.delete(VM, tenant, 'a-2');
    // Real time on purpose: the cache's informer runs on real timers, and what is asserted is that
    // during an outage of list and watch (300 ms of it) the cache keeps serving what it had.
    await new Promise((r) => setTimeout(r, 300));
    expect((await rest.vm(admin, tenant, 'b-2')).body.labels).toEqual({});
    em.faults.clear();
    await expect.poll(async () => (await rest.vm(admin, tenant, 'b-2')).body.labels, { timeout: 10_000 }).toEqual({ team: 'green' });
    await expect.poll(async () => (await rest.vm(admin, tenant, 'a-2')).status, { timeout: 10_000 }).toBe(404);
    const list = await rest.api().get(`/v1/tenants/${tenant}/vms`).set('authorization', admin);
    expect(names(list)).toEqual(['a-1', 'b-1', 'b-2', 'c-1']);
    expect(names(await rest.api().get(`/v1/tenants/${tenant}/vms`).query({ label: 'team=green' }).set('authorization', admin))).toEqual(['b-2']);
  });
});
