import type { Redis } from 'ioredis';
import type { UsageLedger, UsageVmRef } from '../../domain/usage/ports.js';
import type { PowerTransition } from '../../domain/usage/usage-meter.js';
import { guarded, luaScript } from './redis-connection.js';

export interface RedisUsageLedgerDeps {
  readonly redis: Redis;
  /** Key prefix shared with the other stores (`labplane`). */
  readonly prefix: string;
}

const WHAT = 'usage ledger';

/**
 * Sets a run's checkpoint unless a later one is stored (two meters racing: the later instant wins)
 * and lists the run under its VM so `forget` finds it. ISO 8601 instants of `toISOString` compare as strings.
 * KEYS[1] checkpoint key, KEYS[2] the VM's set of run ids; ARGV[1] instant, ARGV[2] run id.
 */
const CHECKPOINT = luaScript(`
local cur = redis.call('GET', KEYS[1])
if (not cur) or cur < ARGV[1] then redis.call('SET', KEYS[1], ARGV[1]) end
redis.call('SADD', KEYS[2], ARGV[2])
return 1
`);

/**
 * `UsageLedger` on Redis (REDIS_URL set; shared by replicas, survives restarts of the control
 * plane). Per VM: one hash of transitions (`HSETNX` by transition id: a replayed transition is
 * written once, whichever meter writes it), a set of its run ids, and one key per run holding the
 * run's last checkpoint. No TTL: a lab student's usage lives as long as the lab.
 */
export function createRedisUsageLedger(deps: RedisUsageLedgerDeps): UsageLedger {
  const { redis } = deps;
  // Tenants and VM names are DNS labels: no ':' in them.
  const base = (vm: UsageVmRef): string => `${deps.prefix}:usage:vm:${vm.tenant}:${vm.name}`;
  const transitionsKey = (vm: UsageVmRef): string => `${base(vm)}:transitions`;
  const runsKey = (vm: UsageVmRef): string => `${base(vm)}:runs`;
  const checkpointKey = (vm: UsageVmRef, runId: string): string => `${base(vm)}:checkpoint:${runId}`;
  return {
    record: (vm, transitions) =>
      guarded(WHAT, async () => {
        if (transitions.length === 0) return;
        const pipeline = redis.pipeline();
        for (const t of transitions) pipeline.hsetnx(transitionsKey(vm), t.id, JSON.stringify({ at: t.at, state: t.state }));
        const results = (await pipeline.exec()) ?? [];
        const failed = results.find(([err]) => err !== null)?.[0];
        if (failed) throw failed;
      }),
    transitions: (vm) =>
      guarded(WHAT, async () => {
        const all = await redis.hgetall(transitionsKey(vm));
        return Object.entries(all).flatMap(([id, raw]): PowerTransition[] => {
          try {
            const v = JSON.parse(raw) as { at?: unknown; state?: unknown };
            if (typeof v.at !== 'string' || (v.state !== 'running' && v.state !== 'stopped')) return [];
            return [{ id, at: v.at, state: v.state }];
          } catch {
            return [];
          }
        });
      }),
    checkpoint: (vm, runId, at) =>
      guarded(WHAT, async () => {
        await CHECKPOINT.run(redis, [checkpointKey(vm, runId), runsKey(vm)], [new Date(at).toISOString(), runId]);
      }),
    lastCheckpoint: (vm, runId) => guarded(WHAT, async () => (await redis.get(checkpointKey(vm, runId))) ?? undefined),
    forget: (vm) =>
      guarded(WHAT, async () => {
        const runs = await redis.smembers(runsKey(vm));
        await redis.del(transitionsKey(vm), runsKey(vm), ...runs.map((r) => checkpointKey(vm, r)));
      }),
  };
}
