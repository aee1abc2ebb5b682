import { createKubeVmCopyRepository } from '../adapters/kubernetes/vm-copy-repository.js';
import { vmCopiesModule } from '../api/modules/index.js';
import type { ImageRepository } from '../domain/images/image-repository.js';
import { usageWithSnapshots } from '../domain/vms/snapshot-quota.js';
import type { VmCopyRepository } from '../domain/vms/vm-copy-repository.js';
import { createVmCopyService, type VmCopyService } from '../domain/vms/vm-copy-service.js';
import { createVmLoader } from '../domain/vms/vm-service.js';
import { vmCloneJob } from '../jobs/kinds/vm-clone.js';
import { identityChainer } from '../jobs/kinds/vm-identity.js';
import { vmPublishJob } from '../jobs/kinds/vm-publish.js';
import { defineArea, type Platform } from './area.js';
import { VM_RECHECK_MS, type VmsExports } from './vms.js';

export interface VmCopiesExports {
  readonly repo: VmCopyRepository;
  /** Clone and publish: the lab templates call `publish` (with their operation as parent). */
  readonly service: VmCopyService;
}

/**
 * Copies of VMs: clones (KubeVirt `clone.kubevirt.io`, read on demand: a cluster without the CRD
 * only answers 409 on the clone route, `/readyz` is unaffected) and VMs published as tenant images
 * (CDI clones of their root disks): the use cases, the `vm.clone` and `vm.publish` job kinds and the API module.
 */
export const vmCopiesArea = defineArea({
  name: 'vm-copies',
  needs: ['vms', 'images'],
  async build(
    ctx: Pick<Platform, 'config' | 'clock' | 'world' | 'kube' | 'tenantRepo' | 'operations' | 'operationStore'> & {
      readonly vms: VmsExports;
      readonly images: { readonly repo: ImageRepository };
    },
  ) {
    const { config } = ctx;
    const repo = createKubeVmCopyRepository({ client: ctx.kube, supportCacheMs: config.snapshots.supportCacheMs, clock: ctx.clock });
    const { onboarding } = ctx.world.azure;
    const service = createVmCopyService({
      load: createVmLoader(ctx.vms.repo, ctx.tenantRepo),
      repo: ctx.vms.repo,
      // A copy's disk must fit beside the tenant's disks and its VM snapshots.
      tenants: usageWithSnapshots(ctx.tenantRepo, ctx.vms.snapshots),
      images: ctx.images.repo,
      copies: repo,
      operations: ctx.operations,
      ...(onboarding === undefined ? {} : { onboarding }),
    });
    const store = ctx.operationStore;
    const jobDeps = { repo: ctx.vms.repo, copies: repo, recheckMs: VM_RECHECK_MS };
    return {
      exports: { repo, service } satisfies VmCopiesExports,
      jobKinds: [
        vmCloneJob({
          ...jobDeps,
          ...(onboarding === undefined
            ? {}
            : { chainIdentity: identityChainer({ operations: ctx.operations, children: async (id) => store.listChildren(id) }) }),
        }),
        vmPublishJob({ ...jobDeps, images: ctx.images.repo }),
      ],
      api: [vmCopiesModule(service)],
    };
  },
});
