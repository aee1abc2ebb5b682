import { randomUUID } from 'node:crypto';
import type { QueueLocks } from './simulated.js';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createMemoryAuditLog } from '../adapters/memory/audit-log.js';
import { createMemoryIdempotencyStore, createMemoryOperationEvents, createMemoryOperationStore } from '../adapters/memory/index.js';
import { registerJobMetrics } from '../adapters/redis/job-metrics.js';
import type { AuditLog } from '../domain/audit/audit.js';
import type { IdempotencyStore } from '../domain/operations/idempotency-store.js';
import type { OperationEvents } from '../domain/operations/operation-events.js';
import { createOperationService, type OperationService } from '../domain/operations/operation-service.js';
import { currentTraceRef } from '../jobs/tracing.js';
import { activeTelemetry, type Telemetry } from './telemetry.js';
import type { OperationStore } from '../domain/operations/operation-store.js';
import { systemClock } from '../domain/shared/ids.js';
import { tapOperationEvents, tapOperationStore, type TerminalOperationListener } from '../domain/webhooks/operation-tap.js';
import { createInProcessJobEngine, createJobEngine, type JobEngine } from '../jobs/index.js';
import type { WorkerLoop } from './area.js';
import type { Config } from './config.js';

export interface JobsRuntime {
  readonly store: OperationStore;
  readonly events: OperationEvents;
  readonly idempotency: IdempotencyStore;
  readonly engine: JobEngine;
  readonly operations: OperationService;
  /** BullMQ queues for the dashboard (none for the in-process engine). */
  readonly dashboardQueues: readonly unknown[];
  readonly auditLog: AuditLog;
  /** The shared command connection (rate limits use it too); absent without Redis. */
  readonly redis: Redis | undefined;
  /** Resolves when Redis answers (absent without Redis). */
  readonly redisPing: (() => Promise<void>) | undefined;
  close(): Promise<void>;
}

const PREFIX = 'labplane';

/**
 * Decorators of what the runtime records and publishes, applied before anything uses them (webhooks
 * watch terminal operations through them: `tapOperationEvents`, `tapOperationStore`).
 */
export interface OperationTap {
  events(events: OperationEvents): OperationEvents;
  store(store: OperationStore): OperationStore;
}

const NO_TAP: OperationTap = { events: (e) => e, store: (s) => s };

/**
 * A tap handing every terminal operation to the listeners added with `listen`: the runtime is built
 * before the areas, which add their listeners (`AreaParts.onTerminalOperation`) once built.
 */
export function createTerminalTap(): OperationTap & { listen(listener: TerminalOperationListener): void } {
  const listeners: TerminalOperationListener[] = [];
  const onTerminal: TerminalOperationListener = (op) => {
    for (const l of listeners) l(op);
  };
  return {
    events: (e) => tapOperationEvents(e, onTerminal),
    store: (s) => tapOperationStore(s, onTerminal),
    listen: (l) => void listeners.push(l),
  };
}

/**
 * Operation store, events, idempotency and the job engine: on Redis when REDIS_URL is set (its
 * adapters, BullMQ and ioredis, loaded only then), else in process.
 */
export async function buildJobsRuntime(
  config: Config,
  logger: Logger,
  metrics: Registry,
  tap: OperationTap = NO_TAP,
  locks?: QueueLocks,
): Promise<JobsRuntime> {
  const log = logger.child({ component: 'jobs' });
  const retentionMs = config.operationRetentionDays * 24 * 3600 * 1000;
  const ids = { next: () => randomUUID() };
  if (config.redisUrl === undefined) {
    const store = tap.store(createMemoryOperationStore({ retentionMs }));
    const events = tap.events(createMemoryOperationEvents({ logger: log }));
    const engine = createInProcessJobEngine({ store, events, clock: systemClock, logger: log });
    registerJobMetrics(metrics, engine);
    const operations = createOperationService({ store, events, queue: engine, ids, clock: systemClock, logger: log, trace: currentTraceRef });
    return {
      store,
      events,
      idempotency: createMemoryIdempotencyStore(),
      auditLog: createMemoryAuditLog(),
      engine,
      operations,
      dashboardQueues: [],
      redis: undefined,
      redisPing: undefined,
      close: () => engine.close(),
    };
  }
  const { createBullmqTransport, createRedisClient, createRedisIdempotencyStore, createRedisOperationEvents, createRedisOperationStore } =
    await import('../adapters/redis/index.js');
  const { createRedisAuditLog } = await import('../adapters/redis/audit-log.js');
  const redis = createRedisClient({ url: config.redisUrl, logger: log, name: 'labplane-commands' });
  const bus = createRedisOperationEvents({ redis, prefix: PREFIX, logger: log });
  const events = tap.events(bus);
  const store = tap.store(createRedisOperationStore({ redis, prefix: PREFIX, retentionMs, publishTo: PREFIX }));
  const transport = createBullmqTransport({ url: config.redisUrl, logger: log, ...locks, ...bullmqTelemetry() });
  const engine = createJobEngine({ transport, store, events, clock: systemClock, logger: log });
  registerJobMetrics(metrics, engine);
  const operations = createOperationService({ store, events, queue: engine, ids, clock: systemClock, logger: log, trace: currentTraceRef });
  return {
    store,
    events,
    idempotency: createRedisIdempotencyStore({ redis, prefix: PREFIX }),
    auditLog: createRedisAuditLog({ redis, prefix: PREFIX }),
    engine,
    operations,
    dashboardQueues: [transport.queue],
    redis,
    redisPing: async () => {
      await redis.ping();
    },
    async close() {
      await engine.close();
      await bus.close();
      redis.disconnect();
    },
  };
}

/**
 * The job runtime whose worker also runs the areas' worker loops (webhook deliveries): whichever
 * process runs jobs (the API in the embedded default, the worker with Redis) runs them, started
 * after the engine's worker and stopped before it; the areas' queues join the dashboard's.
 */
export function withWorkerLoops(jobs: JobsRuntime, loops: readonly WorkerLoop[], dashboardQueues: readonly unknown[] = []): JobsRuntime {
  const engine = jobs.engine;
  const stopLoops = async (graceMs?: number): Promise<void> => {
    await Promise.all(loops.map((l) => l.stop(graceMs)));
  };
  const wrapped: JobEngine = {
    ...engine,
    async startWorker(options) {
      await engine.startWorker(options);
      for (const l of loops) await l.start();
    },
    async stop(options) {
      // Within the same grace as the engine's worker, not one after the other.
      await Promise.all([stopLoops(options.graceMs), engine.stop(options)]);
    },
    async close() {
      await stopLoops();
      await engine.close();
    },
  };
  return { ...jobs, engine: wrapped, dashboardQueues: [...jobs.dashboardQueues, ...dashboardQueues] };
}

/** BullMQ's telemetry option while tracing is on. */
function bullmqTelemetry(): { telemetry?: Telemetry['bullmq'] } {
  const t = activeTelemetry()?.bullmq;
  return t === undefined ? {} : { telemetry: t };
}
