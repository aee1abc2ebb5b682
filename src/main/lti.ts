import { randomUUID } from 'node:crypto';
import { createKubeLtiRegistrationRepository } from '../adapters/kubernetes/lti-registration-repository.js';
import { createKubeLtiToolKeys } from '../adapters/kubernetes/lti-tool-keys.js';
import { ltiModule } from '../api/modules/index.js';
import type { LtiRegistrationRepository, ToolKeys } from '../domain/lti/ports.js';
import { createLtiRegistrationService, type LtiRegistrationService } from '../domain/lti/registration-service.js';
import type { TenantRepository } from '../domain/tenants/tenant-repository.js';
import { createLtiKeyRotation } from '../jobs/lti-key-rotation.js';
import { defineArea, type Platform } from './area.js';

/** What other areas use of LTI (the launch, roster sync, tenant deletion). */
export interface LtiExports {
  readonly registrations: LtiRegistrationRepository;
  readonly toolKeys: ToolKeys;
  readonly registrationService: LtiRegistrationService;
}

/**
 * LTI 1.3: platform registrations (ConfigMaps in CONTROL_NAMESPACE, watch-backed), the tool's keys
 * (one Secret there, rotated by the leader every LTI_KEY_ROTATION_DAYS), the use cases and the API module.
 */
export const ltiArea = defineArea({
  name: 'lti',
  needs: [],
  async build(ctx: Pick<Platform, 'config' | 'logger' | 'clock' | 'kube'> & { readonly tenantRepo: Pick<TenantRepository, 'get'> }) {
    const { config } = ctx;
    const namespace = config.controlNamespace;
    const registrations = createKubeLtiRegistrationRepository({ client: ctx.kube, namespace, tenants: ctx.tenantRepo });
    const toolKeys = createKubeLtiToolKeys({ client: ctx.kube, namespace, clock: ctx.clock });
    await Promise.all([registrations.start(), toolKeys.start()]);
    const registrationService = createLtiRegistrationService({
      repo: registrations,
      tenants: ctx.tenantRepo,
      ids: { next: () => randomUUID() },
      clock: ctx.clock,
      allowHttp: config.lti.allowHttpPlatforms,
      keys: toolKeys,
    });
    const rotation = createLtiKeyRotation({
      keys: toolKeys,
      rotationDays: config.lti.keyRotationDays,
      logger: ctx.logger.child({ component: 'lti-keys' }),
    });
    return {
      exports: { registrations, toolKeys, registrationService } satisfies LtiExports,
      api: [ltiModule(registrationService, config.publicUrl)],
      leaderLoops: [rotation],
      informers: () => [...registrations.informers(), ...toolKeys.informers()],
      async close() {
        await rotation.stop();
        await registrations.close();
        await toolKeys.close();
      },
    };
  },
});
