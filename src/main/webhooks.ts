import type { InformerHealth } from '../adapters/kubernetes/resource-cache.js';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { createKubeWebhookRepository } from '../adapters/kubernetes/webhook-repository.js';
import { createMemoryDeliveryStore } from '../adapters/memory/webhook-deliveries.js';
import { webhooksModule } from '../api/modules/index.js';
import type { ApiModule } from '../api/module.js';
import type { HostResolver } from '../domain/net/index.js';
import type { Operation } from '../domain/operations/operation.js';
import type { OperationStore } from '../domain/operations/operation-store.js';
import type { TenantRepository } from '../domain/tenants/tenant-repository.js';
import type { DeliveryQueue, DeliveryStore, WebhookSender } from '../domain/webhooks/delivery.js';
import { createDeliveryProcessor } from '../domain/webhooks/delivery-processor.js';
import { createWebhookDispatcher, type WebhookDispatcher } from '../domain/webhooks/dispatcher.js';
import type { TerminalOperationListener } from '../domain/webhooks/operation-tap.js';
import type { WebhookRepository } from '../domain/webhooks/webhook-repository.js';
import { createWebhookService, type WebhookService } from '../domain/webhooks/webhook-service.js';
import { createTransportDeliveryQueue } from '../jobs/delivery-transport.js';
import { createInProcessTransport } from '../jobs/in-process-transport.js';
import type { PeriodicLoop } from '../jobs/periodic-loop.js';
import { createWebhookOutboxDrain } from '../jobs/webhook-outbox.js';
import { defineArea, type Platform } from './area.js';

/** The BullMQ queue of webhook deliveries (beside the job queue, on the same transport code). */
const WEBHOOK_QUEUE = 'labplane-webhooks';

/** The platform slice webhooks use. */
export type WebhooksContext = Pick<Platform, 'config' | 'logger' | 'clock' | 'kube' | 'auditLog'> & {
  readonly world: Pick<Platform['world'], 'network' | 'queueLocks'>;
  readonly tenantRepo: Pick<TenantRepository, 'get'>;
  /** The job runtime's store: its outbox entry is marked done once an operation's deliveries are recorded. */
  readonly operationStore: Pick<OperationStore, 'get' | 'outbox'>;
};

export interface WebhooksOptions {
  /** Tests: another retry schedule (see `DEFAULT_DELIVERY_SCHEDULE_MS`), network or resolver. */
  readonly schedule?: readonly number[];
  readonly sender?: WebhookSender;
  readonly resolver?: HostResolver;
  /** Redis key prefix of the delivery records (default 'labplane'); BullMQ's is `bullPrefix` (default 'lp-bull'). */
  readonly redisPrefix?: string;
  readonly bullPrefix?: string;
}

