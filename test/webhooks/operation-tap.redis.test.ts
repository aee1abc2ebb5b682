import { afterAll, describe, expect, it } from 'vitest';
import { createMemoryOperationEvents, createMemoryOperationStore } from '../../src/adapters/memory/index.js';
import { createMemoryWebhookRepository } from '../../src/adapters/memory/webhook-repository.js';
import { createMemoryResolver } from '../../src/adapters/net/memory-resolver.js';
import { createBullmqTransport } from '../../src/adapters/redis/bullmq-transport.js';
import { createRedisOperationEvents } from '../../src/adapters/redis/event-bus.js';
import { createRedisOperationStore } from '../../src/adapters/redis/operation-store.js';
import { createRedisDeliveryStore } from '../../src/adapters/redis/webhook-deliveries.js';
import { createSimulatedWebhookNetwork } from '../../src/adapters/sim/sim-webhook-network.js';
import { newOperationRecord } from '../../src/domain/operations/operation-lifecycle.js';
import type { Operation } from '../../src/domain/operations/operation.js';
import { createOperationService } from '../../src/domain/operations/operation-service.js';
import { systemClock } from '../../src/domain/shared/ids.js';
import { createDeliveryProcessor } from '../../src/domain/webhooks/delivery-processor.js';
import { createWebhookDispatcher } from '../../src/domain/webhooks/dispatcher.js';
import { tapOperationEvents, tapOperationStore } from '../../src/domain/webhooks/operation-tap.js';
import { newWebhookSecret } from '../../src/domain/webhooks/signing.js';
import { createTransportDeliveryQueue } from '../../src/jobs/delivery-transport.js';
import { createJobEngine } from '../../src/jobs/job-engine.js';
import { admin, deletePrefix, recordingLogger, redisClient, REDIS_URL, testPrefix, uuids } from '../jobs/helpers.js';
import { anOperation, eventually, startReceiver, verified } from './support.js';

const redis = redisClient();
const prefixes: string[] = [];
afterAll(async () => {
  for (const p of prefixes) await deletePrefix(redis, p);
  await redis.quit();
});
const fresh = () => {
  const p = testPrefix();
  prefixes.push(p);
  return p;
};

describe('tapping operation updates', () => {
  it('tapOperationEvents hands on terminal updates only, and still publishes every update', async () => {
    const seen: Operation[] = [];
    const inner = createMemoryOperationEvents();
    const heard: string[] = [];
    await inner.subscribe({ all: true }, (op) => heard.push(op.status));
    const events = tapOperationEvents(inner, (op) => seen.push(op));
    await events.publish(anOperation({ status: 'running', finishedAt: undefined }));
    await events.publish(anOperation({ status: 'succeeded' }));
    await events.publish(anOperation({ status: 'canceled' }));
    await eventually(() => heard.length === 3);
    expect(seen.map((o) => o.status)).toEqual(['succeeded', 'canceled']);
  });

  it('a listener that throws fails neither the publish nor the write', async () => {
    const events = tapOperationEvents(createMemoryOperationEvents(), () => {
      throw new Error('boom');
    });
    await expect(events.publish(anOperation())).resolves.toBeUndefined();
  });

  it('tapOperationStore leaves a store that does not publish its writes as it is (the events tap sees them)', () => {
    const store = createMemoryOperationStore();
    expect(tapOperationStore(store, () => undefined)).toBe(store);
  });

  it('a Redis store publishes its own writes: the store tap hears the write that finishes an operation, as the client view', async () => {
    const p = fresh();
    const seen: Operation[] = [];
    const store = tapOperationStore(createRedisOperationStore({ redis, prefix: p, publishTo: p }), (op) => seen.push(op));
    const now = new Date();
    const record = newOperationRecord(
      {
        id: crypto.randomUUID(),
        kind: 'image.import',
        tenant: 't1',
        target: { type: 'image', id: 'x' },
        createdBy: 'olga',
        input: { url: 'https://x' },
        firstStep: 'a',
      },
      now,
    );
    await store.create(record);
    await store.mutate(record.id, (cur) => ({ ...cur, status: 'running', startedAt: now.toISOString() }));
    expect(seen).toEqual([]);
    await store.mutate(record.id, (cur) => ({ ...cur, status: 'succeeded', finishedAt: now.toISOString(), progress: { percent: 100 } }));
    expect(seen.map((o) => [o.id, o.status])).toEqual([[record.id, 'succeeded']]);
    expect(seen[0]).not.toHaveProperty('input');
    expect(seen[0]).not.toHaveProperty('cursor');
    // A no-op change of the finished operation tells nothing more.
    await store.mutate(record.id, () => undefined);
    expect(seen).toHaveLength(1);
  });
});

