import { namespaceObject, resourceQuotaObject, roleBindingObject } from '../../src/adapters/kubernetes/tenant-objects.js';
import { startKubeFixture } from '../kubernetes/support/kube-fixture.js';
import { tenantRepositoryContract } from '../contracts/tenant-repository.contract.js';

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
