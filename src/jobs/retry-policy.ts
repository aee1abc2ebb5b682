import { backoffMs } from '../domain/shared/backoff.js';
import { UpstreamUnavailableError } from '../domain/shared/errors.js';
import type { RetryPolicy } from './job-kind.js';

/**
 * Delay before retry number `attempt + 1` of a step whose run number `attempt` (1-based) failed:
 * exponential backoff with full jitter, `random() * min(maxDelayMs, baseDelayMs * 2^(attempt-1))`,
 * but never less than the upstream's Retry-After when the error carries one. Milliseconds.
 */
export function retryDelayMs(attempt: number, policy: RetryPolicy, err: unknown, random: () => number = Math.random): number {
  const jittered = backoffMs(attempt - 1, { baseMs: policy.baseDelayMs, maxMs: policy.maxDelayMs }, random);
  const retryAfterMs = err instanceof UpstreamUnavailableError && err.retryAfterSeconds !== undefined ? Math.ceil(err.retryAfterSeconds * 1000) : 0;
  return Math.max(jittered, retryAfterMs);
}

/** True when a step that failed on run `attempt` may run again under `policy`. */
export function mayRetry(attempt: number, policy: RetryPolicy): boolean {
  return attempt < policy.attempts;
}
