import { virtualMachineObject } from '../../src/adapters/kubernetes/vm-objects.js';
import { uuidV5 } from '../../src/domain/shared/ids.js';

/** The i-th VM a bench writes straight into the simulated cluster, as the real adapter writes VMs. */
export function benchVmObject(tenant: string, name: string, i: number) {
  return virtualMachineObject({
    tenant,
    name,
    id: uuidV5(`vm:${tenant}/${name}`),
    ownerId: `student-${i % 40}`,
    lab: `lab-${i % 5}`,
    image: { scope: 'platform', name: 'ubuntu-24-04' },
    source: { namespace: 'labplane-images', pvcName: 'ubuntu-24-04' },
    instanceType: 'small',
    cpu: 1,
    memoryGi: 2,
    diskGi: 10,
    storageClass: 'kv-standard',
    arc: false,
    running: true,
    labels: { course: `c${i % 3}` },
  }) as never;
}
