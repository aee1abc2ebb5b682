import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { createIdTokenVerifier } from '../adapters/lti/id-token-verifier.js';
import { createMemoryLaunchStateStore, createMemoryLtiSessionStore, createMemoryNonceLedger } from '../adapters/memory/lti-stores.js';
import { ltiLaunchModule, type LtiLaunchDeps } from '../api/lti/launch.js';
import type { ApiModule } from '../api/module.js';
import type { LaunchStateStore, LtiSessionStore, NonceLedger, PlatformFetch } from '../domain/lti/ports.js';
import type { Clock } from '../domain/shared/ids.js';
import type { Config } from './config.js';

/** Key prefix of the LTI stores on Redis (the same as the other stores'). */
const PREFIX = 'labplane';

export interface LtiLaunchStores {
  readonly states: LaunchStateStore;
  readonly nonces: NonceLedger;
  /** Also read by the learner and instructor pages. */
  readonly sessions: LtiSessionStore;
}

/**
 * On Redis when the process has it (REDIS_URL; shared by replicas), else in memory (the embedded
 * default). The Redis adapters are loaded only then, like the other stores'.
 */
export async function ltiLaunchStores(redis: Redis | undefined, clock: Clock): Promise<LtiLaunchStores> {
  if (redis === undefined) {
    return { states: createMemoryLaunchStateStore(clock), nonces: createMemoryNonceLedger(clock), sessions: createMemoryLtiSessionStore(clock) };
  }
  const { createRedisLaunchStateStore, createRedisLtiSessionStore, createRedisNonceLedger } = await import('../adapters/redis/lti-stores.js');
  return {
    states: createRedisLaunchStateStore({ redis, prefix: PREFIX }),
    nonces: createRedisNonceLedger({ redis, prefix: PREFIX }),
    sessions: createRedisLtiSessionStore({ redis, prefix: PREFIX }),
  };
}

export type LtiLaunchModuleInput = Omit<
  LtiLaunchDeps,
  'verifier' | 'states' | 'nonces' | 'sessions' | 'publicUrl' | 'frameAncestors' | 'clock' | 'logger'
> & {
  readonly config: Pick<Config, 'publicUrl' | 'ltiFrameAncestors'>;
  readonly logger: Logger;
  readonly clock: Clock;
  /** The process's Redis client, when it has one. */
  readonly redis: Redis | undefined;
  /** How platform JWKS are fetched (the outbound guard). */
  readonly fetch: PlatformFetch;
};

/** The launch's API module with its stores (the sessions are shared with the learner and instructor pages). */
export async function buildLtiLaunch(input: LtiLaunchModuleInput): Promise<{ readonly module: ApiModule; readonly stores: LtiLaunchStores }> {
  const { config, redis, fetch, logger, clock, ...ports } = input;
  const stores = await ltiLaunchStores(redis, clock);
  const module = ltiLaunchModule({
    ...ports,
    ...stores,
    verifier: createIdTokenVerifier({ fetch, clock }),
    logger: logger.child({ component: 'lti' }),
    clock,
    ...(config.publicUrl === undefined ? {} : { publicUrl: config.publicUrl }),
    frameAncestors: config.ltiFrameAncestors,
  });
  return { module, stores };
}
