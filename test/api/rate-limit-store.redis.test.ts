import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { burstOf, gcra, localTokenBucketStore, redisTokenBucketStore } from '../../src/api/plugins/rate-limit-store.js';

const MINUTE = 60_000;

/** Drives a store class like the plugin does; returns whether each request was allowed. */
function hit(
  store: { incr(key: string, cb: (e: Error | null, r?: { current: number; ttl: number }) => void, w: number, m: number): void },
  key: string,
  limit: number,
) {
  return new Promise<{ allowed: boolean; ttl: number; remaining: number }>((resolve, reject) =>
    store.incr(
      key,
      (err, r) =>
        err || r === undefined ? reject(err) : resolve({ allowed: r.current <= limit, ttl: r.ttl, remaining: Math.max(0, limit - r.current) }),
      MINUTE,
      limit,
    ),
  );
}

describe('token-bucket rate limit (GCRA)', () => {
  it('a fresh caller has a burst of a tenth of the limit (at least 10, at most the limit), then the steady rate', () => {
    expect([burstOf(600), burstOf(5), burstOf(50), burstOf(10_000)]).toEqual([60, 5, 10, 1000]);
    let tat: number | undefined;
    const allowed: boolean[] = [];
    for (let i = 0; i < 61; i++) {
      const s = gcra(tat, 0, 600, MINUTE);
      tat = s.tat;
      allowed.push(s.allowed);
    }
    expect(allowed.filter(Boolean)).toHaveLength(60);
    const refused = gcra(tat, 0, 600, MINUTE);
    expect(refused.result.current).toBe(601);
    expect(refused.result.ttl).toBe(100); // one token every 100 ms at 600/min
    expect(gcra(tat, 100, 600, MINUTE).allowed).toBe(true);
  });

  it('no window of a minute lets more than limit + burst through, across a fixed window edge too (the old count let 1,186 of 600/min through in 20 s)', () => {
    const Store = localTokenBucketStore(() => now);
    let now = 0;
    const store = new Store();
    const times: number[] = [];
    // A caller as fast as it can (one request a millisecond) for three minutes.
    for (now = 0; now < 3 * MINUTE; now += 1) {
      store.incr('p:flood', (_e, r) => r !== undefined && r.current <= 600 && times.push(now), MINUTE, 600);
    }
    let worst = 0;
    for (let i = 0, j = 0; i < times.length; i++) {
      while (times[i]! - times[j]! >= MINUTE) j++;
      worst = Math.max(worst, i - j + 1);
    }
    expect(worst).toBeLessThanOrEqual(600 + burstOf(600));
    const inTwenty = times.filter((t) => t >= 50_000 && t < 70_000).length;
    expect(inTwenty).toBeLessThanOrEqual(200 + 1);
  });

  it('a caller at the steady rate is never refused, and the header figures count down', async () => {
    let now = 0;
    const store = new (localTokenBucketStore(() => now))();
    const first = await hit(store, 'p:calm', 600);
    expect(first).toEqual({ allowed: true, ttl: 100, remaining: 59 });
    for (now = 100; now < 5 * MINUTE; now += 100) expect((await hit(store, 'p:calm', 600)).allowed).toBe(true);
  });

  describe('in Redis', () => {
    const redis = new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379', { lazyConnect: false, maxRetriesPerRequest: 1 });
    afterAll(async () => {
      await redis.quit();
    });

    it('two API instances share one bucket per key, timed by the Redis clock', async () => {
      const prefix = `labplane:test:ratelimit:${randomUUID()}:`;
      const a = new (redisTokenBucketStore(redis, prefix))();
      const b = new (redisTokenBucketStore(redis, prefix))();
      const t0 = Date.now();
      const results = await Promise.all(Array.from({ length: 40 }, (_, i) => hit(i % 2 === 0 ? a : b, 'p:shared', 60)));
      const elapsedMs = Date.now() - t0;
      const allowed = results.filter((r) => r.allowed).length;
      // Burst of 10 at 60/min, plus at most one token a second for the time the requests took.
      expect(allowed).toBeGreaterThanOrEqual(10);
      expect(allowed).toBeLessThanOrEqual(10 + Math.ceil(elapsedMs / 1000));
      const refused = results.find((r) => !r.allowed);
      expect(refused?.ttl).toBeGreaterThan(0);
      expect(refused?.ttl).toBeLessThanOrEqual(1000);
      const other = await hit(a, 'p:someone-else', 60);
      expect(other.allowed).toBe(true);
      const ttl = await redis.pttl(`${prefix}p:shared`);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(MINUTE);
    });

    it('keeps the bucket to a fraction of a microsecond, so a limit of millions a minute still counts every request', async () => {
      const prefix = `labplane:test:ratelimit:${randomUUID()}:`;
      const store = new (redisTokenBucketStore(redis, prefix))();
      const limit = 1_200_000; // one request every 0.05 ms
      const [seconds, micros] = (await redis.time()) as [number | string, number | string];
      // A caller already a second ahead of the rate, with a TAT that is no round number of milliseconds.
      const seeded = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) + 1000.0123;
      await redis.set(`${prefix}p:fast`, String(seeded), 'PX', MINUTE);
      for (let i = 0; i < 3; i++) expect((await hit(store, 'p:fast', limit)).allowed).toBe(true);
      // Three steps of 0.05 ms each, not rounded to a tenth of a millisecond (or to nothing): within 0.5 µs.
      expect(Number(await redis.get(`${prefix}p:fast`)) - seeded).toBeCloseTo(0.15, 3); // a double near 1.8e12 ms resolves 0.24 µs
    });
  });
});
