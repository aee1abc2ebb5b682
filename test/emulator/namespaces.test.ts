import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Cluster } from './support.js';
import { createNamespace, eventually, expectApiError, KUBEVIRT, minimalVm, startCluster } from './support.js';

type Json = Record<string, unknown>;
let c: Cluster;

beforeAll(async () => {
  // The namespace stays Terminating this long (real time) while the test reads it and is refused new
  // content: 150 ms was once too short under a full suite's load (it was gone: 404 instead of 403).
  c = await startCluster({ namespaceDeletionDelayMs: 2_000 });
});
afterAll(async () => {
  await c.emu.close();
});

describe('namespace termination', () => {
  test('a deleted namespace turns Terminating, refuses new content with 403, then disappears with its contents', async () => {
    await createNamespace(c, 'doomed');
    await c.core.createNamespacedSecret({ namespace: 'doomed', body: { metadata: { name: 's' } } });
    await c.custom.createNamespacedCustomObject({ ...KUBEVIRT, namespace: 'doomed', body: minimalVm('vm', 'doomed') });
    const seen: string[] = [];
    const informer = k8s.makeInformer(c.kc, '/api/v1/namespaces/doomed/secrets', () => c.core.listNamespacedSecret({ namespace: 'doomed' }));
    informer.on('delete', (s) => seen.push(s.metadata?.name ?? ''));
    await informer.start();

    const deleted = await c.core.deleteNamespace({ name: 'doomed' });
    expect((deleted as Json).kind).toBe('Namespace');
    const ns = await c.core.readNamespace({ name: 'doomed' });
    expect(ns.status?.phase).toBe('Terminating');
    expect(ns.metadata?.deletionTimestamp).toBeDefined();

    const err = await expectApiError(c.core.createNamespacedSecret({ namespace: 'doomed', body: { metadata: { name: 'late' } } }), 403);
    expect(err.reason).toBe('Forbidden');
    expect(err.message).toBe('secrets "late" is forbidden: unable to create new content in namespace doomed because it is being terminated');

    await eventually(async () => {
      const res = await c.core.readNamespace({ name: 'doomed' }).then(
        () => undefined,
        (e: unknown) => e,
      );
      return res instanceof k8s.ApiException && res.code === 404 ? true : undefined;
    });
    await informer.stop();
    expect(seen).toEqual(['s']);
    expect(c.emu.store.list('virtualmachines.kubevirt.io', { namespace: 'doomed' })).toEqual([]);
  });

  test('deleting an owner garbage-collects its dependents, unless propagationPolicy is Orphan', async () => {
    await createNamespace(c, 'gc');
    const vm = (await c.custom.createNamespacedCustomObject({ ...KUBEVIRT, namespace: 'gc', body: minimalVm('owner', 'gc') })) as {
      metadata: { uid: string };
    };
    const ref = (name: string, uid: string) => ({ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', name, uid, controller: true });
    const ownerReferences = [ref('owner', vm.metadata.uid)];
    await c.core.createNamespacedSecret({ namespace: 'gc', body: { metadata: { name: 'owned', ownerReferences } } });
    await c.custom.deleteNamespacedCustomObject({ ...KUBEVIRT, namespace: 'gc', name: 'owner' });
    await eventually(() => (c.emu.store.get('secrets', 'gc', 'owned') ? undefined : true));

    const vm2 = (await c.custom.createNamespacedCustomObject({ ...KUBEVIRT, namespace: 'gc', body: minimalVm('owner2', 'gc') })) as {
      metadata: { uid: string };
    };
    await c.core.createNamespacedSecret({
      namespace: 'gc',
      body: { metadata: { name: 'kept', ownerReferences: [ref('owner2', vm2.metadata.uid)] } },
    });
    await c.custom.deleteNamespacedCustomObject({ ...KUBEVIRT, namespace: 'gc', name: 'owner2', propagationPolicy: 'Orphan' });
    // Real time: garbage collection runs on the emulator's timers; 30 ms is the window in which an orphaned dependent would wrongly go.
    await new Promise((r) => setTimeout(r, 30));
    expect(c.emu.store.get('secrets', 'gc', 'kept')).toBeDefined();
  });

  test('finalizers hold an object in deletion until they are removed', async () => {
    await createNamespace(c, 'fin');
    await c.core.createNamespacedSecret({ namespace: 'fin', body: { metadata: { name: 'held', finalizers: ['labplane.io/cleanup'] } } });
    await c.core.deleteNamespacedSecret({ namespace: 'fin', name: 'held' });
    const held = await c.core.readNamespacedSecret({ namespace: 'fin', name: 'held' });
    expect(held.metadata?.deletionTimestamp).toBeDefined();
    const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
    await c.core.patchNamespacedSecret({ namespace: 'fin', name: 'held', body: { metadata: { finalizers: null } } }, mergePatch);
    await expectApiError(c.core.readNamespacedSecret({ namespace: 'fin', name: 'held' }), 404);
  });
});
