import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAIL_MIGRATION_ANNOTATION, seededNodeName } from '../../src/adapters/sim/kube-emulator/index.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { emulatorOf, expectProblem, restClient, VMI, vmBody } from './support.js';

let t: TestApp;
let admin: string;
let rest: ReturnType<typeof restClient>;

beforeAll(async () => {
  t = await startTestApp();
  admin = await t.bearer({ sub: 'admin-n', roles: ['platform-admin'] });
  rest = restClient(t);
});
afterAll(async () => {
  await t?.close();
});

function cordon(node: string, unschedulable: boolean): void {
  const store = emulatorOf(t).store;
  const n = store.get('nodes', undefined, node);
  if (n === undefined) throw new Error(`no node ${node}`);
  n.spec = { ...(n.spec as Record<string, unknown>), unschedulable };
  delete n.metadata.resourceVersion;
  store.update('nodes', n);
}

describe('live migration and node evacuation', () => {
  it('evacuating a node migrates every VM off it, one child operation each, at most 4 at a time, and lists what could not move', async () => {
    const tenant = await rest.createTenant(admin);
    const source = seededNodeName(0);
    cordon(seededNodeName(1), true);
    cordon(seededNodeName(2), true);
    try {
      const names = ['e-1', 'e-2', 'e-3', 'e-4', 'e-5', 'e-6'];
      await Promise.all(names.map((n) => rest.createVm(admin, tenant, vmBody(n))));
      await rest.createVm(admin, tenant, vmBody('pinned', { storageClass: 'kv-premium-retain' }));
    } finally {
      cordon(seededNodeName(1), false);
      cordon(seededNodeName(2), false);
    }
    const nodes = await rest.api().get('/v1/nodes').set('authorization', admin);
    expect(nodes.body.items.find((n: { name: string }) => n.name === source)).toMatchObject({ ready: true, schedulable: true, virtualMachines: 7 });

    const res = await rest.api().post(`/v1/nodes/${source}/evacuate`).set('authorization', admin);
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ kind: 'node.evacuate', target: { type: 'node', id: source } });
    const store = t.deps.jobs.store;
    let maxRunning = 0;
    let done = false;
    const sampling = (async () => {
      while (!done) {
        const children = await store.listChildren(res.body.id);
        maxRunning = Math.max(maxRunning, children.filter((c) => c.status === 'queued' || c.status === 'running').length);
        // Real time: sampling how many children run at once, every 15 ms while the evacuation runs.
        await new Promise((r) => setTimeout(r, 15));
      }
    })();
    const parent = await rest.settle(admin, res.body.id, 30_000);
    done = true;
    await sampling;
    expect(parent.status, JSON.stringify(parent)).toBe('succeeded');
    expect(parent.result).toMatchObject({ node: source, complete: false, failed: [] });
    expect([...parent.result.migrated].sort()).toEqual(['e-1', 'e-2', 'e-3', 'e-4', 'e-5', 'e-6'].map((n) => `${tenant}/${n}`));
    expect(parent.result.skipped).toEqual([
      { vm: `${tenant}/pinned`, code: 'NOT_LIVE_MIGRATABLE', reason: expect.stringContaining('LiveMigratable=False') },
    ]);
    expect(maxRunning).toBe(4);
    const children = await store.listChildren(res.body.id);
    expect(children).toHaveLength(6);
    expect(children.every((c) => c.kind === 'vm.migrate' && c.parentId === res.body.id && c.status === 'succeeded')).toBe(true);
    const after = await rest.api().get('/v1/nodes').set('authorization', admin);
    expect(after.body.items.find((n: { name: string }) => n.name === source).virtualMachines).toBe(1);
    expectProblem(await rest.api().post('/v1/nodes/no-such-node/evacuate').set('authorization', admin), 404, 'NODE_NOT_FOUND');
  });

  it('a node already being evacuated answers 409 NODE_EVACUATION_RUNNING with the running operation, even for requests sent at once', async () => {
    const tenant = await rest.createTenant(admin);
    const node = seededNodeName(2);
    cordon(seededNodeName(0), true);
    cordon(seededNodeName(1), true);
    try {
      await Promise.all(['o-1', 'o-2'].map((n) => rest.createVm(admin, tenant, vmBody(n))));
    } finally {
      cordon(seededNodeName(0), false);
      cordon(seededNodeName(1), false);
    }
    const answers = await Promise.all(Array.from({ length: 14 }, () => rest.api().post(`/v1/nodes/${node}/evacuate`).set('authorization', admin)));
    const accepted = answers.filter((r) => r.status === 202);
    expect(accepted).toHaveLength(1);
    const running = accepted[0]!.body.id as string;
    for (const refused of answers.filter((r) => r.status !== 202)) {
      expectProblem(refused, 409, 'NODE_EVACUATION_RUNNING');
      expect(refused.body.details).toEqual({ operationId: running });
    }
    expect((await rest.settle(admin, running, 30_000)).status).toBe('succeeded');
    const again = await rest.api().post(`/v1/nodes/${node}/evacuate`).set('authorization', admin);
    expect(again.status).toBe(202);
    expect(again.body.id).not.toBe(running);
    await rest.settle(admin, again.body.id, 30_000);
  });

  it('a failing migration fails its operation with the reason; the VM keeps running where it was', async () => {
    const tenant = await rest.createTenant(admin);
    await rest.createVm(admin, tenant, vmBody('flaky'));
    const em = emulatorOf(t);
    const vmi = em.store.get(VMI, tenant, 'flaky');
    if (vmi === undefined) throw new Error('no VMI');
    vmi.metadata.annotations = { [FAIL_MIGRATION_ANNOTATION]: 'target node unreachable' };
    delete vmi.metadata.resourceVersion;
    em.store.update(VMI, vmi);
    const node = (await rest.vm(admin, tenant, 'flaky')).body.nodeName as string;
    const res = await rest.act(admin, tenant, 'flaky', 'migrate');
    const op = await rest.settle(admin, res.body.id);
    expect(op).toMatchObject({ status: 'failed', error: { code: 'MIGRATION_FAILED' } });
    expect(op.error.detail).toContain('target node unreachable');
    const after = (await rest.vm(admin, tenant, 'flaky')).body;
    expect(after).toMatchObject({ state: 'Running', nodeName: node, migration: { phase: 'Failed' } });
    expect(em.store.list('pods', { namespace: tenant })).toEqual([]);
  });
});
