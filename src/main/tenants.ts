import { tenantsModule } from '../api/modules/index.js';
import { DEFAULT_PLATFORM_MAXIMA } from '../domain/tenants/tenant.js';
import { createTenantService, type TenantService } from '../domain/tenants/tenant-service.js';
import type { LtiRegistrationRepository } from '../domain/lti/ports.js';
import type { WebhookRepository } from '../domain/webhooks/webhook-repository.js';
import { tenantDeleteJob } from '../jobs/kinds/tenant-delete.js';
import { defineArea, type Platform } from './area.js';

export interface TenantsExports {
  readonly service: TenantService;
}

/**
 * Tenants: the use cases, the `tenant.delete` job kind and the API module. The repository is the
 * platform's (`Platform.tenantRepo`): every area and sign-in read tenancy from it. Deleting a tenant
 * also deletes its webhooks and LTI registrations, which live outside its namespace: hence
 * `needs: ['webhooks', 'lti']`.
 */
export const tenantsArea = defineArea({
  name: 'tenants',
  needs: ['webhooks', 'lti'],
  async build(
    ctx: Pick<Platform, 'tenantRepo' | 'operations'> & {
      readonly webhooks: { readonly repo: Pick<WebhookRepository, 'deleteAll'> };
      readonly lti: { readonly registrations: Pick<LtiRegistrationRepository, 'deleteAll'> };
    },
  ) {
    const service = createTenantService({ repo: ctx.tenantRepo, maxima: DEFAULT_PLATFORM_MAXIMA, operations: ctx.operations });
    return {
      exports: { service } satisfies TenantsExports,
      jobKinds: [tenantDeleteJob({ repo: ctx.tenantRepo, webhooks: ctx.webhooks.repo, ltiRegistrations: ctx.lti.registrations })],
      api: [tenantsModule(service)],
    };
  },
});
