import { describe, expect, it } from 'vitest';
import { createArmBudget, requestKindOf } from '../../src/adapters/azure/arm-budget.js';
import { createTokenBucket, MARGIN_MS } from '../../src/domain/identity/token-bucket.js';
import { UpstreamUnavailableError } from '../../src/domain/shared/errors.js';
import { manualClock } from './support/manual-clock.js';

/** A manual clock whose sleeps advance it, recording each wait. */
function timeline() {
  const clock = manualClock(0);
  const waits: number[] = [];
  const sleep = async (ms: number) => {
    waits.push(Math.round(ms));
    clock.advance(ms);
  };
  return { clock, waits, sleep };
}

describe('token bucket', () => {
  it('serves the burst at once, then one token per 1/rate second', async () => {
    const t = timeline();
    const bucket = createTokenBucket({ ratePerSecond: 10, burst: 3, clock: t.clock, sleep: t.sleep });
    for (let i = 0; i < 3; i += 1) await bucket.take();
    expect(t.waits).toEqual([]);
    await bucket.take();
    await bucket.take();
    // Each caller goes MARGIN_MS after its token is due; the margin does not pile up.
    expect(t.waits).toEqual([100 + MARGIN_MS, 100]);
  });

  it('concurrent callers queue in order, each waiting for its own reserved token', async () => {
    const clock = manualClock(0);
    const waits: number[] = [];
    const bucket = createTokenBucket({ ratePerSecond: 10, burst: 1, clock, sleep: async (ms) => void waits.push(Math.round(ms)) });
    await Promise.all([bucket.take(), bucket.take(), bucket.take(), bucket.take()]);
    expect(waits).toEqual([100 + MARGIN_MS, 200 + MARGIN_MS, 300 + MARGIN_MS]);
    expect(bucket.available()).toBe(-3);
  });

  it('callers held by a client bucket never find an upstream bucket of the same size empty', async () => {
    const t = timeline();
    const client = createTokenBucket({ ratePerSecond: 7, burst: 3, clock: t.clock, sleep: t.sleep });
    const upstream = createTokenBucket({ ratePerSecond: 7, burst: 3, clock: t.clock });
    let seed = 7;
    const refused: number[] = [];
    for (let i = 0; i < 500; i += 1) {
      seed = (seed * 48271) % 2147483647;
      t.clock.advance(seed % 97);
      await client.take();
      if (!upstream.tryTake()) refused.push(i);
    }
    expect(refused).toEqual([]);
  });

  it('refills up to the burst, never beyond', async () => {
    const t = timeline();
    const bucket = createTokenBucket({ ratePerSecond: 100, burst: 5, clock: t.clock, sleep: t.sleep });
    t.clock.advance(60_000);
    expect(bucket.available()).toBe(5);
  });

  it('a caller that would wait longer than maxWaitMs fails at once and takes no token', async () => {
    const t = timeline();
    const bucket = createTokenBucket({
      ratePerSecond: 1,
      burst: 1,
      clock: t.clock,
      sleep: t.sleep,
      maxWaitMs: 500,
      throttledCode: 'AZURE_THROTTLED',
    });
    await bucket.take();
    const err = await bucket.take().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamUnavailableError);
    expect(err).toMatchObject({ code: 'AZURE_THROTTLED', retryAfterSeconds: 1, details: { clientSide: true } });
    expect(bucket.available()).toBe(0);
  });

  it('a pause holds every caller until its deadline, then lets them through at the sustained rate', async () => {
    const t = timeline();
    const bucket = createTokenBucket({ ratePerSecond: 10, burst: 50, clock: t.clock, sleep: t.sleep });
    bucket.pauseUntil(2_000);
    expect(bucket.tryTake()).toBe(false);
    expect(bucket.nextAvailableInMs()).toBe(2_000);
    await bucket.take();
    await bucket.take();
    expect(t.waits).toEqual([2_000 + MARGIN_MS, 100]);
    bucket.pauseUntil(1_000);
    expect(bucket.nextAvailableInMs()).toBeLessThan(200);
  });

  it('tryTake never waits: true while tokens last, false after', () => {
    const bucket = createTokenBucket({ ratePerSecond: 1, burst: 2, clock: manualClock(0) });
    expect([bucket.tryTake(), bucket.tryTake(), bucket.tryTake()]).toEqual([true, true, false]);
    expect(bucket.nextAvailableInMs()).toBe(1_000);
  });

  it('rejects nonsense limits', () => {
    expect(() => createTokenBucket({ ratePerSecond: 0, burst: 1 })).toThrow(RangeError);
    expect(() => createTokenBucket({ ratePerSecond: 1, burst: 0 })).toThrow(RangeError);
  });
});

describe('ARM budget', () => {
  it("defaults to ARM's buckets: reads 250 / 25 per s, writes and deletes 200 / 10 per s", () => {
    const budget = createArmBudget({ clock: manualClock(0) });
    expect(budget.buckets.reads.available()).toBe(250);
    expect(budget.buckets.writes.available()).toBe(200);
    expect(budget.buckets.deletes.available()).toBe(200);
    expect(budget.maxInlineRetryAfterMs).toBe(10_000);
  });

  it('classifies requests as ARM does', () => {
    expect(['GET', 'HEAD', 'PUT', 'POST', 'PATCH', 'DELETE'].map(requestKindOf)).toEqual(['reads', 'reads', 'writes', 'writes', 'writes', 'deletes']);
  });

  it('a 429 pauses only the bucket of its kind', () => {
    const clock = manualClock(0);
    const budget = createArmBudget({ clock });
    budget.throttled('writes', 3_000);
    expect(budget.buckets.writes.nextAvailableInMs()).toBe(3_000);
    expect(budget.buckets.reads.nextAvailableInMs()).toBe(0);
    expect(budget.stats().throttled).toBe(1);
  });
});
