import type { KubeClient } from '../adapters/kubernetes/kube-client.js';
import type { Logger } from 'pino';
import { createKubeLabRepository, type KubeLabRepository } from '../adapters/kubernetes/lab-repository.js';
import { labsModule } from '../api/modules/index.js';
import type { ApiModule } from '../api/module.js';
import type { AccessPort } from '../domain/identity/access.js';
import type { ImageLocator } from '../domain/images/image-repository.js';
import { LAB_POWER_KIND, labTargetId } from '../domain/labs/lab.js';
import { createLabService, type LabService } from '../domain/labs/lab-service.js';
import type { OperationService } from '../domain/operations/operation-service.js';
import type { OperationStore } from '../domain/operations/operation-store.js';
import { NotFoundError } from '../domain/shared/errors.js';
import { systemClock } from '../domain/shared/ids.js';
import type { TenantRepository } from '../domain/tenants/tenant-repository.js';
import type { VmRepository } from '../domain/vms/vm-repository.js';
import type { VmService } from '../domain/vms/vm-service.js';
import type { JobKind } from '../jobs/job-kind.js';
import { labDeleteJob, labPowerJob } from '../jobs/kinds/lab-delete.js';
import type { LabJobDeps } from '../jobs/kinds/lab-job-support.js';
import { labStudentJob } from '../jobs/kinds/lab-student.js';
import { labSyncJob } from '../jobs/kinds/lab-sync.js';
import { createLabMaintenance, MAINTENANCE_PRINCIPAL } from '../jobs/lab-maintenance.js';
import { createLabScheduler } from '../jobs/lab-scheduler.js';
import type { Config } from './config.js';
import { holderIdentity } from './leadership.js';

/** A loop that runs beside the job workers on the leader only (schedules, housekeeping, recovery). */
export interface BackgroundLoop {
  start(): void;
  stop(): Promise<void>;
}

export interface Labs {
  readonly repo: KubeLabRepository;
  readonly service: LabService;
  readonly jobKinds: readonly JobKind[];
  readonly module: ApiModule;
  /** The lab scheduler and housekeeping: run by the leader (see `Deps.background`). */
  readonly loops: readonly BackgroundLoop[];
  close(): Promise<void>;
}

export interface LabsDeps {
  /** The one Kubernetes client of the process (one request budget: KUBE_QPS / KUBE_BURST). */
  readonly kube: KubeClient;
  readonly config: Config;
  readonly logger: Logger;
  readonly tenantRepo: TenantRepository;
  readonly images: ImageLocator;
  readonly vmRepo: VmRepository;
  readonly vms: VmService;
  readonly operations: OperationService;
  readonly operationStore: Pick<OperationStore, 'listChildren' | 'get'>;
  /** Absent when VMs cannot be onboarded to Azure Arc here. */
  readonly identity: { readonly access: AccessPort; readonly onboarding: boolean; readonly simulated: boolean } | undefined;
}

/** Lab repository (watch-backed), use cases, job kinds, schedule and housekeeping loops, API module. */
export async function buildLabs(deps: LabsDeps): Promise<Labs> {
  const { config } = deps;
  const repo = createKubeLabRepository({ client: deps.kube });
  await repo.start();
  const service = createLabService({
    labs: repo,
    vms: deps.vmRepo,
    tenants: deps.tenantRepo,
    images: deps.images,
    operations: deps.operations,
    arcAvailable: deps.identity?.onboarding === true,
  });
  const jobDeps: LabJobDeps = {
    labs: repo,
    vmRepo: deps.vmRepo,
    vms: deps.vms,
    ...(deps.identity === undefined ? {} : { access: deps.identity.access }),
    operations: deps.operations,
    children: (id) => deps.operationStore.listChildren(id),
    getOperation: (id) => deps.operationStore.get(id),
    // The simulated cluster answers in milliseconds; a real one is looked at once a second.
    recheckMs: deps.identity?.simulated === true || config.kube.mode === 'simulated' ? 250 : 1_000,
    parallelism: config.labs.parallelism,
  };
  const log = deps.logger.child({ component: 'labs' });
  const scheduler = createLabScheduler({
    labs: repo,
    clock: systemClock,
    intervalMs: config.labs.tickMs,
    claimTimeoutMs: config.labs.claimTimeoutMs,
    claimant: holderIdentity(config.leader.podName),
    logger: log,
    apply: async (lab, event) => {
      const op = await deps.operations.start(MAINTENANCE_PRINCIPAL, {
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
    vmRepo: deps.vmRepo,
    vms: deps.vms,
    clock: systemClock,
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
    repo,
    service,
    jobKinds: [labSyncJob(jobDeps), labStudentJob(jobDeps), labDeleteJob(jobDeps), labPowerJob(jobDeps)],
    module: labsModule(service),
    loops: [scheduler, maintenance],
    async close() {
      await scheduler.stop();
      await maintenance.stop();
      await repo.close();
    },
  };
}
