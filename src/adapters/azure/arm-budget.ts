import { performance } from 'node:perf_hooks';
import type { HybridComputeManagementClientOptionalParams } from '@azure/arm-hybridcompute';
import { createTokenBucket, type TokenBucket } from '../../domain/identity/token-bucket.js';
import { currentCallPriority } from '../../domain/operations/call-priority.js';
import type { Clock } from '../../domain/shared/ids.js';
import { UpstreamUnavailableError } from '../../domain/shared/errors.js';
import { armResourceOf, type UpstreamMetrics } from '../../domain/shared/upstream-metrics.js';
import { retryAfterSecondsOf } from './arm-errors.js';
import type { AzureLogger } from './logger.js';

/** A pipeline policy as the Azure SDK clients take it (`additionalPolicies`). */
export type ArmPipelinePolicy = NonNullable<HybridComputeManagementClientOptionalParams['additionalPolicies']>[number]['policy'];

/** ARM's three throttling buckets (per subscription, per principal, per region). */
export type ArmRequestKind = 'reads' | 'writes' | 'deletes';

export interface BucketLimits {
  /** Sustained requests per second. */
  readonly ratePerSecond: number;
  /** Requests allowed at once after a quiet period. */
  readonly burst: number;
}

export interface ArmBudgetOptions {
  /** Requests by verb, resource type and status; budget waits; 429s. */
  readonly metrics?: UpstreamMetrics;
  /** Default 25/s, burst 250 (ARM's own read bucket). */
  readonly reads?: BucketLimits;
  /** Default 10/s, burst 200. */
  readonly writes?: BucketLimits;
  /** Default 10/s, burst 200. */
  readonly deletes?: BucketLimits;
  /**
   * Longest a call waits for its client-side turn, in ms (default 30 000). A call that would wait
   * longer fails at once with UpstreamUnavailableError `AZURE_THROTTLED` (`details.clientSide`).
   */
  readonly maxWaitMs?: number;
  /**
   * Longest `Retry-After` of a 429 that is waited out inside the call, in seconds (default 10).
   * A longer one ends the call at once with UpstreamUnavailableError `AZURE_THROTTLED` carrying
   * `retryAfterSeconds`, so the job re-checks later instead of holding a worker.
   */
  readonly maxInlineRetryAfterSeconds?: number;
  readonly clock?: Clock;
  readonly sleep?: (ms: number) => Promise<void>;
}

export const DEFAULT_ARM_LIMITS: Readonly<Record<ArmRequestKind, BucketLimits>> = {
  reads: { ratePerSecond: 25, burst: 250 },
  writes: { ratePerSecond: 10, burst: 200 },
  deletes: { ratePerSecond: 10, burst: 200 },
};

/** Requests sent and 429s received through a budget since it was created. */
export interface ArmBudgetStats {
  readonly reads: number;
  readonly writes: number;
  readonly deletes: number;
  readonly throttled: number;
}

/**
 * The client-side ARM budget of ONE principal: share a single instance between every client that
 * uses the same credential (ARM counts per principal), e.g. the Arc and the access adapters.
 */
export interface ArmBudget {
  readonly buckets: Readonly<Record<ArmRequestKind, TokenBucket>>;
  readonly maxInlineRetryAfterMs: number;
  stats(): ArmBudgetStats;
  /** Waits for a token of `kind`; counts the request. */
  take(kind: ArmRequestKind): Promise<void>;
  /** Records a 429 of `kind` and pauses that bucket until `retryAfterMs` has passed. */
  throttled(kind: ArmRequestKind, retryAfterMs: number | undefined): void;
  /** Records an answer (or `error`: none came) for metrics. */
  answered(method: string, url: string, status: number | 'error'): void;
}

