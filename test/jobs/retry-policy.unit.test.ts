import { describe, expect, it } from 'vitest';
import { UpstreamRejectedError, UpstreamUnavailableError } from '../../src/domain/shared/errors.js';
import { mayRetry, retryDelayMs } from '../../src/jobs/retry-policy.js';
import { validateJobKind } from '../../src/jobs/job-kind.js';

const policy = { attempts: 4, baseDelayMs: 100, maxDelayMs: 1_000 };
const transient = new UpstreamUnavailableError('KUBERNETES_UNAVAILABLE', 'x');

describe('retry policy', () => {
  it('doubles the jitter ceiling each attempt up to the maximum', () => {
    expect([1, 2, 3, 4, 5, 6].map((a) => retryDelayMs(a, policy, transient, () => 0.999999))).toEqual([99, 199, 399, 799, 999, 999]);
  });

  it('draws the delay uniformly below the ceiling (full jitter)', () => {
    expect(retryDelayMs(3, policy, transient, () => 0)).toBe(0);
    expect(retryDelayMs(3, policy, transient, () => 0.5)).toBe(200);
  });

  it('never waits less than the upstream Retry-After, even above the maximum', () => {
    const throttled = new UpstreamUnavailableError('AZURE_THROTTLED', 'slow down', { retryAfterSeconds: 7 });
    expect(retryDelayMs(1, policy, throttled, () => 0)).toBe(7_000);
    expect(retryDelayMs(1, policy, new UpstreamRejectedError('KUBERNETES_REJECTED', 'x'), () => 0.5)).toBe(50);
  });

  it('allows runs up to the number of attempts', () => {
    expect([1, 2, 3, 4].map((a) => mayRetry(a, policy))).toEqual([true, true, true, false]);
  });
});

describe('job kind validation', () => {
  const ok = { kind: 'vm.create', firstStep: 'a', steps: { a: async () => ({ type: 'done' as const }) }, retry: policy };
  it('accepts a well-formed kind and refuses step names unusable in job ids', () => {
    expect(() => validateJobKind(ok)).not.toThrow();
    expect(() => validateJobKind({ ...ok, firstStep: 'b' })).toThrow(/first step/);
    expect(() => validateJobKind({ ...ok, steps: { 'a:b': ok.steps.a }, firstStep: 'a:b' })).toThrow(/step name/);
    expect(() => validateJobKind({ ...ok, retry: { ...policy, attempts: 0 } })).toThrow(/attempts/);
  });
});
