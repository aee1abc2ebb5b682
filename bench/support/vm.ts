import { virtualMachineObject } from '../../src/adapters/kubernetes/vm-objects.js';
import { uuidV5 } from '../../src/domain/shared/ids.js';

/**
 * A running small VM of `tenant` as the real adapter would write it, for a benchmark to put straight
 * into the simulated cluster (benchmarks measure reads; creates through the API would mostly
 * measure the client-side write budget). The simulated controllers then clone its disk and start it.
 */
export function benchVmObject(tenant: string, name: string, owner: { ownerId: string; lab: string; labels: Record<string, string> }): never {
  return virtualMachineObject({
    tenant,
    name,
    id: uuidV5(`vm:${tenant}/${name}`),
    ...owner,
    image: { scope: 'platform', name: 'ubuntu-24-04' },
    source: { namespace: 'labplane-images', pvcName: 'ubuntu-24-04' },
    instanceType: 'small',
    cpu: 1,
    memoryGi: 2,
    diskGi: 10,
    storageClass: 'kv-standard',
    arc: false,
    running: true,
  }) as never;
}