export function createArmBudget(options: ArmBudgetOptions = {}): ArmBudget {
  const maxWaitMs = options.maxWaitMs ?? 30_000;
  const clock = options.clock;
  const bucket = (kind: ArmRequestKind) =>
    createTokenBucket({
      ...(options[kind] ?? DEFAULT_ARM_LIMITS[kind]),
      maxWaitMs,
      throttledCode: 'AZURE_THROTTLED',
      // Waiting calls by their step's operation rank, as the Kubernetes budget (createKubeBudget).
      priority: currentCallPriority,
      ...(clock === undefined ? {} : { clock }),
      ...(options.sleep === undefined ? {} : { sleep: options.sleep }),
    });
  const buckets = { reads: bucket('reads'), writes: bucket('writes'), deletes: bucket('deletes') };
  const counts = { reads: 0, writes: 0, deletes: 0, throttled: 0 };
  const nowMs = () => (clock === undefined ? Date.now() : clock.now().getTime());
  const metrics = options.metrics;
  return {
    answered(method, url, status) {
      metrics?.request({ upstream: 'arm', verb: method.toUpperCase(), resource: armResourceOf(url), status });
    },
    buckets,
    maxInlineRetryAfterMs: (options.maxInlineRetryAfterSeconds ?? 10) * 1000,
    stats: () => ({ ...counts }),
    async take(kind) {
      const t0 = metrics === undefined ? 0 : performance.now();
      await buckets[kind].take();
      if (metrics !== undefined) metrics.budgetWait('arm', (performance.now() - t0) / 1000);
      counts[kind] += 1;
    },
    throttled(kind, retryAfterMs) {
      counts.throttled += 1;
      metrics?.throttled('arm');
      if (retryAfterMs !== undefined && retryAfterMs > 0) buckets[kind].pauseUntil(nowMs() + retryAfterMs);
    },
  };
}

export function requestKindOf(method: string): ArmRequestKind {
  const m = method.toUpperCase();
  if (m === 'GET' || m === 'HEAD') return 'reads';
  if (m === 'DELETE') return 'deletes';
  return 'writes';
}

/**
 * The budget as an SDK pipeline policy, placed per retry (after the SDK's retry and auth policies,
 * right before the wire), so every attempt — first sends, SDK retries, LRO status polls — takes a
 * token of its kind.
 *
 * How it cooperates with the SDK's default retry policy (3 retries; a 429 or 503 with `Retry-After`
 * is retried after exactly that delay, other 5xx and network errors with exponential backoff):
 * - on a 429 (or a 503 with `Retry-After`) it pauses the bucket of that kind until the same instant
 *   the SDK will retry at, so other calls of the same principal hold back too, and the SDK's retry
 *   finds the pause already over: no double wait;
 * - when `Retry-After` exceeds `maxInlineRetryAfterMs` it throws UpstreamUnavailableError
 *   `AZURE_THROTTLED` (a non-RestError, which the SDK's retry policy does not retry), so the job
 *   reschedules itself with `retryAfterSeconds` instead of holding a worker for minutes;
 * - after the SDK's last retry the 429 surfaces as RestError and is translated to the same error:
 *   the caller never gives up for good on a throttle, it retries later.
 */
export function armBudgetPolicy(budget: ArmBudget, logger: AzureLogger): ArmPipelinePolicy {
  return {
    name: 'labplaneArmBudget',
    async sendRequest(request, next) {
      const kind = requestKindOf(request.method);
      await budget.take(kind);
      let response;
      try {
        response = await next(request);
      } catch (err) {
        budget.answered(request.method, request.url, 'error');
        throw err;
      }
      budget.answered(request.method, request.url, response.status);
      const retryAfter = retryAfterMsOf(response);
      if (response.status === 429 || (response.status === 503 && retryAfter !== undefined)) {
        budget.throttled(kind, retryAfter);
        logger.warn({ kind, status: response.status, retryAfterMs: retryAfter ?? null }, 'Azure Resource Manager throttled a request');
        if (retryAfter !== undefined && retryAfter > budget.maxInlineRetryAfterMs) {
          throw new UpstreamUnavailableError('AZURE_THROTTLED', 'Azure Resource Manager is throttling requests; try again later.', {
            retryAfterSeconds: Math.ceil(retryAfter / 1000),
            details: { kind, statusCode: response.status },
          });
        }
      }
      return response;
    },
  };
}

function retryAfterMsOf(response: { headers: { get(name: string): string | undefined } }): number | undefined {
  const get = (h: string) => response.headers.get(h);
  const ms = Number(get('retry-after-ms') ?? get('x-ms-retry-after-ms'));
  if (Number.isFinite(ms) && (get('retry-after-ms') ?? get('x-ms-retry-after-ms')) !== undefined) return ms;
  const seconds = retryAfterSecondsOf(get);
  return seconds === undefined ? undefined : seconds * 1000;
}
