import { describe, expect, it } from 'vitest';
import { createArmBudget, requestKindOf } from '../../src/adapters/azure/arm-budget.js';
import { createTokenBucket, MARGIN_MS } from '../../src/domain/identity/token-bucket.js';
import { withCallPriority } from '../../src/domain/operations/call-priority.js';
import { UpstreamUnavailableError } from '../../src/domain/shared/errors.js';
import { manualClock, sleepOnNextTurn } from './support/manual-clock.js';

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

/**
 * A bucket of 10/s with a burst of 1 ranking callers by a number, whose sleeps advance a manual
 * clock on a later turn (callers in one turn all arrive at the same instant); `take` records who
 * was served, in order.
 */
function rankedBucket(opts: { maxWaitMs?: number; onSleep?: (nth: number) => void } = {}) {
  const clock = manualClock(0);
  const advance = sleepOnNextTurn(clock);
  let current: number | undefined;
  let sleeps = 0;
  const served: string[] = [];
  const bucket = createTokenBucket({
    ratePerSecond: 10,
    burst: 1,
    clock,
    ...(opts.maxWaitMs === undefined ? {} : { maxWaitMs: opts.maxWaitMs }),
    sleep: (ms) => {
      sleeps += 1;
      opts.onSleep?.(sleeps);
      return advance(ms);
    },
    priority: () => (current === undefined ? undefined : [current]),
  });
  const take = (priority: number, name: string) => {
    current = priority;
    const p = bucket.take().then(() => void served.push(name));
    current = undefined;
    return p;
  };
  return { bucket, clock, take, served };
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

  it('with a priority, waiting callers go in priority order (lower first, then by arrival), unprioritised ones first of all', async () => {
    const t = timeline();
    let current: number | undefined;
    const bucket = createTokenBucket({
      ratePerSecond: 10,
      burst: 1,
      clock: t.clock,
      sleep: t.sleep,
      priority: () => (current === undefined ? undefined : [current]),
    });
    const served: string[] = [];
    const take = (name: string, priority: number | undefined) => {
      current = priority;
      const p = bucket.take().then(() => served.push(name));
      current = undefined;
      return p;
    };
    // The first takes the one token at once; the rest wait and are served by priority.
    await Promise.all([take('first', 5), take('late-b', 30), take('old', 10), take('late-a', 30), take('api', undefined), take('older', 1)]);
    expect(served).toEqual(['first', 'api', 'older', 'old', 'late-b', 'late-a']);
    // Still one token per 1/rate second: five waiters, five waits of 100 ms.
    expect(t.clock.now().getTime()).toBeGreaterThanOrEqual(500);
    expect(t.clock.now().getTime()).toBeLessThan(500 + 6 * MARGIN_MS + 1);
  });

  it('with a priority, a caller arriving while the next token is pending still goes ahead of lower priorities', async () => {
    const clock = manualClock(0);
    let release: (() => void) | undefined;
    let current: number | undefined;
    const bucket = createTokenBucket({
      ratePerSecond: 10,
      burst: 1,
      clock,
      // The first sleep is held until the test releases it, so callers can arrive meanwhile.
      sleep: (ms) =>
        new Promise<void>((resolve) => {
          release = () => {
            clock.advance(ms);
            resolve();
          };
        }),
      priority: () => (current === undefined ? undefined : [current]),
    });
    await bucket.take();
    const served: number[] = [];
    current = 50;
    const a = bucket.take().then(() => served.push(50));
    await Promise.resolve();
    current = 2;
    const b = bucket.take().then(() => served.push(2));
    current = undefined;
    while (served.length < 2) {
      await new Promise((r) => setImmediate(r));
      release?.();
    }
    await Promise.all([a, b]);
    expect(served).toEqual([2, 50]);
  });

  it('with a priority, a caller refused for maxWaitMs takes no token, counting only the callers ahead of it', async () => {
    const { bucket, clock, take, served } = rankedBucket({ maxWaitMs: 250 });
    await bucket.take();
    const pending = [take(1, 'first'), take(1, 'second')];
    // Two callers ahead of priority 9: its token would come after 300 ms.
    const refused = take(9, 'refused');
    // Nobody ahead of priority 0: the token being reserved, in 100 ms.
    pending.push(take(0, 'ahead of all'));
    await expect(refused).rejects.toBeInstanceOf(UpstreamUnavailableError);
    await Promise.all(pending);
    expect(served).toEqual(['ahead of all', 'first', 'second']);
    // Three tokens after the first, none for the refused caller.
    expect(clock.now().getTime()).toBeLessThan(400);
  });

  it('with a priority, a caller that later, higher-ranked arrivals keep waiting past maxWaitMs is refused then, taking no token', async () => {
    const pending: Promise<void>[] = [];
    // While the second and the third token are awaited (from 101 and 201 ms), one more caller
    // ranked before the waiting one arrives each time.
    const { bucket, take, served } = rankedBucket({
      maxWaitMs: 250,
      onSleep: (n) => {
        if (n === 2) pending.push(take(1, 'second arrival'));
        if (n === 3) pending.push(take(1, 'third arrival'));
      },
    });
    await bucket.take();
    // Admitted at 0 ms (its token then due at 100 ms); each arrival ranked before it pushes it back.
    const late = take(9, 'late');
    pending.push(take(1, 'first arrival'));
    await expect(late).rejects.toBeInstanceOf(UpstreamUnavailableError);
    await Promise.all(pending);
    // Refused at the sweep after the token of 301 ms went to the third arrival (its deadline: 250 ms);
    // one token per arrival, none for it.
    expect(served).toEqual(['first arrival', 'second arrival', 'third arrival']);
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

  it("serves waiting ARM calls by their step's operation rank, calls outside any step first", async () => {
    const clock = manualClock(0);
    const sleep = sleepOnNextTurn(clock);
    const budget = createArmBudget({ clock, sleep, writes: { ratePerSecond: 10, burst: 1 } });
    await budget.take('writes');
    const served: string[] = [];
    const later = withCallPriority([200], () => budget.take('writes').then(() => void served.push('later operation')));
    const older = withCallPriority([100, 150], () => budget.take('writes').then(() => void served.push('older operation')));
    const request = budget.take('writes').then(() => void served.push('no operation'));
    await Promise.all([later, older, request]);
    expect(served).toEqual(['no operation', 'older operation', 'later operation']);
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
