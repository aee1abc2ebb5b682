import { createKubeLabRepository, type KubeLabRepository } from '../adapters/kubernetes/lab-repository.js';
import { labsModule } from '../api/modules/index.js';
import type { ImageLocator } from '../domain/images/image-repository.js';
import { LAB_POWER_KIND, labTargetId } from '../domain/labs/lab.js';
import { createLabService, type LabService } from '../domain/labs/lab-service.js';
import { createNrpsClient } from '../adapters/lti/nrps-client.js';
import type { Directory, LtiRegistrationRepository, MembershipSource, ToolKeys } from '../domain/lti/ports.js';
import { createLtiRosterSyncService, LTI_SCHEDULE_PRINCIPAL, type LtiRosterSyncService } from '../domain/lti/roster-sync.js';
import { ConflictError } from '../domain/shared/errors.js';
import { NotFoundError } from '../domain/shared/errors.js';
import type { VmRepository } from '../domain/vms/vm-repository.js';
import type { VmService } from '../domain/vms/vm-service.js';
import { labDeleteJob, labPowerJob } from '../jobs/kinds/lab-delete.js';
import type { LabJobDeps } from '../jobs/kinds/lab-job-support.js';
import { labStudentJob } from '../jobs/kinds/lab-student.js';
import { labSyncJob } from '../jobs/kinds/lab-sync.js';
import { ltiRosterSyncJob } from '../jobs/kinds/lti-roster-sync.js';
import { createLtiRosterScheduler } from '../jobs/lti-roster-scheduler.js';
import { createLabMaintenance, MAINTENANCE_PRINCIPAL } from '../jobs/lab-maintenance.js';
import { createLabScheduler } from '../jobs/lab-scheduler.js';
import { defineArea, type Platform } from './area.js';
import { holderIdentity } from './leadership.js';

export interface LabsExports {
  readonly repo: KubeLabRepository;
  readonly service: LabService;
  /** Starts LMS roster syncs of bound labs (launches start them too). */
  readonly ltiRosterSync: LtiRosterSyncService;
}

/**
 * What the LMS roster sync and people-by-email take from the LTI area: the registrations, and the
 * tool's keys for the NRPS client (built here on the world's guarded LMS fetch). The directory is
 * the world's (`lms.directory`). A `membershipSource` or `directory` given here wins (tests).
 */
export interface LabsLtiPorts {
  readonly registrations: Pick<LtiRegistrationRepository, 'get'>;
  readonly toolKeys?: ToolKeys;
  readonly directory?: Directory;
  readonly membershipSource?: MembershipSource;
}

const notConfigured = (what: string) => new ConflictError('LTI_NOT_CONFIGURED', `${what} is not configured on this platform.`);
const NO_DIRECTORY: Directory = {
  lookup: async () => {
    throw notConfigured('The directory');
  },
};
const NO_MEMBERSHIP_SOURCE: MembershipSource = {
  members: async () => {
    throw notConfigured('The LMS membership service (NRPS)');
  },
};

/** Lab repository (watch-backed), use cases, job kinds, schedule and housekeeping loops (leader), API module. */
export const labsArea = defineArea({
  name: 'labs',
  needs: ['images', 'vms', 'lti'],
  async build(
    ctx: Pick<Platform, 'config' | 'logger' | 'clock' | 'world' | 'kube' | 'tenantRepo' | 'operations' | 'operationStore' | 'auditLog'> & {
      readonly images: { readonly locator: ImageLocator };
      readonly vms: { readonly repo: VmRepository; readonly service: VmService };
      /** The LTI area's registrations and tool keys (absent: LMS roster syncs refuse with clear codes). */
      readonly lti?: LabsLtiPorts;
    },
  ) {
    const { config } = ctx;
    const repo = createKubeLabRepository({ client: ctx.kube });
    await repo.start();
    const { azure } = ctx.world;
    const vmRepo = ctx.vms.repo;
    const directory = ctx.lti?.directory ?? ctx.world.lms.directory;
    const log = ctx.logger.child({ component: 'labs' });
    const toolKeys = ctx.lti?.toolKeys;
    const membershipSource =
      ctx.world.membershipSource ??
      ctx.lti?.membershipSource ??
      (toolKeys === undefined
        ? NO_MEMBERSHIP_SOURCE
        : createNrpsClient({ fetch: ctx.world.lms.platformFetch, keys: toolKeys, clock: ctx.clock, logger: log.child({ component: 'nrps' }) }));
    const registrations = ctx.lti?.registrations ?? { get: async () => undefined };
    const service = createLabService({
      labs: repo,
      vms: vmRepo,
      tenants: ctx.tenantRepo,
      images: ctx.images.locator,
      operations: ctx.operations,
      arcAvailable: azure.onboarding !== undefined,
      ...(directory === undefined ? {} : { directory }),
    });
    const ltiRosterSync = createLtiRosterSyncService({
      labs: repo,
      tenants: ctx.tenantRepo,
      operations: ctx.operations,
      operationStore: ctx.operationStore,
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
    const ltiScheduler = createLtiRosterScheduler({
      labs: repo,
      clock: ctx.clock,
      logger: log,
      everyHours: config.labs.ltiRosterSyncHours,
      start: async (lab) => {
        const op = await ltiRosterSync.startAs(LTI_SCHEDULE_PRINCIPAL, lab, 'schedule', LTI_SCHEDULE_PRINCIPAL.id);
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
      exports: { repo, service, ltiRosterSync } satisfies LabsExports,
      jobKinds: [
        labSyncJob(jobDeps),
        labStudentJob(jobDeps),
        labDeleteJob(jobDeps),
        labPowerJob(jobDeps),
        ltiRosterSyncJob({
          labs: repo,
          labService: service,
          registrations,
          membershipSource,
          directory: directory ?? NO_DIRECTORY,
          operationStore: ctx.operationStore,
          auditLog: ctx.auditLog,
          logger: log,
          clock: ctx.clock,
          recheckMs: ctx.world.timings.labRecheckMs,
        }),
      ],
      api: [labsModule(service, ltiRosterSync)],
      leaderLoops: [scheduler, maintenance, ltiScheduler],
      informers: () => repo.informers(),
      async close() {
        await scheduler.stop();
        await maintenance.stop();
        await ltiScheduler.stop();
        await repo.close();
      },
    };
  },
});
