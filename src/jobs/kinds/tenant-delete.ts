import type { LtiRegistrationRepository } from '../../domain/lti/ports.js';
import type { TenantRepository } from '../../domain/tenants/tenant-repository.js';
import type { WebhookRepository } from '../../domain/webhooks/webhook-repository.js';
import { TENANT_DELETE_KIND } from '../../domain/tenants/tenant-service.js';
import { NotFoundError } from '../../domain/shared/errors.js';
import type { JobKind } from '../job-kind.js';

/** How often to look whether the namespace is gone, ms. */
const RECHECK_MS = 1_000;

function tenantOf(input: unknown): string {
  const t = (input as { tenant?: unknown }).tenant;
  if (typeof t !== 'string') throw new TypeError('tenant.delete: input.tenant is missing');
  return t;
}

/**
 * Deletes a tenant's namespace (Kubernetes removes everything in it), re-checks until the
 * namespace is gone, then deletes the tenant's webhooks and LTI registrations: they live outside its
 * namespace (in the control plane's), so nothing cascades to them. Deleting them last means none can
 * be registered after they went (a create needs the tenant). Canceling stops the waiting only: the
 * namespace keeps terminating.
 */
export function tenantDeleteJob(deps: {
  repo: Pick<TenantRepository, 'delete' | 'get'>;
  webhooks: Pick<WebhookRepository, 'deleteAll'>;
  /** Absent where LTI is not built (tests of other areas). */
  ltiRegistrations?: Pick<LtiRegistrationRepository, 'deleteAll'>;
}): JobKind {
  return {
    kind: TENANT_DELETE_KIND,
    firstStep: 'delete-namespace',
    retry: { attempts: 8, baseDelayMs: 1_000, maxDelayMs: 30_000 },
    steps: {
      'delete-namespace': async ({ operation }) => {
        try {
          await deps.repo.delete(tenantOf(operation.input));
        } catch (err) {
          // Gone already (a retry after a crash, or someone else deleted it): the goal holds.
          if (!(err instanceof NotFoundError)) throw err;
        }
        return { type: 'next', step: 'wait-until-gone', progress: 50 };
      },
      'wait-until-gone': async ({ operation }) => {
        const tenant = tenantOf(operation.input);
        if ((await deps.repo.get(tenant)) !== undefined) return { type: 'recheck', delayMs: RECHECK_MS, progress: 75 };
        return { type: 'next', step: 'delete-webhooks', progress: 90 };
      },
      'delete-webhooks': async ({ operation }) => {
        const tenant = tenantOf(operation.input);
        const webhooks = await deps.webhooks.deleteAll(tenant);
        const lti = (await deps.ltiRegistrations?.deleteAll(tenant)) ?? 0;
        return { type: 'done', result: { tenant, deleted: true, webhooksDeleted: webhooks, ltiRegistrationsDeleted: lti } };
      },
    },
  };
}
