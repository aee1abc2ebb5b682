import { createKubeLabRepository, type KubeLabRepository } from '../adapters/kubernetes/lab-repository.js';
import { labsModule } from '../api/modules/index.js';
import type { ImageLocator } from '../domain/images/image-repository.js';
import { LAB_POWER_KIND, labTargetId } from '../domain/labs/lab.js';
import { createLabService, type LabService } from '../domain/labs/lab-service.js';
import { NotFoundError } from '../domain/shared/errors.js';
import type { VmRepository } from '../domain/vms/vm-repository.js';
import type { VmService } from '../domain/vms/vm-service.js';
import { labDeleteJob, labPowerJob } from '../jobs/kinds/lab-delete.js';
import type { LabJobDeps } from '../jobs/kinds/lab-job-support.js';
import { labStudentJob } from '../jobs/kinds/lab-student.js';
import { labSyncJob } from '../jobs/kinds/lab-sync.js';
import { createLabMaintenance, MAINTENANCE_PRINCIPAL } from '../jobs/lab-maintenance.js';
import { createLabScheduler } from '../jobs/lab-scheduler.js';
import { defineArea, type Platform } from './area.js';
import { holderIdentity } from './leadership.js';

export interface LabsExports {
  readonly repo: KubeLabRepository;
  readonly service: LabService;
}

/** Lab repository (watch-backed), use cases, job kinds, schedule and housekeeping loops (leader), API module. */
export const labsArea = defineArea({
  name: 'labs',
  needs: ['images', 'vms'],
  async build(
    ctx: Pick<Platform, 'config' | 'logger' | 'clock' | 'world' | 'kube' | 'tenantRepo' | 'operations' | 'operationStore'> & {
      readonly images: { readonly locator: ImageLocator };
      readonly vms: { readonly repo: VmRepository; readonly service: VmService };
    },
  ) {
    const { config } = ctx;
    const repo = createKubeLabRepository({ client: ctx.kube });
    await repo.start();
    const { azure } = ctx.world;
    const vmRepo = ctx.vms.repo;
    const service = createLabService({
      labs: repo,
      vms: vmRepo,
      tenants: ctx.tenantRepo,
      images: ctx.images.locator,
      operations: ctx.operations,
      arcAvailable: azure.onboarding !== undefined,
    });
    const jobDeps: LabJobDeps = {
      labs: repo,
      vmRepo,
      vms: ctx.vms.service,
      access: azure.access,
      operations: ctx.operations,
      children: (id) => ctx.operationStore.listChildren(id),
      getOperation: (id) => ctx.operationStore.get(id),
      recheckMs: ctx.world.timings.labRecheckMs,
      parallelism: config.labs.parallelism,
    };
    const log = ctx.logger.child({ component: 'labs' });
    const scheduler = createLabScheduler({
      labs: repo,
      clock: ctx.clock,
      intervalMs: config.labs.tickMs,
      claimTimeoutMs: config.labs.claimTimeoutMs,
      claimant: holderIdentity(config.leader.podName),
      logger: log,
      apply: async (lab, event) => {
        const op = await ctx.operations.start(MAINTENANCE_PRINCIPAL, {
          kind: LAB_POWER_KIND,
          tenant: lab.tenant,
          target: { type: 'lab', id: labTargetId(lab.tenant, lab.name), name: lab.name },
          input: { tenant: lab.tenant, lab: lab.name, action: event.action, dueAt: event.dueAt },
        });
        return { operationId: op.id };
      },
    });
    const maintenance = createLabMaintenance({
      labs: repo,
      vmRepo,
      vms: ctx.vms.service,
      clock: ctx.clock,
      logger: log,
      intervalMs: config.labs.tickMs,
      reconcile: async (lab) => {
        try {
          return (await service.reconcile(MAINTENANCE_PRINCIPAL, lab.tenant, lab.name)) !== undefined;
        } catch (err) {
          // A Lab in a namespace that is not a tenant is not ours to provision.
          if (!(err instanceof NotFoundError)) throw err;
          log.debug({ namespace: lab.tenant, lab: lab.name }, 'a Lab outside any tenant is ignored');
          return false;
        }
      },
    });
    return {
      exports: { repo, service } satisfies LabsExports,
      jobKinds: [labSyncJob(jobDeps), labStudentJob(jobDeps), labDeleteJob(jobDeps), labPowerJob(jobDeps)],
      api: [labsModule(service)],
      leaderLoops: [scheduler, maintenance],
      informers: () => repo.informers(),
      async close() {
        await scheduler.stop();
        await maintenance.stop();
        await repo.close();
      },
    };
  },
});
