import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import {
  DEFAULT_IDEMPOTENCY_IN_PROGRESS_TTL_MS,
  DEFAULT_IDEMPOTENCY_TTL_MS,
  type IdempotencyScope,
  type IdempotencyStore,
  type StoredResponse,
} from '../../domain/operations/idempotency-store.js';
import { guarded, luaScript } from './redis-connection.js';

export interface RedisIdempotencyStoreDeps {
  readonly redis: Redis;
  readonly prefix: string;
  /** Kept after completion, ms (default 24 h). */
  readonly ttlMs?: number;
  /** An unfinished key is released after this long, ms (default 5 min). */
  readonly inProgressTtlMs?: number;
}

// Hash fields: h body hash, s state (p in progress, d done), r response JSON.
const BEGIN = luaScript(`
local h = redis.call('HGET', KEYS[1], 'h')
if not h then
  redis.call('HSET', KEYS[1], 'h', ARGV[1], 's', 'p')
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {'new'}
end
if h ~= ARGV[1] then return {'mismatch'} end
if redis.call('HGET', KEYS[1], 's') == 'p' then return {'in_progress'} end
return {'replay', redis.call('HGET', KEYS[1], 'r')}`);

const COMPLETE = luaScript(`
if redis.call('HGET', KEYS[1], 's') ~= 'p' then return 0 end
redis.call('HSET', KEYS[1], 's', 'd', 'r', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`);

const ABANDON = luaScript(`
if redis.call('HGET', KEYS[1], 's') ~= 'p' then return 0 end
return redis.call('DEL', KEYS[1])`);

/**
 * `IdempotencyStore` on Redis: one hash per (scope, key), named by a SHA-256 of both so principal
 * ids and paths never leak into key names. Every transition is one Lua script (atomic); expiry is
 * Redis TTL: 5 min while in progress, 24 h once answered.
 */
export function createRedisIdempotencyStore(deps: RedisIdempotencyStoreDeps): IdempotencyStore {
  const { redis } = deps;
  const ttl = deps.ttlMs ?? DEFAULT_IDEMPOTENCY_TTL_MS;
  const inProgressTtl = deps.inProgressTtlMs ?? DEFAULT_IDEMPOTENCY_IN_PROGRESS_TTL_MS;
  const keyOf = (scope: IdempotencyScope, key: string): string =>
    `${deps.prefix}:idem:${createHash('sha256')
      .update(JSON.stringify([scope.principalId, scope.method.toUpperCase(), scope.path, key]))
      .digest('hex')}`;

  return {
    begin: (scope, key, bodyHash) =>
      guarded('idempotency store', async () => {
        const res = (await BEGIN.run(redis, [keyOf(scope, key)], [bodyHash, inProgressTtl])) as [string, string?];
        switch (res[0]) {
          case 'new':
            return { state: 'new' };
          case 'mismatch':
            return { state: 'mismatch' };
          case 'in_progress':
            return { state: 'in_progress' };
          default:
            return { state: 'replay', response: JSON.parse(res[1] ?? 'null') as StoredResponse };
        }
      }),

    complete: (scope, key, response) =>
      guarded('idempotency store', async () => {
        await COMPLETE.run(redis, [keyOf(scope, key)], [JSON.stringify(response), ttl]);
      }),

    abandon: (scope, key) =>
      guarded('idempotency store', async () => {
        await ABANDON.run(redis, [keyOf(scope, key)], []);
      }),
  };
}
