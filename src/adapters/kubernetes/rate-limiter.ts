import { setTimeout as sleep } from 'node:timers/promises';
import { UpstreamUnavailableError } from '../../domain/shared/errors.js';

/** Client-side budget for requests to one API server. */
export interface RateLimitOptions {
  /** Sustained requests per second (default 20). */
  readonly qps?: number;
  /** Requests allowed at once after a quiet period (default 40). */
  readonly burst?: number;
  /**
   * Longest a caller waits for its turn, in ms (default 30 000). A caller that would wait longer
   * gets UpstreamUnavailableError `KUBERNETES_THROTTLED` at once, without taking a token.
   */
  readonly maxWaitMs?: number;
}

export interface RateLimiter {
  /** Resolves when the caller may send one request; waiters are served first come, first served. */
  acquire(): Promise<void>;
}

export interface RateLimiterDeps {
  /** Milliseconds, monotonic (default `performance.now`). */
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<unknown>;
}

export const DEFAULT_RATE_LIMIT = { qps: 20, burst: 40, maxWaitMs: 30_000 } as const;

/**
 * Token bucket: `burst` tokens, refilled at `qps` per second. Each `acquire` reserves the next token
 * (the balance may go negative) and waits until it is due, so concurrent callers queue fairly.
 */
export function createTokenBucket(options: RateLimitOptions = {}, deps: RateLimiterDeps = {}): RateLimiter {
  const qps = options.qps ?? DEFAULT_RATE_LIMIT.qps;
  const burst = options.burst ?? DEFAULT_RATE_LIMIT.burst;
  const maxWaitMs = options.maxWaitMs ?? DEFAULT_RATE_LIMIT.maxWaitMs;
  if (!(qps > 0) || !(burst >= 1)) throw new RangeError('rate limit needs qps > 0 and burst >= 1');
  const now = deps.now ?? (() => performance.now());
  const wait = deps.sleep ?? ((ms: number) => sleep(ms));
  let tokens = burst;
  let last = now();

  return {
    async acquire() {
      const t = now();
      tokens = Math.min(burst, tokens + ((t - last) / 1000) * qps);
      last = t;
      const delayMs = tokens >= 1 ? 0 : ((1 - tokens) / qps) * 1000;
      if (delayMs > maxWaitMs) {
        throw new UpstreamUnavailableError('KUBERNETES_THROTTLED', 'Too many Kubernetes writes are queued; try again later.', {
          retryAfterSeconds: Math.ceil(delayMs / 1000),
          details: { clientSide: true },
        });
      }
      tokens -= 1;
      if (delayMs > 0) await wait(delayMs);
    },
  };
}
