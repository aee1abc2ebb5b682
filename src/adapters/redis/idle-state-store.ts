import type { Redis } from 'ioredis';
import { VM_WATCH_TTL_MS, type IdleStateStore, type VmWatch } from '../../domain/usage/idle-state-store.js';
import type { UsageVmRef } from '../../domain/usage/ports.js';
import { guarded } from './redis-connection.js';

export interface RedisIdleStateStoreDeps {
  readonly redis: Redis;
  readonly prefix: string;
  readonly ttlMs?: number;
}

const WHAT = 'the idle detector state';

/**
 * `IdleStateStore` on Redis: one JSON string per VM (`<prefix>:idle:<tenant>/<vm>`; tenant and VM
 * names are DNS labels), written with `PX` so it expires a day after its last write (Redis' clock).
 * One leader writes at a time; a record that cannot be read is treated as absent (watched afresh).
 */
export function createRedisIdleStateStore(deps: RedisIdleStateStoreDeps): IdleStateStore {
  const { redis } = deps;
  const ttlMs = deps.ttlMs ?? VM_WATCH_TTL_MS;
  const keyOf = (vm: UsageVmRef): string => `${deps.prefix}:idle:${vm.tenant}/${vm.name}`;
  const parse = (raw: string | null): VmWatch | undefined => {
    if (raw === null) return undefined;
    try {
      const v: unknown = JSON.parse(raw);
      return typeof v === 'object' && v !== null && typeof (v as VmWatch).runId === 'string' ? (v as VmWatch) : undefined;
    } catch {
      return undefined;
    }
  };
  return {
    get: (vm) => guarded(WHAT, async () => parse(await redis.get(keyOf(vm)))),
    getMany: (vms) =>
      guarded(WHAT, async () => {
        if (vms.length === 0) return [];
        return (await redis.mget(...vms.map(keyOf))).map(parse);
      }),
    put: (vm, watch) =>
      guarded(WHAT, async () => {
        await redis.set(keyOf(vm), JSON.stringify(watch), 'PX', ttlMs);
      }),
    forget: (vm) =>
      guarded(WHAT, async () => {
        await redis.del(keyOf(vm));
      }),
  };
}
