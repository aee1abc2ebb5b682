import { afterEach, describe, expect, it } from 'vitest';
import { ConflictError } from '../../src/domain/shared/errors.js';
import { namespaceObject, resourceQuotaObject, roleBindingObject } from '../../src/adapters/kubernetes/tenant-objects.js';
import { startKubeFixture, type KubeFixture } from '../kubernetes/support/kube-fixture.js';
import { tenantRepositoryContract, tenantSpec } from '../contracts/tenant-repository.contract.js';
import { eventually } from '../support/eventually.js';

async function expectCreated(res: Promise<{ status: number; body: Record<string, unknown> }>): Promise<void> {
  const { status, body } = await res;
  if (status !== 201 && status !== 200) throw new Error(`seed write failed: ${status} ${JSON.stringify(body)}`);
}

tenantRepositoryContract('Kubernetes adapter over the emulator', async () => {
  const fx = await startKubeFixture();
  const { raw } = fx;
  return {
    repo: fx.repo,
    seed: {
      foreignNamespace: (id) => expectCreated(raw.post('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: id } })),
      async halfCreated(spec) {
        await expectCreated(raw.post('/api/v1/namespaces', namespaceObject(spec, false)));
        await expectCreated(raw.post(`/api/v1/namespaces/${spec.id}/resourcequotas`, resourceQuotaObject(spec.id, spec.quota)));
        for (const m of spec.members) {
          await expectCreated(raw.post(`/apis/rbac.authorization.k8s.io/v1/namespaces/${spec.id}/rolebindings`, roleBindingObject(spec.id, m)));
        }
      },
      async volumeClaims(id, claims, storageGi) {
        for (let i = 0; i < claims; i++) {
          await expectCreated(
            raw.post(`/api/v1/namespaces/${id}/persistentvolumeclaims`, {
              apiVersion: 'v1',
              kind: 'PersistentVolumeClaim',
              metadata: { name: `claim-${i}` },
              spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: `${storageGi}Gi` } } },
            }),
          );
        }
      },
      async virtualMachines(id, count) {
        for (let i = 0; i < count; i++) {
          await expectCreated(
            raw.post(`/apis/kubevirt.io/v1/namespaces/${id}/virtualmachines`, {
              apiVersion: 'kubevirt.io/v1',
              kind: 'VirtualMachine',
              metadata: { name: `vm-${i}` },
              spec: { runStrategy: 'Halted', template: { spec: { domain: { devices: {}, memory: { guest: '1Gi' } } } } },
            }),
          );
        }
      },
    },
    cleanup: () => fx.close(),
  };
});

describe('Kubernetes adapter: a tenant whose namespace is being deleted', () => {
  let fx: KubeFixture | undefined;
  afterEach(async () => {
    await fx?.close();
    fx = undefined;
  });

  // The emulator keeps a deleted namespace Terminating for a minute, as a real cluster does while
  // finalizers run; NamespaceLifecycle admission refuses every create in it with a 403.
  it('refuses a member change with TENANT_TERMINATING (409), whether or not the cache has seen the deletion yet', async () => {
    fx = await startKubeFixture({}, { namespaceDeletionDelayMs: 60_000 });
    const spec = tenantSpec();
    await fx.repo.create(spec);
    await eventually(async () => (await fx?.repo.get(spec.id)) !== undefined, 10_000, 'the tenant in the cache');
    expect((await fx.raw.delete(`/api/v1/namespaces/${spec.id}`)).status).toBe(200);
    // Straight after the DELETE: either the cache already shows Terminating, or the RoleBinding's create
    // reaches the API server and its NamespaceTerminating refusal is translated. Never an RBAC error.
    await expect(fx.repo.putMember(spec.id, { principalId: 'new-1', principalType: 'User', role: 'member' })).rejects.toMatchObject({
      code: 'TENANT_TERMINATING',
    });
    await eventually(async () => (await fx?.repo.get(spec.id))?.phase === 'Terminating', 10_000, 'the cache to show Terminating');
    const refused: unknown = await fx.repo
      .putMember(spec.id, { principalId: 'new-2', principalType: 'User', role: 'member' })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ConflictError);
    expect(refused).toMatchObject({ code: 'TENANT_TERMINATING' });
    // An existing member's binding is refused the same way, so the answer does not depend on who was there.
    await expect(fx.repo.putMember(spec.id, { principalId: 'olga-0001', principalType: 'User', role: 'member' })).rejects.toMatchObject({
      code: 'TENANT_TERMINATING',
    });
  });
});
