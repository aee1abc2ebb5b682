import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { createMemoryOperationEvents } from '../../src/adapters/memory/event-bus.js';
import { createMemoryOperationStore } from '../../src/adapters/memory/operation-store.js';
import { createBullmqTransport } from '../../src/adapters/redis/bullmq-transport.js';
import { registerJobMetrics } from '../../src/adapters/redis/job-metrics.js';
import { createOperationService } from '../../src/domain/operations/operation-service.js';
import { systemClock } from '../../src/domain/shared/ids.js';
import { createInProcessTransport } from '../../src/jobs/in-process-transport.js';
import { createJobEngine } from '../../src/jobs/job-engine.js';
import type { JobTransport } from '../../src/domain/operations/job-queue.js';
import { admin, deletePrefix, recordingLogger, redisClient, REDIS_URL, testPrefix, waitFor, uuids } from './helpers.js';

const prefix = testPrefix();
const redis = redisClient();
afterAll(async () => {
  await deletePrefix(redis, prefix);
  await redis.quit();
});

describe('job metrics', () => {
  const cases: Array<[string, (logger: ReturnType<typeof recordingLogger>) => JobTransport, string]> = [
    ['in-process', (logger) => createInProcessTransport({ logger }), 'in-process'],
    ['bullmq', (logger) => createBullmqTransport({ url: REDIS_URL, prefix: `${prefix}:bull`, logger }), 'labplane-jobs'],
  ];
  for (const [name, transportOf, queue] of cases) {
    it(`exposes queue gauges and a step duration histogram on the given registry (${name})`, async () => {
      const logger = recordingLogger();
      const store = createMemoryOperationStore();
      const events = createMemoryOperationEvents();
      const engine = createJobEngine({ transport: transportOf(logger), store, events, clock: systemClock, logger });
      engine.register([
        { kind: 'm.noop', firstStep: 'a', retry: { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 }, steps: { a: async () => ({ type: 'done' }) } },
      ]);
      const registry = new Registry();
      const off = registerJobMetrics(registry, engine);
      const service = createOperationService({ store, events, queue: engine, ids: uuids, clock: systemClock, logger });
      await engine.startWorker({ concurrency: 1 });
      const op = await service.start(admin, { kind: 'm.noop', target: { type: 'x', id: 'y' }, input: {} });
      await waitFor(async () => (await store.get(op.id))?.status === 'succeeded', 5_000, 'success');
      // the step is observed just before the queue acknowledges the job: poll until both show
      const text = await waitFor(
        async () => {
          const t = await registry.metrics();
          return t.includes(`labplane_jobs{queue="${queue}",state="completed"} 1`) && t.includes('outcome="done"') ? t : undefined;
        },
        3_000,
        'the metrics',
      );
      expect(text).toContain(`labplane_jobs{queue="${queue}",state="waiting"} 0`);
      expect(text).toMatch(/labplane_job_step_duration_seconds_count\{kind="m\.noop",outcome="done"\} 1/);
      off();
      await engine.close();
    });
  }
});
