import { createKubeVmDisks } from '../adapters/kubernetes/vm-disks.js';
import { reimageModule } from '../api/modules/index.js';
import type { ImageLocator } from '../domain/images/image-repository.js';
import type { LabRepository } from '../domain/labs/lab-repository.js';
import { createLabTemplateService, type LabTemplateService, type VmImagePublisher } from '../domain/labs/lab-template.js';
import { createReimageService, type ReimageService } from '../domain/vms/reimage-service.js';
import { usageWithSnapshots } from '../domain/vms/snapshot-quota.js';
import { createVmLoader } from '../domain/vms/vm-service.js';
import { labReimageJob, labTemplatePublishJob } from '../jobs/kinds/lab-reimage.js';
import { vmReimageJob } from '../jobs/kinds/vm-reimage.js';
import { defineArea, type Platform } from './area.js';
import type { VmCopiesExports } from './vm-copies.js';
import { VM_RECHECK_MS, type VmsExports } from './vms.js';

export interface ReimageExports {
  readonly service: ReimageService;
  readonly templates: LabTemplateService;
}

/**
 * Reimaging VMs (a fresh root disk from an image, same VM, owner and Arc machine), labs' template
 * VMs and lab reimages (issue #16 items 5 and 6): the use cases, the `vm.reimage`, `lab.reimage`
 * and `lab.template-publish` job kinds and the API module. Publishing a template VM goes through
 * the vm-copies area's `vm.publish` (the template VM is stopped first); without it, 409.
 */
export const reimageArea = defineArea({
  name: 'reimage',
  needs: ['images', 'vms', 'labs', 'vm-copies'],
  async build(
    ctx: Pick<Platform, 'config' | 'world' | 'kube' | 'tenantRepo' | 'operations' | 'operationStore'> & {
      readonly images: { readonly locator: ImageLocator };
      readonly vms: VmsExports;
      readonly labs: { readonly repo: LabRepository };
      readonly 'vm-copies'?: VmCopiesExports;
    },
  ) {
    const { config } = ctx;
    const copies = ctx['vm-copies'];
    // The template VM runs while an instructor works in it: the publish stops it first.
    const publisher: VmImagePublisher | undefined =
      copies === undefined
        ? undefined
        : {
            publish: (p, tenant, vm, input, options) => copies.service.publish(p, tenant, vm, { image: input.image ?? vm, stopFirst: true }, options),
          };
    const tenants = { get: (id: string) => ctx.tenantRepo.get(id), usage: usageWithSnapshots(ctx.tenantRepo, ctx.vms.snapshots).usage };
    const onboarding = ctx.world.azure.onboarding;
    const service = createReimageService({
      load: createVmLoader(ctx.vms.repo, ctx.tenantRepo),
      repo: ctx.vms.repo,
      tenants,
      images: ctx.images.locator,
      operations: ctx.operations,
      ...(onboarding === undefined ? {} : { onboarding }),
    });
    const templates = createLabTemplateService({
      labs: ctx.labs.repo,
      vmRepo: ctx.vms.repo,
      vms: ctx.vms.service,
      reimage: service,
      tenants,
      operations: ctx.operations,
      ...(publisher === undefined ? {} : { publisher }),
    });
    const children = (id: string) => ctx.operationStore.listChildren(id);
    const labJobDeps = {
      labs: ctx.labs.repo,
      templates,
      children,
      store: ctx.operationStore,
      recheckMs: ctx.world.timings.labRecheckMs,
      parallelism: config.labs.parallelism,
      ...(publisher === undefined ? {} : { publisher }),
    };
    return {
      exports: { service, templates } satisfies ReimageExports,
      jobKinds: [
        vmReimageJob({ repo: ctx.vms.repo, disks: createKubeVmDisks(ctx.kube), operations: ctx.operations, children, recheckMs: VM_RECHECK_MS }),
        labReimageJob(labJobDeps),
        labTemplatePublishJob(labJobDeps),
      ],
      api: [reimageModule(service, templates)],
    };
  },
});
