import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisConsoleTicketStore } from '../../src/adapters/redis/console-tickets.js';
import type { ConsoleGrant } from '../../src/domain/vms/console.js';

let redis: Redis;
const prefix = `test-${randomUUID()}`;
const grant: ConsoleGrant = {
  actor: { id: 'olga', kind: 'user', name: 'Olga' },
  tenant: 't',
  vm: 'web',
  type: 'vnc',
  expiresAt: Date.now() + 60_000,
};

beforeAll(() => {
  redis = new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379', { lazyConnect: false, maxRetriesPerRequest: 1 });
});
afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

describe('console tickets on Redis (shared by replicas)', () => {
  it('a ticket is taken once: two replicas racing for it get it once between them', async () => {
    const a = createRedisConsoleTicketStore({ redis, prefix });
    const b = createRedisConsoleTicketStore({ redis: redis.duplicate(), prefix });
    await a.put('k1', grant, 60_000);
    const [x, y] = await Promise.all([a.take('k1'), b.take('k1')]);
    expect([x, y].filter((g) => g !== undefined)).toEqual([grant]);
    expect(await a.take('k1')).toBeUndefined();
  });

  it('a ticket expires with its TTL, and its key is the digest given, not the ticket', async () => {
    const store = createRedisConsoleTicketStore({ redis, prefix });
    await store.put('k2', grant, 60_000);
    const ttl = await redis.pttl(`${prefix}:console:ticket:k2`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
    await store.put('k3', grant, 1);
    await expect.poll(async () => redis.exists(`${prefix}:console:ticket:k3`)).toBe(0);
    expect(await store.take('k3')).toBeUndefined();
  });
});
