import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createBullmqTransport } from '../../src/adapters/redis/bullmq-transport.js';
import { createRedisOperationEvents } from '../../src/adapters/redis/event-bus.js';
import { createRedisOperationStore } from '../../src/adapters/redis/operation-store.js';
import { systemClock } from '../../src/domain/shared/ids.js';
import { createOperationService } from '../../src/domain/operations/operation-service.js';
import { createJobEngine } from '../../src/jobs/job-engine.js';
import { engineContract } from '../contracts/engine.contract.js';
import { admin as adminPrincipal, deletePrefix, recordingLogger, redisClient, REDIS_URL, testPrefix, uuids, waitFor } from './helpers.js';

const prefix = testPrefix();
const admin = redisClient();
afterAll(async () => {
  await deletePrefix(admin, prefix);
  await admin.quit();
});

engineContract('bullmq', async ({ random }) => {
  const logger = recordingLogger();
  const p = `${prefix}:${randomUUID().slice(0, 6)}`;
  const redis = redisClient();
  const store = createRedisOperationStore({ redis, prefix: p, publishTo: p });
  const events = createRedisOperationEvents({ redis, prefix: p, logger });
  const transport = createBullmqTransport({
    url: REDIS_URL,
    prefix: `${p}:bull`,
    logger,
    lockDurationMs: 5_000,
    stalledIntervalMs: 5_000,
    handBackMs: 500,
  });
  const engine = createJobEngine({ transport, store, events, clock: systemClock, logger, random });
  return {
    engine,
    store,
    events,
    logger,
    async close() {
      await engine.close();
      await events.close();
      await redis.quit();
    },
  };
});

describe('BullMQ engine across processes', () => {
  it('a cancel made in one process aborts the step running in another (Redis pub/sub)', async () => {
    const p = `${prefix}:x${randomUUID().slice(0, 6)}`;
    const build = (name: string) => {
      const logger = recordingLogger();
      const redis = redisClient();
      const store = createRedisOperationStore({ redis, prefix: p, publishTo: p });
      const events = createRedisOperationEvents({ redis, prefix: p, logger });
      const transport = createBullmqTransport({ url: REDIS_URL, prefix: `${p}:bull`, logger });
      const engine = createJobEngine({ transport, store, events, clock: systemClock, logger });
      let started = false;
      engine.register([
        {
          kind: 'x.block',
          firstStep: 'a',
          retry: { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 },
          steps: {
            a: async (c) => {
              started = true;
              await new Promise((resolve) => c.signal.addEventListener('abort', resolve, { once: true }));
              throw c.signal.reason;
            },
          },
        },
      ]);
      const service = createOperationService({ store, events, queue: engine, ids: uuids, clock: systemClock, logger });
      return {
        name,
        store,
        engine,
        service,
        started: () => started,
        close: async () => {
          await engine.close();
          await events.close();
          await redis.quit();
        },
      };
    };
    const api = build('api');
    const worker = build('worker');
    try {
      await worker.engine.startWorker({ concurrency: 1 });
      const op = await api.service.start(adminPrincipal, { kind: 'x.block', tenant: 'lab1', target: { type: 'vm', id: 'v' }, input: {} });
      await waitFor(() => worker.started(), 5_000, 'the step to start in the worker');
      const requested = await api.service.cancel(adminPrincipal, op.id);
      expect(requested.status).toBe('running');
      expect(requested.cancelRequested).toBe(true);
      const done = await waitFor(
        async () => {
          const r = await api.store.get(op.id);
          return r?.status === 'canceled' ? r : undefined;
        },
        5_000,
        'the operation to be canceled',
      );
      expect(done.result).toEqual({ stoppedAtStep: 'a', stepCompleted: false });
    } finally {
      await Promise.all([api.close(), worker.close()]);
    }
  });
});

describe('BullMQ engine: starting an operation', () => {
  function build(ids: { next: () => string } = uuids) {
    const p = `${prefix}:s${randomUUID().slice(0, 6)}`;
    const logger = recordingLogger();
    const redis = redisClient();
    const store = createRedisOperationStore({ redis, prefix: p, publishTo: p });
    const events = createRedisOperationEvents({ redis, prefix: p, logger });
    const transport = createBullmqTransport({ url: REDIS_URL, prefix: `${p}:bull`, logger });
    const engine = createJobEngine({ transport, store, events, clock: systemClock, logger });
    engine.register([
      { kind: 's.noop', firstStep: 'a', retry: { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 }, steps: { a: async () => ({ type: 'done' }) } },
    ]);
    const service = createOperationService({ store, events, queue: engine, ids, clock: systemClock, logger });
    return {
      p,
      store,
      transport,
      service,
      close: async () => {
        await engine.close();
        await events.close();
        await redis.quit();
      },
    };
  }

  it('a start under an id that exists is OPERATION_EXISTS, and leaves that operation as it was', async () => {
    const s = build({ next: () => 'fixed-id' });
    try {
      const first = await s.service.start(adminPrincipal, { kind: 's.noop', tenant: 't1', target: { type: 'vm', id: 'v' }, input: { n: 1 } });
      await expect(
        s.service.start(adminPrincipal, { kind: 's.noop', tenant: 't2', target: { type: 'vm', id: 'w' }, input: { n: 2 } }),
      ).rejects.toMatchObject({ code: 'OPERATION_EXISTS' });
      expect(await s.store.get(first.id)).toMatchObject({ tenant: 't1', input: { n: 1 }, status: 'queued' });
    } finally {
      await s.close();
    }
  });
});
