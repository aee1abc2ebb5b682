import type { TenantRepository } from '../tenants/tenant-repository.js';
import type { SnapshotRepository } from './snapshot-repository.js';

/**
 * The tenant's usage with its VM snapshots' storage added to `storageGi`. Volume snapshots are not
 * PVCs, so the Kubernetes ResourceQuota does not count them: the platform does, so that a VM create
 * (or another snapshot) is refused with `QUOTA_EXCEEDED` when disks and snapshots together would
 * exceed the storage quota. On a cluster that cannot snapshot there is nothing to add.
 */
export function usageWithSnapshots(
  tenants: Pick<TenantRepository, 'usage'>,
  snapshots: Pick<SnapshotRepository, 'support' | 'list'>,
): Pick<TenantRepository, 'usage'> {
  return {
    async usage(id) {
      const usage = await tenants.usage(id);
      if (!(await snapshots.support()).supported) return usage;
      const held = (await snapshots.list(id)).reduce((sum, s) => sum + s.sizeGi, 0);
      return { ...usage, storageGi: usage.storageGi + held };
    },
  };
}
