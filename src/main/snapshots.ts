import { snapshotsModule } from '../api/modules/index.js';
import type { SnapshotRepository } from '../domain/vms/snapshot-repository.js';
import { createSnapshotService, type SnapshotService } from '../domain/vms/snapshot-service.js';
import { createVmLoader } from '../domain/vms/vm-service.js';
import { vmRestoreJob } from '../jobs/kinds/vm-restore.js';
import { vmSnapshotJob } from '../jobs/kinds/vm-snapshot.js';
import { defineArea, type Platform } from './area.js';
import { VM_RECHECK_MS, type VmsExports } from './vms.js';

export interface SnapshotsExports {
  readonly repo: SnapshotRepository;
  readonly service: SnapshotService;
}

/**
 * VM snapshots and restores (KubeVirt `snapshot.kubevirt.io`) over the vms area's snapshot
 * repository (its watch starts with the first list, made only once the cluster said it can
 * snapshot: a cluster without the CRDs only answers 409 on the snapshot routes, `/readyz` is unaffected): the use cases, the `vm.snapshot` and `vm.restore` job kinds and the API module.
 */
export const snapshotsArea = defineArea({
  name: 'snapshots',
  needs: ['vms'],
  async build(ctx: Pick<Platform, 'config' | 'clock' | 'tenantRepo' | 'operations'> & { readonly vms: VmsExports }) {
    const { config } = ctx;
    const repo = ctx.vms.snapshots;
    const service = createSnapshotService({
      load: createVmLoader(ctx.vms.repo, ctx.tenantRepo),
      tenants: ctx.tenantRepo,
      snapshots: repo,
      operations: ctx.operations,
      limits: { perVm: config.snapshots.perVm, perTenant: config.snapshots.perTenant },
      clock: ctx.clock,
    });
    const jobDeps = { repo: ctx.vms.repo, snapshots: repo, recheckMs: VM_RECHECK_MS };
    return {
      exports: { repo, service } satisfies SnapshotsExports,
      jobKinds: [vmSnapshotJob(jobDeps), vmRestoreJob(jobDeps)],
      api: [snapshotsModule(service)],
    };
  },
});