export interface Webhooks {
  readonly service: WebhookService;
  readonly module: ApiModule;
  readonly repo: WebhookRepository;
  readonly deliveries: DeliveryStore;
  readonly queue: DeliveryQueue;
  readonly dispatcher: WebhookDispatcher;
  /**
   * Every terminal operation (from the job runtime's tap) reaches the dispatcher through it (the fast
   * path), which then marks the operation's outbox entry done.
   */
  readonly onTerminal: TerminalOperationListener;
  /** The leader's loop publishing what the fast path missed (a crash after the terminal write): see `createWebhookOutboxDrain`. */
  readonly outboxDrain: PeriodicLoop;
  /** The BullMQ delivery queue for the dashboard (none in process). */
  readonly dashboardQueues: readonly unknown[];
  /** The webhook Secret informer's state, for readiness. */
  informers(): readonly InformerHealth[];
  /** Starts sending deliveries in this process (wherever the job worker runs). Idempotent. */
  startDelivery(): Promise<void>;
  /** Stops sending; attempts still running after `graceMs` (default 0) are aborted and run again later. */
  stopDelivery(graceMs?: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * Webhooks: Secrets-backed repository (in CONTROL_NAMESPACE) (watch-backed reads), delivery records and queue (Redis and
 * BullMQ with REDIS_URL, loaded only then, else in process, both on the job transport code), the outbox drain, the delivery worker, the use cases and the API module.
 * Deliveries go out on the world's network (./simulated.ts: the simulated one with SIM_WEBHOOK_ROUTES in the
 * embedded default, node:dns and the real network otherwise), always through the SSRF guard.
 */
export async function buildWebhooks(ctx: WebhooksContext, options: WebhooksOptions = {}): Promise<Webhooks> {
  const { config } = ctx;
  const log = ctx.logger.child({ component: 'webhooks' });
  const closers: Array<() => Promise<void>> = [];
  const repo = createKubeWebhookRepository({ client: ctx.kube, namespace: config.controlNamespace, tenants: ctx.tenantRepo });
  await repo.start();
  closers.push(() => repo.close());

  let deliveries: DeliveryStore;
  let queue: DeliveryQueue;
  let dashboardQueues: unknown[] = [];
  let migrate: () => Promise<void> = async () => undefined;
  if (config.redisUrl === undefined) {
    deliveries = createMemoryDeliveryStore();
    queue = createTransportDeliveryQueue({ transport: createInProcessTransport({ logger: log }), logger: log });
  } else {
    const { createRedisClient } = await import('../adapters/redis/redis-connection.js');
    const { createBullmqTransport } = await import('../adapters/redis/bullmq-transport.js');
    const { createRedisDeliveryStore } = await import('../adapters/redis/webhook-deliveries.js');
    const r = createRedisClient({ url: config.redisUrl, logger: log, name: 'labplane-webhooks' });
    closers.push(async () => {
      await r.quit().catch(() => r.disconnect());
    });
    deliveries = createRedisDeliveryStore({ redis: r, prefix: options.redisPrefix ?? 'labplane' });
    // Kept a day: a delivery published again (the outbox drain) within it is deduped by the queue, later by its record.
    const bull = createBullmqTransport({
      url: config.redisUrl,
      logger: log,
      queueName: WEBHOOK_QUEUE,
      keepCompletedSeconds: 24 * 3_600,
      ...(options.bullPrefix === undefined ? {} : { prefix: options.bullPrefix }),
      ...ctx.world.queueLocks,
    });
    const q = createTransportDeliveryQueue({ transport: bull, logger: log });
    queue = q;
    dashboardQueues = [bull.queue];
    migrate = () => requeueLegacyDeliveryJobs(bull.queue as unknown as LegacyQueue, q, log);
  }
  closers.push(() => queue.close());

  const resolver = options.resolver ?? ctx.world.network.webhookResolver;
  const sender = options.sender ?? ctx.world.network.webhookSender;
  const policy = { httpAllowedHosts: config.webhooks.httpAllowedHosts };
  const dispatcher = createWebhookDispatcher({ repo, store: deliveries, queue, clock: ctx.clock });
  const service = createWebhookService({
    repo,
    tenants: ctx.tenantRepo,
    deliveries,
    dispatcher,
    resolver,
    policy,
    ids: { next: () => randomUUID() },
    clock: ctx.clock,
    secretOverlapMs: config.webhooks.secretOverlapMs,
  });
  const processor = createDeliveryProcessor({
    repo,
    store: deliveries,
    sender,
    resolver,
    policy,
    clock: ctx.clock,
    logger: log,
    disableAfterMs: config.webhooks.disableAfterMs,
    auditLog: ctx.auditLog,
    publishEvent: (event) => dispatcher.publishEvent(event),
    ...(options.schedule === undefined ? {} : { schedule: options.schedule }),
  });
  const onTerminal = (op: Operation): void => {
    dispatcher
      .publish(op)
      .then(() => ctx.operationStore.outbox.done([op.id]))
      .catch((err: unknown) => log.warn({ err, operationId: op.id }, 'could not enqueue webhook deliveries; the outbox drain will'));
  };
  let delivering = false;

  return {
    service,
    module: webhooksModule(service),
    repo,
    deliveries,
    queue,
    dispatcher,
    onTerminal,
    outboxDrain: createWebhookOutboxDrain({
      operations: ctx.operationStore,
      dispatcher,
      clock: ctx.clock,
      logger: ctx.logger.child({ component: 'webhook-outbox' }),
      graceMs: config.webhooks.outboxGraceMs,
      intervalMs: Math.max(500, config.webhooks.outboxGraceMs / 2),
    }),
    dashboardQueues,
    informers: () => repo.informers(),
    async startDelivery() {
      if (delivering) return;
      delivering = true;
      if (!queue.durable)
        log.warn(
          { queue: queue.name },
          'WEBHOOK DELIVERIES ARE NOT DURABLE: pending deliveries are lost when this process stops. Configure REDIS_URL.',
        );
      await migrate().catch((err: unknown) =>
        log.warn({ err }, 'could not requeue the delivery jobs of the previous version; retried at the next start'),
      );
      await queue.start(processor, { concurrency: config.workerConcurrency });
    },
    async stopDelivery(graceMs = 0) {
      if (!delivering) return;
      delivering = false;
      await queue.stop({ graceMs });
    },
    async close() {
      for (const c of closers.reverse()) await c().catch((err: unknown) => log.warn({ err }, 'error while closing the webhooks'));
    },
  };
}

/** What `requeueLegacyDeliveryJobs` needs of the BullMQ queue. */
interface LegacyQueue {
  getJobs(states: string[]): Promise<Array<{ readonly name: string; readonly data: unknown; remove(): Promise<void> } | undefined>>;
}

/**
 * Delivery jobs queued by a version before deliveries ran on the job transport (job name 'deliver',
 * data `{ deliveryId, ... }`) are queued again in the current shape, then removed: the processor
 * turns attempt 0 of a delivery that already made attempts into its due next attempt. Jobs an old
 * worker is running are left to it.
 */
async function requeueLegacyDeliveryJobs(legacy: LegacyQueue, queue: DeliveryQueue, log: Logger): Promise<void> {
  let n = 0;
  for (const job of await legacy.getJobs(['waiting', 'delayed', 'paused', 'prioritized'])) {
    const deliveryId = (job?.data as { deliveryId?: unknown } | undefined)?.deliveryId;
    if (job === undefined || job.name !== 'deliver' || typeof deliveryId !== 'string') continue;
    await queue.enqueue({ deliveryId, attempt: 0 });
    await job.remove();
    n += 1;
  }
  if (n > 0) log.info({ jobs: n }, 'requeued the webhook delivery jobs of the previous version');
}

/** What other areas use of webhooks (tenant deletion removes a tenant's webhooks; the idle detector sends its warnings). */
export interface WebhooksExports {
  readonly repo: WebhookRepository;
  /** Sends an event that is not an operation's to the tenant's subscribed webhooks (see `WebhookDispatcher.publishEvent`). */
  readonly publishEvent: WebhookDispatcher['publishEvent'];
}

/** Tenant webhooks: every terminal operation is offered to them; deliveries run where the job workers run. */
export const webhooksArea = defineArea({
  name: 'webhooks',
  needs: [],
  async build(ctx: WebhooksContext) {
    const w = await buildWebhooks(ctx);
    return {
      exports: { repo: w.repo, publishEvent: (event) => w.dispatcher.publishEvent(event) } satisfies WebhooksExports,
      api: [w.module],
      informers: w.informers,
      dashboardQueues: w.dashboardQueues,
      onTerminalOperation: w.onTerminal,
      workerLoops: [{ start: w.startDelivery, stop: w.stopDelivery }],
      leaderLoops: [w.outboxDrain],
      close: w.close,
    };
  },
});
