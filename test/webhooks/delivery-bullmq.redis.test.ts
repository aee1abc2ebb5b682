import { afterAll, describe, expect, it } from 'vitest';
import { createBullmqTransport } from '../../src/adapters/redis/bullmq-transport.js';
import { createRedisDeliveryStore } from '../../src/adapters/redis/webhook-deliveries.js';
import { createTransportDeliveryQueue, DELIVERY_JOB_KIND } from '../../src/jobs/delivery-transport.js';
import { deletePrefix, REDIS_URL, redisClient, testPrefix } from '../jobs/helpers.js';
import { deliveryContract } from '../contracts/delivery.contract.js';

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };
const redis = redisClient();
const prefixes: string[] = [];

afterAll(async () => {
  for (const p of prefixes) await deletePrefix(redis, p);
  await redis.quit();
});

function backend() {
  const prefix = testPrefix();
  prefixes.push(prefix);
  const transport = createBullmqTransport({
    url: REDIS_URL,
    prefix: `${prefix}-bull`,
    queueName: 'labplane-webhooks',
    logger: silent,
    redeliveryDelayMs: 20,
  });
  const queue = createTransportDeliveryQueue({ transport, logger: silent });
  return { prefix, transport, queue, store: createRedisDeliveryStore({ redis, prefix }) };
}

deliveryContract('BullMQ transport, Redis records', async () => {
  const { queue, store } = backend();
  return { store, queue, close: () => queue.close() };
});

describe('webhook delivery jobs on BullMQ', () => {
  it('a job holds ids only (delivery, attempt) and a second enqueue of the same attempt adds nothing', async () => {
    const { queue, transport } = backend();
    try {
      const deliveryId = crypto.randomUUID();
      await queue.enqueue({ deliveryId, attempt: 0 });
      await queue.enqueue({ deliveryId, attempt: 0 });
      const jobs = await transport.queue.getJobs(['waiting', 'delayed', 'active']);
      expect(jobs.map((j) => [j.id, j.name])).toEqual([[`${deliveryId}:attempt:0`, DELIVERY_JOB_KIND]]);
      expect(jobs[0]?.data).toEqual({ operationId: deliveryId, step: 'attempt', generation: 0 });
      expect(transport.queue.name).toBe('labplane-webhooks');
    } finally {
      await queue.close();
    }
  });
});
