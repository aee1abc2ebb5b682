import { AsyncLocalStorage } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';
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
import { createTokenBucket, type TokenBucket, type TokenBucketOptions } from '../../domain/identity/token-bucket.js';
import { currentCallPriority } from '../../domain/operations/call-priority.js';
import { backoffMs } from '../../domain/shared/backoff.js';
import { UpstreamUnavailableError } from '../../domain/shared/errors.js';
import { kubeResourceOf, type UpstreamMetrics } from '../../domain/shared/upstream-metrics.js';
import { translateKubeError, type KubeCallContext } from './errors.js';

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

/**
 * Client-side budget for requests to one API server (KUBE_QPS / KUBE_BURST): the one token bucket of
 * the code base (`domain/identity/token-bucket.ts`, with its 1 ms margin), so its option names. A
 * caller that would wait longer than `maxWaitMs` (default 30 000) gets UpstreamUnavailableError
 * `KUBERNETES_THROTTLED` at once, without taking a token.
 */
export type KubeRateLimit = Partial<Pick<TokenBucketOptions, 'ratePerSecond' | 'burst' | 'maxWaitMs' | 'clock' | 'sleep'>>;

export const DEFAULT_RATE_LIMIT = { ratePerSecond: 20, burst: 40, maxWaitMs: 30_000 } as const;

/**
 * The request budget of a Kubernetes client. Callers that must wait are served by their step's
 * operation rank (`currentCallPriority`: a lab's first students' whole chains before the next
 * students' first calls), calls outside any step first. Measured with `npm run bench:labs`: the
 * first VM object of a 150-student lab 0.9 s after the request instead of 3.5 s in arrival order;
 * a 500-student lab 146 s instead of 153 s.
 */
export function createKubeBudget(options: KubeRateLimit = {}): TokenBucket {
  return createTokenBucket({ ...DEFAULT_RATE_LIMIT, ...options, throttledCode: 'KUBERNETES_THROTTLED', priority: currentCallPriority });
}

export interface KubeClientDeps {
  readonly kubeConfig: KubeConfig;
  readonly logger: KubeLogger;
  /** Per-request timeout in ms, connection to last byte (default 10 000). Watches are not bound by it. */
  readonly timeoutMs?: number;
  readonly rateLimit?: KubeRateLimit;
  readonly throttleRetry?: ThrottleRetryOptions;
  /** Injected for tests; used for retry waits. */
  readonly sleep?: (ms: number) => Promise<unknown>;
  /** [0, 1) source of the retry jitter; Math.random by default. */
  readonly random?: () => number;
  /** Injected for tests: the budget itself (default `createKubeBudget(rateLimit)`). */
  readonly limiter?: Pick<TokenBucket, 'take'>;
  /** Requests by verb, resource and status; budget waits; 429s. */
  readonly metrics?: UpstreamMetrics;
}

export interface KubeRequestContext extends KubeCallContext {
  /** Whether the request changes anything (for logs; reads and writes alike take a token of the budget). */
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
   * Sends one request through the budget: every request (read or write; watches are not requests)
   * waits for a token; 429 answers are retried (bounded, honouring Retry-After, else a jittered
   * backoff); failures come back as domain errors (see `translateKubeError`).
   */
  request<T>(ctx: KubeRequestContext, send: () => Promise<T>): Promise<T>;
}

export const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * The URL path of the request `send` made, recorded by the middleware: client-node's ApiException
 * does not carry it, and a 404 must say which resource was not served.
 */
const sent = new AsyncLocalStorage<Sent>();

interface Sent {
  path?: string;
  method?: string;
  status?: number;
}

function requestMiddleware(timeoutMs: number): Middleware {
  return {
    pre: (ctx) => {
      const slot = sent.getStore();
      if (slot !== undefined) {
        slot.path = new URL(ctx.getUrl()).pathname;
        slot.method = ctx.getHttpMethod();
      }
      const own = AbortSignal.timeout(timeoutMs);
      const given = ctx.getSignal();
      ctx.setSignal(given === undefined ? own : AbortSignal.any([given, own]));
      return Promise.resolve(ctx);
    },
    post: (res) => {
      const slot = sent.getStore();
      if (slot !== undefined) slot.status = res.httpStatusCode;
      return Promise.resolve(res);
    },
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
  const limiter = deps.limiter ?? createKubeBudget(deps.rateLimit);
  const random = deps.random ?? Math.random;
  const maxRetries = deps.throttleRetry?.maxRetries ?? 3;
  const maxRetryAfter = deps.throttleRetry?.maxRetryAfterSeconds ?? 5;
  const wait = deps.sleep ?? ((ms: number) => sleep(ms));
  const { logger, metrics } = deps;
  const record = (slot: Sent): void => {
    if (metrics === undefined || slot.method === undefined) return;
    metrics.request({ upstream: 'kubernetes', verb: slot.method, resource: kubeResourceOf(slot.path ?? ''), status: slot.status ?? 'error' });
  };

  async function request<T>(ctx: KubeRequestContext, send: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const t0 = metrics === undefined ? 0 : performance.now();
      await limiter.take();
      if (metrics !== undefined) metrics.budgetWait('kubernetes', (performance.now() - t0) / 1000);
      const slot: Sent = {};
      try {
        const res = await sent.run(slot, send);
        record(slot);
        return res;
      } catch (raw) {
        record(slot);
        const err = translateKubeError(raw, slot.path === undefined ? ctx : { ...ctx, path: slot.path });
        const throttled = err instanceof UpstreamUnavailableError && err.code === 'KUBERNETES_THROTTLED';
        if (throttled) metrics?.throttled('kubernetes');
        if (!throttled || attempt >= maxRetries) throw err;
        const after = err.retryAfterSeconds ?? backoffMs(attempt, { baseMs: 250, maxMs: maxRetryAfter * 1000, jitter: 'equal' }, random) / 1000;
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
