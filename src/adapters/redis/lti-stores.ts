import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { LaunchState, LaunchStateStore, LtiSession, LtiSessionStore, NonceLedger } from '../../domain/lti/ports.js';
import { guarded } from './redis-connection.js';

export interface RedisLtiStoresDeps {
  readonly redis: Redis;
  readonly prefix: string;
}

/**
 * Key of one value: a SHA-256 of it, so states, nonces and session ids (bearer values) never appear
 * in key names (`SCAN`, `MONITOR`, slow log).
 */
function keyOf(prefix: string, kind: string, value: string): string {
  return `${prefix}:lti:${kind}:${createHash('sha256').update(value).digest('base64url')}`;
}

/** `LaunchStateStore` on Redis: one key per state with a TTL, taken with `GETDEL` (single use across replicas). */
export function createRedisLaunchStateStore(deps: RedisLtiStoresDeps): LaunchStateStore {
  return {
    put: (state, value, ttlSeconds) =>
      guarded('LTI launch states', async () => {
        await deps.redis.set(keyOf(deps.prefix, 'state', state), JSON.stringify(value), 'EX', Math.max(1, Math.ceil(ttlSeconds)));
      }),
    take: (state) =>
      guarded('LTI launch states', async () => {
        const raw = await deps.redis.getdel(keyOf(deps.prefix, 'state', state));
        return raw === null ? undefined : (JSON.parse(raw) as LaunchState);
      }),
  };
}

/** `NonceLedger` on Redis: `SET NX EX`, so exactly one replica sees a nonce first. */
export function createRedisNonceLedger(deps: RedisLtiStoresDeps): NonceLedger {
  return {
    useOnce: (key, ttlSeconds) =>
      guarded('LTI nonce ledger', async () => {
        const res = await deps.redis.set(keyOf(deps.prefix, 'nonce', key), '1', 'EX', Math.max(1, Math.ceil(ttlSeconds)), 'NX');
        return res === 'OK';
      }),
  };
}

/** `LtiSessionStore` on Redis: one key per session expiring at the session's `expiresAt` (`PXAT`). */
export function createRedisLtiSessionStore(deps: RedisLtiStoresDeps): LtiSessionStore {
  return {
    put: (session) =>
      guarded('LTI sessions', async () => {
        await deps.redis.set(keyOf(deps.prefix, 'session', session.id), JSON.stringify(session), 'PXAT', Math.floor(session.expiresAt));
      }),
    get: (id) =>
      guarded('LTI sessions', async () => {
        const raw = await deps.redis.get(keyOf(deps.prefix, 'session', id));
        if (raw === null) return undefined;
        const session = JSON.parse(raw) as LtiSession;
        return session.id === id ? session : undefined;
      }),
    delete: (id) =>
      guarded('LTI sessions', async () => {
        await deps.redis.del(keyOf(deps.prefix, 'session', id));
      }),
  };
}