describe('from a finished job to a signed delivery, all on Redis and BullMQ', () => {
  it('an operation run by the BullMQ job engine over the tapped Redis store reaches the receiver as operation.succeeded', async () => {
    const p = fresh();
    const logger = recordingLogger();
    const receiver = await startReceiver(() => 200);
    const secret = newWebhookSecret();
    const repo = createMemoryWebhookRepository({
      webhooks: [
        {
          id: crypto.randomUUID(),
          status: 'active',
          tenant: 't1',
          url: 'https://lms.example.edu/hooks',
          events: ['operation.succeeded'],
          createdAt: new Date().toISOString(),
          createdBy: 'olga',
          secret,
        },
      ],
    });
    const deliveries = createRedisDeliveryStore({ redis, prefix: p });
    const queue = createTransportDeliveryQueue({
      transport: createBullmqTransport({ url: REDIS_URL, prefix: `${p}-whbull`, queueName: 'labplane-webhooks', logger }),
      logger,
    });
    const dispatcher = createWebhookDispatcher({ repo, store: deliveries, queue, clock: systemClock });
    const onTerminal = (op: Operation) => void dispatcher.publish(op).catch(() => undefined);
    const bus = createRedisOperationEvents({ redis, prefix: p, logger });
    const events = tapOperationEvents(bus, onTerminal);
    const store = tapOperationStore(createRedisOperationStore({ redis, prefix: p, publishTo: p }), onTerminal);
    const engine = createJobEngine({
      transport: createBullmqTransport({ url: REDIS_URL, prefix: `${p}-bull`, logger }),
      store,
      events,
      clock: systemClock,
      logger,
    });
    engine.register([
      {
        kind: 'image.import',
        firstStep: 'a',
        retry: { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 },
        steps: { a: async () => ({ type: 'done', result: { image: 'x' } }) },
      },
    ]);
    const service = createOperationService({ store, events, queue: engine, ids: uuids, clock: systemClock, logger });
    try {
      await engine.startWorker({ concurrency: 2 });
      await queue.start(
        createDeliveryProcessor({
          repo,
          store: deliveries,
          sender: createSimulatedWebhookNetwork([{ host: 'lms.example.edu', target: receiver.origin }]),
          resolver: createMemoryResolver({ 'lms.example.edu': ['93.184.216.34'] }),
          policy: { httpAllowedHosts: [] },
          clock: systemClock,
          logger,
        }),
        { concurrency: 2 },
      );
      const op = await service.start(admin, { kind: 'image.import', tenant: 't1', target: { type: 'image', id: 't1/x' }, input: {} });
      await eventually(() => receiver.received.length > 0, 15_000, 'the delivery');
      const body = verified(secret, receiver.received[0]!);
      expect(body).toMatchObject({
        id: `${op.id}.operation.succeeded`,
        type: 'operation.succeeded',
        tenant: 't1',
        data: { id: op.id, status: 'succeeded', result: { image: 'x' } },
      });
    } finally {
      await engine.close();
      await queue.close();
      await bus.close();
      await receiver.close();
    }
  });
});
