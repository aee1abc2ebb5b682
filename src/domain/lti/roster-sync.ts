import { authorize } from '../auth/policy.js';
import { makePrincipal, type Principal } from '../auth/principal.js';
import type { LabRepository } from '../labs/lab-repository.js';
import { labTargetId, type LabRecord } from '../labs/lab.js';
import { toOperation, type Operation } from '../operations/operation.js';
import type { OperationService } from '../operations/operation-service.js';
import type { OperationStore } from '../operations/operation-store.js';
import { ConflictError, NotFoundError } from '../shared/errors.js';
import type { TenantRepository } from '../tenants/tenant-repository.js';
import type { LtiSyncStatus } from './binding.js';
import type { LtiRosterSync } from './ports.js';

/** Job kind of a lab's roster sync from its LMS course (NRPS → directory → roster sync). */
export const LTI_ROSTER_SYNC_KIND = 'lti.roster-sync';

export type LtiSyncTrigger = LtiSyncStatus['trigger'];
export const LTI_SYNC_TRIGGERS: readonly LtiSyncTrigger[] = ['schedule', 'launch', 'manual'];

/** The platform's scheduled work (the same id as lab housekeeping). */
export const LTI_SCHEDULE_PRINCIPAL = makePrincipal({ id: 'labplane-maintenance', name: 'lab maintenance', kind: 'service', platformAdmin: true });

/** The LMS integration: a launch-triggered sync acts as it, on behalf of the instructor who launched. */
export function ltiIntegrationPrincipal(onBehalfOf: string): Principal {
  return { ...makePrincipal({ id: 'labplane-lti', name: 'LMS integration', kind: 'service', platformAdmin: true }), onBehalfOf };
}

/** The operation target of a lab's LMS roster sync: the lab, as for `lab.sync`. */
export function ltiSyncTarget(tenant: string, lab: string) {
  return { type: 'lab', id: labTargetId(tenant, lab), name: lab };
}

/** Refuses a lab that has no LMS roster to sync. */
export function refuseUnbound(lab: LabRecord): void {
  if (lab.status.deletionRequestedAt !== undefined || lab.deleting) throw new ConflictError('LAB_DELETING', `Lab '${lab.name}' is being deleted.`);
  if (lab.lti === undefined)
    throw new ConflictError('LAB_NOT_LTI_BOUND', `Lab '${lab.name}' is not bound to an LMS course; bind it from the course (Deep Linking) first.`);
  if (lab.lti.membershipsUrl === undefined)
    throw new ConflictError(
      'LTI_NO_MEMBERSHIP_SERVICE',
      `The LMS did not offer its Names and Role Provisioning service for the course of lab '${lab.name}'; enable it and launch the lab again from the course.`,
    );
}

export interface LtiRosterSyncServiceDeps {
  readonly labs: Pick<LabRepository, 'get'>;
  readonly tenants: Pick<TenantRepository, 'get'>;
  readonly operations: Pick<OperationService, 'start'>;
  readonly operationStore: Pick<OperationStore, 'list'>;
}

export interface LtiRosterSyncService extends LtiRosterSync {
  /** Starts a `manual` sync for `p` (`lab.write`; another tenant's lab is 404, an unbound one 409). */
  syncFromLms(p: Principal, tenant: string, lab: string): Promise<Operation>;
  /** Starts a sync as `p` (already authorized), or answers the one of the lab still queued or running. */
  startAs(p: Principal, lab: LabRecord, trigger: LtiSyncTrigger, requestedBy: string): Promise<Operation>;
}

/**
 * Starts `lti.roster-sync` operations. One lab has at most one waiting or running sync: a start
 * while one is queued or running answers that one (and the job runs syncs of a lab one after the
 * other should two starts race).
 */
export function createLtiRosterSyncService(deps: LtiRosterSyncServiceDeps): LtiRosterSyncService {
  async function startAs(p: Principal, lab: LabRecord, trigger: LtiSyncTrigger, requestedBy: string): Promise<Operation> {
    refuseUnbound(lab);
    const target = ltiSyncTarget(lab.tenant, lab.name);
    const running = await deps.operationStore.list(
      { tenant: lab.tenant, kind: LTI_ROSTER_SYNC_KIND, target: { type: target.type, id: target.id }, status: ['queued', 'running'] },
      { limit: 1 },
    );
    const first = running.items[0];
    if (first !== undefined) return toOperation(first);
    return deps.operations.start(p, {
      kind: LTI_ROSTER_SYNC_KIND,
      tenant: lab.tenant,
      target,
      input: { tenant: lab.tenant, lab: lab.name, trigger, requestedBy },
    });
  }

  async function loadLab(tenant: string, name: string): Promise<LabRecord> {
    const lab = await deps.labs.get(tenant, name);
    if (lab === undefined) throw new NotFoundError('lab', name);
    return lab;
  }

  return {
    startAs,

    async syncFromLms(p, tenant, name) {
      authorize(p, 'lab.write', { tenant });
      if ((await deps.tenants.get(tenant)) === undefined) throw new NotFoundError('tenant', tenant);
      return startAs(p, await loadLab(tenant, name), 'manual', p.id);
    },

    async start(tenant, name, trigger, by) {
      const p =
        trigger === 'schedule'
          ? LTI_SCHEDULE_PRINCIPAL
          : trigger === 'launch'
            ? ltiIntegrationPrincipal(by)
            : makePrincipal({ id: by, platformAdmin: false });
      const op = await startAs(p, await loadLab(tenant, name), trigger, by);
      return { operationId: op.id };
    },
  };
}
