import { createMemoryLtiRegistrationRepository } from '../../src/adapters/memory/lti-registration-repository.js';
import { ltiRegistrationRepositoryContract, LTI_TENANTS } from '../contracts/lti-registration-repository.contract.js';

ltiRegistrationRepositoryContract('memory', async () => {
  const repo = createMemoryLtiRegistrationRepository({ tenantExists: (t) => (LTI_TENANTS as readonly string[]).includes(t) });
  return {
    repo,
    async touch(r) {
      const { id, tenant, version: _v, createdAt: _c, createdBy: _b, ...input } = r;
      await repo.update(tenant, id, input);
    },
    close: async () => undefined,
  };
});
