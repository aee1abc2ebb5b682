import { afterAll, describe, expect, it } from 'vitest';
import { createBullmqDeliveryQueue } from '../../src/adapters/redis/webhook-delivery-queue.js';
import { createRedisDeliveryStore } from '../../src/adapters/redis/webhook-deliveries.js';
import { deletePrefix, REDIS_URL, redisClient, testPrefix } from '../jobs/helpers.js';
import { deliveryContract } from './delivery.contract.js';

const silent = { warn: () => undefined, error: () => undefined };
const redis = redisClient();
const prefixes: string[] = [];

afterAll(async () => {
  for (const p of prefixes) await deletePrefix(redis, p);
  await redis.quit();
});

function backend() {
  const prefix = testPrefix();
  prefixes.push(prefix);
  const queue = createBullmqDeliveryQueue({ url: REDIS_URL, prefix: `${prefix}-bull`, logger: silent, errorDelayMs: 20 });
  return { prefix, queue, store: createRedisDeliveryStore({ redis, prefix }) };
}

deliveryContract('BullMQ queue, Redis records', async () => {
  const { queue, store } = backend();
  return { store, queue, close: () => queue.close() };
});

describe('webhook delivery jobs on BullMQ', () => {
  it('a job holds ids only (tenant, webhook, event, delivery) and a second enqueue of the same delivery adds nothing', async () => {
    const { queue } = backend();
    try {
      const job = { deliveryId: crypto.randomUUID(), tenant: 't1', webhookId: crypto.randomUUID(), eventId: 'op-1.vm.ready' };
      await queue.enqueue(job);
      await queue.enqueue(job);
      const jobs = await queue.queue.getJobs(['waiting', 'delayed', 'active']);
      expect(jobs.map((j) => j.id)).toEqual([job.deliveryId]);
      expect(jobs[0]?.data).toEqual(job);
    } finally {
      await queue.close();
    }
  });
});
