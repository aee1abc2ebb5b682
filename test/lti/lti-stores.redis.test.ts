import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedisLaunchStateStore, createRedisLtiSessionStore, createRedisNonceLedger } from '../../src/adapters/redis/lti-stores.js';
import { ltiLaunchStores } from '../../src/main/lti-launch.js';
import { ltiStoresContracts } from '../contracts/lti-stores.contract.js';

const redis = new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
afterAll(async () => {
  await redis.quit();
});

ltiStoresContracts('redis', async () => {
  const prefix = `test-lti-${randomUUID()}`;
  return {
    states: createRedisLaunchStateStore({ redis, prefix }),
    nonces: createRedisNonceLedger({ redis, prefix }),
    sessions: createRedisLtiSessionStore({ redis, prefix }),
    now: () => Date.now(),
    // Redis expires keys in real time: the expiry cases wait for it (1.5 s past a 1 s TTL).
    pass: (ms) => sleep(ms),
    close: async () => {
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
    },
  };
});

describe('ltiLaunchStores', () => {
  it('keeps launch states on Redis when the process has it (shared by replicas), in memory otherwise', async () => {
    const clock = { now: () => new Date() };
    const state = `composition-${randomUUID()}`;
    const value = { registrationId: randomUUID(), tenant: 'cs101', nonce: 'n', targetLinkUri: 'https://tool.example/lti/launch', createdAt: 1 };
    const onRedis = await ltiLaunchStores(redis, clock);
    await onRedis.states.put(state, value, 60);
    // Another replica (another set of stores over the same Redis) takes it.
    expect(await (await ltiLaunchStores(redis, clock)).states.take(state)).toEqual(value);
    const inMemory = await ltiLaunchStores(undefined, clock);
    await inMemory.states.put(state, value, 60);
    expect(await (await ltiLaunchStores(undefined, clock)).states.take(state)).toBeUndefined();
    expect(await inMemory.states.take(state)).toEqual(value);
  });
});
