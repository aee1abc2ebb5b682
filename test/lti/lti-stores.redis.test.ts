import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll } from 'vitest';
import { createRedisLaunchStateStore, createRedisLtiSessionStore, createRedisNonceLedger } from '../../src/adapters/redis/lti-stores.js';
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
