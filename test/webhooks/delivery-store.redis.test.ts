import { afterAll, describe, expect, it } from 'vitest';
import { createMemoryDeliveryStore } from '../../src/adapters/memory/webhook-deliveries.js';
import { createRedisDeliveryStore } from '../../src/adapters/redis/webhook-deliveries.js';
import type { Clock } from '../../src/domain/shared/ids.js';
import { DELIVERY_RETENTION_MS, deliveryIdOf, type DeliveryStore, type StoredDelivery } from '../../src/domain/webhooks/delivery.js';
import { deletePrefix, redisClient, testPrefix } from '../jobs/helpers.js';

const redis = redisClient();
const prefixes: string[] = [];
afterAll(async () => {
  for (const p of prefixes) await deletePrefix(redis, p);
  await redis.quit();
});

function manualClock(start = Date.parse('2025-03-01T10:00:00.000Z')): Clock & { advance(ms: number): void } {
  let now = start;
  return { now: () => new Date(now), advance: (ms) => void (now += ms) };
}

function aDelivery(webhookId: string, n: number, clock: Clock): StoredDelivery {
  return {
    id: deliveryIdOf(`op-${n}.vm.ready`, webhookId),
    tenant: 't1',
    webhookId,
    eventId: `op-${n}.vm.ready`,
    eventType: 'vm.ready',
    status: 'pending',
    attempts: 0,
    createdAt: new Date(clock.now().getTime() + n).toISOString(),
    payload: `{"n":${n}}`,
  };
}

function storeContract(name: string, make: (clock: Clock, perWebhook: number) => DeliveryStore): void {
  describe(`delivery records (${name})`, () => {
    it('a second create of the same delivery writes nothing and says so', async () => {
      const clock = manualClock();
      const store = make(clock, 100);
      const hook = crypto.randomUUID();
      const d = aDelivery(hook, 1, clock);
      expect(await store.create(d)).toBe(true);
      expect(await store.create({ ...d, payload: 'other' })).toBe(false);
      expect((await store.get(d.id))?.payload).toBe('{"n":1}');
    });

    it('lists newest first, paged by cursor, and keeps only the newest records of a webhook', async () => {
      const clock = manualClock();
      const store = make(clock, 5);
      const hook = crypto.randomUUID();
      const other = crypto.randomUUID();
      for (let n = 1; n <= 8; n++) await store.create(aDelivery(hook, n, clock));
      await store.create(aDelivery(other, 1, clock));
      const first = await store.list(hook, { limit: 3 });
      expect(first.items.map((d) => d.eventId)).toEqual(['op-8.vm.ready', 'op-7.vm.ready', 'op-6.vm.ready']);
      const second = await store.list(hook, { limit: 3, ...(first.nextCursor === undefined ? {} : { cursor: first.nextCursor }) });
      expect(second.items.map((d) => d.eventId)).toEqual(['op-5.vm.ready', 'op-4.vm.ready']);
      expect(second.nextCursor).toBeUndefined();
      expect(await store.get(aDelivery(hook, 1, clock).id)).toBeUndefined();
      expect((await store.list(other, { limit: 10 })).items).toHaveLength(1);
    });

    it('update replaces a record that exists and never brings back one that is gone', async () => {
      const clock = manualClock();
      const store = make(clock, 100);
      const hook = crypto.randomUUID();
      const d = aDelivery(hook, 1, clock);
      await store.create(d);
      await store.update({ ...d, status: 'succeeded', attempts: 1, responseStatus: 200 });
      expect(await store.get(d.id)).toMatchObject({ status: 'succeeded', attempts: 1, responseStatus: 200 });
      await store.deleteFor(hook);
      await store.update({ ...d, status: 'failed' });
      expect(await store.get(d.id)).toBeUndefined();
      expect((await store.list(hook, { limit: 10 })).items).toEqual([]);
    });
  });
}

storeContract('memory', (clock, perWebhook) => createMemoryDeliveryStore({ clock, perWebhook }));
storeContract('redis', (clock, perWebhook) => {
  const prefix = testPrefix();
  prefixes.push(prefix);
  return createRedisDeliveryStore({ redis, prefix, clock, perWebhook });
});

describe('delivery record retention', () => {
  it('memory: records older than 7 days are gone', async () => {
    const clock = manualClock();
    const store = createMemoryDeliveryStore({ clock });
    const hook = crypto.randomUUID();
    const d = aDelivery(hook, 1, clock);
    await store.create(d);
    clock.advance(DELIVERY_RETENTION_MS + 1000);
    expect(await store.get(d.id)).toBeUndefined();
    expect((await store.list(hook, { limit: 10 })).items).toEqual([]);
  });

  it('redis: records expire after 7 days (key TTL) and older index entries are trimmed', async () => {
    const prefix = testPrefix();
    prefixes.push(prefix);
    const clock = manualClock(Date.now());
    const store = createRedisDeliveryStore({ redis, prefix, clock });
    const hook = crypto.randomUUID();
    const d = aDelivery(hook, 1, clock);
    await store.create(d);
    const ttl = await redis.pttl(`${prefix}:whd:${d.id}`);
    expect(ttl).toBeGreaterThan(DELIVERY_RETENTION_MS - 60_000);
    expect(ttl).toBeLessThanOrEqual(DELIVERY_RETENTION_MS);
    clock.advance(DELIVERY_RETENTION_MS + 1000);
    await store.create(aDelivery(hook, 2, clock));
    expect(await store.get(d.id)).toBeUndefined();
    expect((await store.list(hook, { limit: 10 })).items.map((x) => x.eventId)).toEqual(['op-2.vm.ready']);
  });
});
