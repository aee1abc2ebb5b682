import { createKubeVmRepository } from '../../src/adapters/kubernetes/vm-repository.js';
import { createMigrationController, createVmLifecycleController, startKubeEmulator } from '../../src/adapters/sim/kube-emulator/index.js';
import { PLATFORM_IMAGE_NAMESPACE } from '../../src/domain/images/image.js';
import { vmRepositoryContract } from '../contracts/vm-repository.contract.js';
import { emulatorClient, recordingLogger } from '../kubernetes/support/kube-fixture.js';

const CONTROL = 'labplane-system';
const TENANTS = ['cs-101', 'cs-202'] as const;
const GOLDEN = 'golden';
const DV = 'datavolumes.cdi.kubevirt.io';

vmRepositoryContract('Kubernetes adapter over the emulator (VM and migration controllers)', async () => {
  const emulator = await startKubeEmulator({
    namespaces: [CONTROL, PLATFORM_IMAGE_NAMESPACE, ...TENANTS],
    controllers: [createVmLifecycleController(), createMigrationController()],
  });
  // The imported image VMs clone from (a PVC, as CDI leaves it).
  emulator.store.create('persistentvolumeclaims', {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: GOLDEN, namespace: PLATFORM_IMAGE_NAMESPACE },
    spec: { accessModes: ['ReadWriteMany'], resources: { requests: { storage: '10Gi' } }, storageClassName: 'kv-standard' },
  });
  const logger = recordingLogger();
  const repo = createKubeVmRepository({
    client: emulatorClient(emulator.url, logger),
    controlNamespace: CONTROL,
    watchRestartDelayMs: { min: 20, max: 200 },
  });
  if (!(await repo.start())) throw new Error(`the VM informers did not sync: ${JSON.stringify(logger.lines)}`);
  return {
    repo,
    tenants: TENANTS,
    source: { namespace: PLATFORM_IMAGE_NAMESPACE, pvcName: GOLDEN },
    inspect: {
      async placedCloudInit(tenant, vm) {
        const data = emulator.store.get('secrets', tenant, `${vm}-cloudinit`)?.['data'] as Record<string, string> | undefined;
        return data?.['userdata'] === undefined ? undefined : Buffer.from(data['userdata'], 'base64').toString('utf8');
      },
      async retainedDisks(tenant, vm) {
        return emulator.store.list(DV, { namespace: tenant }).filter((dv) => dv.metadata.labels?.['labplane.io/retained-from'] === vm).length;
      },
    },
    unavailableNext: () => emulator.faults.failNext(1, { status: 503, method: 'POST', pathPrefix: '/apis/kubevirt.io' }),
    async cleanup() {
      await repo.close();
      await emulator.close();
    },
  };
});
