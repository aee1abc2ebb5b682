import { AsyncLocalStorage } from 'node:async_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CoreV1Api,
  CustomObjectsApi,
  NetworkingV1Api,
  RbacAuthorizationV1Api,
  ServerConfiguration,
  VersionApi,
  createConfiguration,
  type KubeConfig,
  type Middleware,
} from '@kubernetes/client-node';
import { UpstreamUnavailableError } from '../../domain/shared/errors.js';
import { translateKubeError, type KubeCallContext } from './errors.js';
import { createTokenBucket, type RateLimitOptions, type RateLimiter } from './rate-limiter.js';

/** Structured logger (pino-compatible subset). */
export interface KubeLogger {
  debug(obj: Record<string, unknown>, msg: string): void;
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
}

/** Retries of requests the server refused with 429 Too Many Requests. */
export interface ThrottleRetryOptions {
  /** Retries after the first attempt (default 3). */
  readonly maxRetries?: number;
  /**
   * Longest `Retry-After` the adapter waits out itself, in seconds (default 5). A longer one ends the
   * retries at once with UpstreamUnavailableError `KUBERNETES_THROTTLED` carrying `retryAfterSeconds`.
   */
  readonly maxRetryAfterSeconds?: number;
}

export interface KubeClientDeps {
  readonly kubeConfig: KubeConfig;
  readonly logger: KubeLogger;
  /** Per-request timeout in ms, connection to last byte (default 10 000). Watches are not bound by it. */
  readonly timeoutMs?: number;
  readonly rateLimit?: RateLimitOptions;
  readonly throttleRetry?: ThrottleRetryOptions;
  /** Injected for tests; used for retry waits. */
  readonly sleep?: (ms: number) => Promise<unknown>;
  readonly limiter?: RateLimiter;
}

export interface KubeRequestContext extends KubeCallContext {
  /** Writes take a token of the client-side rate limiter first. */
  readonly write: boolean;
}

/** Typed API groups over one connection, and the one way requests are sent. */
export interface KubeClient {
  readonly kubeConfig: KubeConfig;
  readonly core: CoreV1Api;
  readonly rbac: RbacAuthorizationV1Api;
  readonly networking: NetworkingV1Api;
  readonly custom: CustomObjectsApi;
  readonly version: VersionApi;
  readonly logger: KubeLogger;
  /** Per-request timeout in ms (requests that do not go through the typed clients use it too). */
  readonly timeoutMs: number;
  /**
   * Sends one request through the budget: writes wait for a rate-limit token; 429 answers are retried
   * (bounded, honouring Retry-After); failures come back as domain errors (see `translateKubeError`).
   */
  request<T>(ctx: KubeRequestContext, send: () => Promise<T>): Promise<T>;
}

export const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * The URL path of the request `send` made, recorded by the middleware: client-node's ApiException
 * does not carry it, and a 404 must say which resource was not served.
 */
const sent = new AsyncLocalStorage<{ path?: string }>();

function requestMiddleware(timeoutMs: number): Middleware {
  return {
    pre: (ctx) => {
      const slot = sent.getStore();
      if (slot !== undefined) slot.path = new URL(ctx.getUrl()).pathname;
      const own = AbortSignal.timeout(timeoutMs);
      const given = ctx.getSignal();
      ctx.setSignal(given === undefined ? own : AbortSignal.any([given, own]));
      return Promise.resolve(ctx);
    },
    post: (res) => Promise.resolve(res),
  };
}

/** Builds the API clients for the current cluster of `kubeConfig`; sends nothing. */
export function createKubeClient(deps: KubeClientDeps): KubeClient {
  const cluster = deps.kubeConfig.getCurrentCluster();
  if (cluster === null) throw new Error('The Kubernetes configuration names no current cluster.');
  const timeoutMs = deps.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const configuration = createConfiguration({
    baseServer: new ServerConfiguration(cluster.server, {}),
    authMethods: { default: deps.kubeConfig },
    promiseMiddleware: [requestMiddleware(timeoutMs)],
  });
  const limiter = deps.limiter ?? createTokenBucket(deps.rateLimit);
  const maxRetries = deps.throttleRetry?.maxRetries ?? 3;
  const maxRetryAfter = deps.throttleRetry?.maxRetryAfterSeconds ?? 5;
  const wait = deps.sleep ?? ((ms: number) => sleep(ms));
  const { logger } = deps;

  async function request<T>(ctx: KubeRequestContext, send: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      if (ctx.write) await limiter.acquire();
      const slot: { path?: string } = {};
      try {
        return await sent.run(slot, send);
      } catch (raw) {
        const err = translateKubeError(raw, slot.path === undefined ? ctx : { ...ctx, path: slot.path });
        const throttled = err instanceof UpstreamUnavailableError && err.code === 'KUBERNETES_THROTTLED';
        if (!throttled || attempt >= maxRetries) throw err;
        const after = err.retryAfterSeconds ?? 0.25 * 2 ** attempt;
        if (after > maxRetryAfter) throw err;
        logger.debug({ what: ctx.what, attempt, retryAfterSeconds: after }, 'kubernetes throttled the request; retrying');
        await wait(after * 1000);
      }
    }
  }

  return {
    kubeConfig: deps.kubeConfig,
    core: new CoreV1Api(configuration),
    rbac: new RbacAuthorizationV1Api(configuration),
    networking: new NetworkingV1Api(configuration),
    custom: new CustomObjectsApi(configuration),
    version: new VersionApi(configuration),
    logger,
    timeoutMs,
    request,
  };
}
