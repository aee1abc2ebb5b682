import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { seedSimLmsRegistration, SIM_LMS_PATH, simLmsPlugin, type SimLms } from '../adapters/sim/lms/index.js';
import { createKubeLtiRegistrationRepository } from '../adapters/kubernetes/lti-registration-repository.js';
import { createKubeLtiToolKeys } from '../adapters/kubernetes/lti-tool-keys.js';
import { ltiModule } from '../api/modules/index.js';
import type { LtiRegistrationRepository, ToolKeys } from '../domain/lti/ports.js';
import { ConflictError } from '../domain/shared/errors.js';
import type { Clock } from '../domain/shared/ids.js';
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
  async build(ctx: Pick<Platform, 'config' | 'logger' | 'clock' | 'kube' | 'world'> & { readonly tenantRepo: Pick<TenantRepository, 'get'> }) {
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
      routes: ctx.world.lms.simLms === undefined ? [] : [simLmsRoutes(ctx.world.lms.simLms, registrations, ctx.logger, ctx.clock)],
      informers: () => [...registrations.informers(), ...toolKeys.informers()],
      async close() {
        await rotation.stop();
        await registrations.close();
        await toolKeys.close();
      },
    };
  },
});

/** Who registered the simulated LMS (it registers itself in the demo tenant). */
const SIM_LMS_REGISTRANT = 'system:simulated-lms';

/**
 * The embedded default's simulated LMS under /sim/lms. Its issuer and URLs are those of the origin
 * it is reached at (PUBLIC_URL, or the browser's origin: the port may be chosen at listen time), so
 * it registers itself in the demo tenant, once per origin, when one of its pages is opened.
 */
function simLmsRoutes(lms: SimLms, registrations: LtiRegistrationRepository, logger: Logger, clock: Clock): (app: FastifyInstance) => Promise<void> {
  const registered = new Set<string>();
  async function ensureRegistered(request: FastifyRequest): Promise<void> {
    const origin = lms.baseUrl() ?? `${request.protocol}://${request.host}`;
    if (registered.has(origin)) return;
    const input = seedSimLmsRegistration(origin);
    if ((await registrations.findByClient(input.issuer, input.clientId)) === undefined) {
      await registrations
        .create({ ...input, id: randomUUID(), createdAt: clock.now().toISOString(), createdBy: SIM_LMS_REGISTRANT })
        .catch((err: unknown) => {
          if (!(err instanceof ConflictError)) throw err;
        });
      logger.info({ issuer: input.issuer, tenant: input.tenant }, 'the simulated LMS registered itself');
    }
    registered.add(origin);
  }
  return async (app) => {
    app.addHook('onRequest', async (request) => {
      const path = request.url.split('?')[0] ?? '';
      if (request.method === 'GET' && (path === SIM_LMS_PATH || path.startsWith(`${SIM_LMS_PATH}/courses/`))) await ensureRegistered(request);
    });
    await simLmsPlugin(app, { lms });
  };
}
