/**
 * Token-bucket stores for @fastify/rate-limit. The plugin's own stores count fixed windows, which
 * let a caller through twice the limit across a window's edge (1,186 requests in 20 s against
 * 600/min); these hold any window of the limit's length to `limit + burst`.
 *
 * The bucket is kept as GCRA's theoretical arrival time (TAT): one number per key, updated in one
 * step, so the Redis variant is a single atomic script timed by the Redis server's clock (shared by
 * every API instance).
 */

/** What the plugin's store contract expects back: `current > max` means refused; `ttl` in ms. */
interface StoreResult {
  readonly current: number;
  readonly ttl: number;
}
type Callback = (err: Error | null, res?: StoreResult) => void;

/** Requests allowed at once, on top of the steady rate: a tenth of the limit, at least 10, at most the limit. */
export function burstOf(limit: number): number {
  return Math.min(limit, Math.max(10, Math.ceil(limit / 10)));
}

/**
 * One request against the bucket at `now` (ms). `tat` is the stored theoretical arrival time (or
 * undefined). Returns whether it is allowed, the new TAT to store, and the plugin's figures.
 */
export function gcra(tat: number | undefined, now: number, limit: number, windowMs: number): { allowed: boolean; tat: number; result: StoreResult } {
  const interval = windowMs / limit;
  const tolerance = (burstOf(limit) - 1) * interval;
  const base = Math.max(tat ?? now, now);
  if (base - now > tolerance) {
    return { allowed: false, tat: base, result: { current: limit + 1, ttl: Math.ceil(base - tolerance - now) } };
  }
  const next = base + interval;
  const remaining = Math.max(0, Math.floor((tolerance - (next - now - interval)) / interval));
  return { allowed: true, tat: next, result: { current: limit - remaining, ttl: Math.ceil(next - now) } };
}

/** Options the plugin passes to a store's constructor (the global ones). */
interface PluginParams {
  readonly max?: unknown;
  readonly timeWindow?: unknown;
}

/** In-process buckets, for a single instance (no Redis). Keys expire once their bucket is full again. */
export function localTokenBucketStore(now: () => number = Date.now) {
  return class LocalTokenBucketStore {
    private readonly tats = new Map<string, number>();
    private swept = now();

    constructor(_params?: PluginParams) {}

    incr(key: string, cb: Callback, timeWindow: number, max: number): void {
      const t = now();
      if (t - this.swept > timeWindow) this.sweep(t);
      const step = gcra(this.tats.get(key), t, max, timeWindow);
      this.tats.set(key, step.tat);
      cb(null, step.result);
    }

    child(): LocalTokenBucketStore {
      return this;
    }

    private sweep(t: number): void {
      this.swept = t;
      for (const [key, tat] of this.tats) if (tat <= t) this.tats.delete(key);
    }
  };
}

/** The subset of an ioredis client this store uses. */
export interface ScriptingRedis {
  defineCommand(name: string, definition: { numberOfKeys: number; lua: string }): void;
}

const COMMAND = 'labplaneTokenBucket';

// Same arithmetic as `gcra` above, in milliseconds from the Redis server's clock. The TAT is stored with
// all 17 digits of the double: Lua's tostring keeps 14, which at today's epoch in ms is a tenth of a
// millisecond, so a limit above 600,000 a minute (a step under 0.1 ms) was rounded: stricter at first,
// then not held at all once the step rounds to nothing (measured: 60,000,000 a minute let everything through).
const LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local interval = window / limit
local tolerance = (burst - 1) * interval
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
local base = math.max(tat, now)
if base - now > tolerance then
  return {limit + 1, math.ceil(base - tolerance - now)}
end
local nxt = base + interval
redis.call('SET', KEYS[1], string.format('%.17g', nxt), 'PX', math.max(1, math.ceil(nxt - now)))
local remaining = math.max(0, math.floor((tolerance - (nxt - now - interval)) / interval))
return {limit - remaining, math.ceil(nxt - now)}
`;

/** Buckets in Redis, shared by every API instance; keys expire once their bucket is full again. */
export function redisTokenBucketStore(redis: ScriptingRedis, prefix: string) {
  if (!(COMMAND in redis)) redis.defineCommand(COMMAND, { numberOfKeys: 1, lua: LUA });
  const run = (redis as unknown as Record<string, (key: string, limit: number, windowMs: number, burst: number) => Promise<[number, number]>>)[
    COMMAND
  ]!.bind(redis);
  return class RedisTokenBucketStore {
    constructor(_params?: PluginParams) {}

    incr(key: string, cb: Callback, timeWindow: number, max: number): void {
      run(`${prefix}${key}`, max, timeWindow, burstOf(max)).then(
        ([current, ttl]) => cb(null, { current, ttl }),
        (err: unknown) => cb(err instanceof Error ? err : new Error(String(err))),
      );
    }

    child(): RedisTokenBucketStore {
      return this;
    }
  };
}
