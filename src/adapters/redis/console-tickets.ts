import type { Redis } from 'ioredis';
import type { ConsoleGrant, ConsoleTicketStore } from '../../domain/vms/console.js';
import { guarded } from './redis-connection.js';

export interface RedisConsoleTicketsDeps {
  readonly redis: Redis;
  readonly prefix: string;
}

/**
 * Console tickets on Redis: one key per ticket digest with a TTL (`SET PX`), taken with `GETDEL`,
 * so a ticket opens one console across all replicas and is gone after its minute.
 */
export function createRedisConsoleTicketStore(deps: RedisConsoleTicketsDeps): ConsoleTicketStore {
  const keyOf = (key: string) => `${deps.prefix}:console:ticket:${key}`;
  return {
    put: (key, grant, ttlMs) =>
      guarded('console tickets', async () => {
        await deps.redis.set(keyOf(key), JSON.stringify(grant), 'PX', Math.max(1, Math.ceil(ttlMs)));
      }),
    take: (key) =>
      guarded('console tickets', async () => {
        const raw = await deps.redis.getdel(keyOf(key));
        return raw === null ? undefined : (JSON.parse(raw) as ConsoleGrant);
      }),
  };
}
