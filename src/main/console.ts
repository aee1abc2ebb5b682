import type { Redis } from 'ioredis';
import type { FastifyInstance } from 'fastify';
import { createMemoryConsoleTicketStore } from '../adapters/memory/console-tickets.js';
import { createKubeConsoleDialer } from '../adapters/kubernetes/vm-console.js';
import { installConsoleRoutes } from '../api/console/routes.js';
import { ConsoleSessionRegistry, consoleSessionsGauge } from '../api/console/sessions.js';
import type { ConsoleDialer } from '../api/console/proxy.js';
import { consoleModule } from '../api/modules/index.js';
import type { PrincipalResolver } from '../domain/auth/authenticator.js';
import { UnauthenticatedError } from '../domain/shared/errors.js';
import type { Clock } from '../domain/shared/ids.js';
import { createConsoleService, type ConsoleService, type ConsoleTicketStore } from '../domain/vms/console.js';
import { defineArea, type Platform } from './area.js';
import type { LabsExports } from './labs.js';
import type { VmsExports } from './vms.js';

/** Key prefix of the console tickets on Redis (the same as the other stores'). */
const PREFIX = 'labplane';

export interface ConsoleExports {
  readonly service: ConsoleService;
  /** The consoles open in this process (caps, the gauge; tests look at their queued bytes). */
  readonly sessions: ConsoleSessionRegistry;
  /**
   * Hands the proxy the resolver of bearer tokens (a client may send one beside the ticket; it must
   * name the ticket's holder): built by the composition root after the areas.
   */
  usePrincipals(principals: PrincipalResolver): void;
}

/** On Redis with REDIS_URL (a ticket issued by one replica opens on another), else in memory. */
export async function consoleTicketStoreFor(redis: Redis | undefined, clock: Clock): Promise<ConsoleTicketStore> {
  if (redis === undefined) return createMemoryConsoleTicketStore(clock);
  const { createRedisConsoleTicketStore } = await import('../adapters/redis/console-tickets.js');
  return createRedisConsoleTicketStore({ redis, prefix: PREFIX });
}

/**
 * Browser consoles of VMs: the ticket use case (REST and GraphQL), the websocket proxy to the
 * cluster's `vnc` and `console` subresources (with the Kubernetes adapter's own credentials), and
 * the console pages. Its clock is the world's `consoleClock` when a test sets one.
 */
export const consoleArea = defineArea({
  name: 'console',
  needs: ['vms', 'labs'],
  async build(
    ctx: Pick<Platform, 'config' | 'clock' | 'world' | 'redis' | 'auditLog' | 'metrics'> & {
      readonly vms: Pick<VmsExports, 'repo'>;
      readonly labs: Pick<LabsExports, 'repo'>;
    },
  ) {
    const clock = ctx.world.consoleClock ?? ctx.clock;
    const limits = { perTenant: ctx.config.consoles.perTenant, perVm: ctx.config.consoles.perVm };
    const sessions = new ConsoleSessionRegistry();
    consoleSessionsGauge(ctx.metrics, sessions);
    const service = createConsoleService({
      vms: ctx.vms.repo,
      labs: ctx.labs.repo,
      tickets: await consoleTicketStoreFor(ctx.redis, clock),
      sessions,
      limits,
      clock,
    });
    let principals: PrincipalResolver = {
      resolve: async () => {
        throw new UnauthenticatedError('Sign-in is not ready yet.');
      },
    };
    const tuning = ctx.world.consoleTuning ?? {};
    const dial: ConsoleDialer = createKubeConsoleDialer({ kubeConfig: ctx.world.kubeConfig, connectTimeoutMs: ctx.config.kubeTimeoutMs });
    const routes = async (app: FastifyInstance) =>
      installConsoleRoutes(app, {
        consoles: service,
        dial,
        registry: sessions,
        limits,
        principals: { resolve: (token) => principals.resolve(token) },
        auditLog: ctx.auditLog,
        clock,
        idleTimeoutMs: ctx.config.consoles.idleTimeoutMs,
        maxSessionMs: ctx.config.consoles.maxSessionMs,
        ...(tuning.highWaterBytes === undefined ? {} : { highWaterBytes: tuning.highWaterBytes }),
        ...(tuning.checkEveryMs === undefined ? {} : { checkEveryMs: tuning.checkEveryMs }),
      });
    return {
      exports: {
        service,
        sessions,
        usePrincipals: (p) => {
          principals = p;
        },
      } satisfies ConsoleExports,
      api: [consoleModule(service, ctx.config.publicUrl)],
      routes: [routes],
    };
  },
});
