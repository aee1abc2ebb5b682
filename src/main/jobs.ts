import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createMemoryIdempotencyStore, createMemoryOperationEvents, createMemoryOperationStore } from '../adapters/memory/index.js';
import {
  createBullmqTransport,
  createRedisClient,
  createRedisIdempotencyStore,
  createRedisOperationEvents,
  createRedisOperationStore,
  registerJobMetrics,
} from '../adapters/redis/index.js';
import { createMemoryAuditLog } from '../adapters/memory/audit-log.js';
import { createRedisAuditLog } from '../adapters/redis/audit-log.js';
import type { AuditLog } from '../domain/audit/audit.js';
import type { IdempotencyStore } from '../domain/operations/idempotency-store.js';
import type { OperationEvents } from '../domain/operations/operation-events.js';
import { createOperationService, type OperationService } from '../domain/operations/operation-service.js';
import type { OperationStore } from '../domain/operations/operation-store.js';
import { systemClock } from '../domain/shared/ids.js';
import { createInProcessJobEngine, createJobEngine, type JobEngine } from '../jobs/index.js';
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

/** Operation store, events, idempotency and the job engine: on Redis when REDIS_URL is set, else in process. */
/** BullMQ's job lock and stalled-job check, ms (defaults 30 s each). */
export interface QueueLocks {
  readonly lockDurationMs: number;
  readonly stalledIntervalMs: number;
}

export function buildJobsRuntime(config: Config, logger: Logger, metrics: Registry, tap: OperationTap = NO_TAP, locks?: QueueLocks): JobsRuntime {
  const log = logger.child({ component: 'jobs' });
  const retentionMs = config.operationRetentionDays * 24 * 3600 * 1000;
  const ids = { next: () => randomUUID() };
  if (config.redisUrl === undefined) {
    const store = tap.store(createMemoryOperationStore({ retentionMs }));
    const events = tap.events(createMemoryOperationEvents({ logger: log }));
    const engine = createInProcessJobEngine({ store, events, clock: systemClock, logger: log });
    registerJobMetrics(metrics, engine);
    const operations = createOperationService({ store, events, queue: engine, ids, clock: systemClock, logger: log });
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
  const redis = createRedisClient({ url: config.redisUrl, logger: log, name: 'labplane-commands' });
  const bus = createRedisOperationEvents({ redis, prefix: PREFIX, logger: log });
  const events = tap.events(bus);
  const store = tap.store(createRedisOperationStore({ redis, prefix: PREFIX, retentionMs, publishTo: PREFIX }));
  const transport = createBullmqTransport({ url: config.redisUrl, logger: log, ...locks });
  const engine = createJobEngine({ transport, store, events, clock: systemClock, logger: log });
  registerJobMetrics(metrics, engine);
  const operations = createOperationService({ store, events, queue: engine, ids, clock: systemClock, logger: log });
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
