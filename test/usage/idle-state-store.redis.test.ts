import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedisIdleStateStore } from '../../src/adapters/redis/idle-state-store.js';
import { VM_WATCH_TTL_MS } from '../../src/domain/usage/idle-state-store.js';
import { idleStateStoreContract } from '../contracts/idle-state-store.contract.js';
import { deletePrefix, redisClient, testPrefix } from '../jobs/helpers.js';

const redis = redisClient();
const prefixes: string[] = [];
afterAll(async () => {
  for (const prefix of prefixes) await deletePrefix(redis, prefix);
  await redis.quit();
});

idleStateStoreContract('redis', async ({ ttlMs }) => {
  const prefix = testPrefix();
  prefixes.push(prefix);
  return {
    store: createRedisIdleStateStore({ redis, prefix, ttlMs }),
    // Redis expires keys in real time: the expiry case waits for it.
    pass: (ms) => sleep(ms),
    close: async () => undefined,
  };
});

describe('redis IdleStateStore', () => {
  it('writes one key per VM that expires a day after the write, and reads a corrupt record as absent', async () => {
    const prefix = testPrefix();
    prefixes.push(prefix);
    const store = createRedisIdleStateStore({ redis, prefix });
    const vm = { tenant: 'cs101', name: 'vm-1' };
    await store.put(vm, { runId: 'r1', runStartedAt: '2027-01-11T09:00:00.000Z', updatedAt: '2027-01-11T09:00:00.000Z' });
    const ttl = await redis.pttl(`${prefix}:idle:cs101/vm-1`);
    expect(ttl).toBeGreaterThan(VM_WATCH_TTL_MS - 60_000);
    expect(ttl).toBeLessThanOrEqual(VM_WATCH_TTL_MS);
    await redis.set(`${prefix}:idle:cs101/vm-2`, '{not json');
    expect(await store.get({ tenant: 'cs101', name: 'vm-2' })).toBeUndefined();
    expect(await store.getMany([{ tenant: 'cs101', name: 'vm-2' }, vm])).toEqual([undefined, expect.objectContaining({ runId: 'r1' })]);
  });
});

describe('the auto-shutdown area', () => {
  it('keeps the detector state on Redis when the process has it (a new leader carries on), in memory otherwise', async () => {
    const { Registry } = await import('prom-client');
    const { autoShutdownArea } = await import('../../src/main/auto-shutdown.js');
    const { loadConfig } = await import('../../src/main/config.js');
    const { createLogger } = await import('../../src/main/logger.js');
    const config = loadConfig({ LOG_LEVEL: 'silent' });
    const build = (withRedis: boolean) =>
      autoShutdownArea.build({
        config,
        logger: createLogger(config),
        clock: { now: () => new Date() },
        world: { prometheus: undefined } as never,
        kube: undefined as never,
        tenantRepo: { get: async () => undefined } as never,
        metrics: new Registry(),
        auditLog: { append: async () => undefined, list: async () => ({ items: [] }) },
        operationStore: undefined as never,
        ...(withRedis ? { redis } : {}),
        vms: {
          repo: { list: async () => [], get: async () => undefined } as never,
          service: { power: async () => Promise.reject(new Error('no')) },
          showAutoShutdown: () => undefined,
        },
        labs: { repo: { list: async () => [], get: async () => undefined } },
        webhooks: { publishEvent: async () => 0 },
        guestSessions: { guestSessions: async () => ({ available: false, reason: 'not-served' }) },
      });
    const vm = { tenant: `t-${randomUUID().slice(0, 8)}`, name: 'vm-1' };
    const watch = { runId: 'r1', runStartedAt: '2027-01-11T09:00:00.000Z', updatedAt: '2027-01-11T09:00:00.000Z' };
    const onRedis = await build(true);
    await onRedis.exports.store.put(vm, watch);
    expect(JSON.parse((await redis.get(`labplane:idle:${vm.tenant}/vm-1`)) ?? 'null')).toEqual(watch);
    expect(await (await build(true)).exports.store.get(vm)).toEqual(watch);
    expect(await (await build(false)).exports.store.get(vm)).toBeUndefined();
    await redis.del(`labplane:idle:${vm.tenant}/vm-1`);
  });
});
