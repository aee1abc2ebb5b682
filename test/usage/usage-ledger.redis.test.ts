import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll } from 'vitest';
import { createRedisUsageLedger } from '../../src/adapters/redis/usage-ledger.js';
import { usageLedgerContract } from '../contracts/usage-ledger.contract.js';

const redis = new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
afterAll(async () => {
  await redis.quit();
});

usageLedgerContract('redis', async () => {
  const prefix = `test-usage-${randomUUID()}`;
  return {
    ledger: createRedisUsageLedger({ redis, prefix }),
    reopen: () => createRedisUsageLedger({ redis, prefix }),
    close: async () => {
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
    },
  };
});
