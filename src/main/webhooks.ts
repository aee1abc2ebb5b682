import type { InformerHealth } from '../adapters/kubernetes/resource-cache.js';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { KubeClient } from '../adapters/kubernetes/kube-client.js';
import { createKubeWebhookRepository } from '../adapters/kubernetes/webhook-repository.js';
import { createMemoryDeliveryStore } from '../adapters/memory/webhook-deliveries.js';
import { createDnsResolver } from '../adapters/net/dns-resolver.js';
import { createHttpWebhookSender } from '../adapters/net/webhook-sender.js';
import { createRedisClient } from '../adapters/redis/redis-connection.js';
import { createBullmqTransport } from '../adapters/redis/bullmq-transport.js';
import { createRedisDeliveryStore } from '../adapters/redis/webhook-deliveries.js';
import { createSimulatedResolver } from '../adapters/sim/sim-resolver.js';
import { createSimulatedWebhookNetwork, simulatedRouteRecords } from '../adapters/sim/sim-webhook-network.js';
import { webhooksModule } from '../api/modules/index.js';
import type { ApiModule } from '../api/module.js';
import type { HostResolver } from '../domain/net/index.js';
import type { Operation } from '../domain/operations/operation.js';
import type { OperationOutbox, OperationStore } from '../domain/operations/operation-store.js';
import { systemClock } from '../domain/shared/ids.js';
import type { TenantRepository } from '../domain/tenants/tenant-repository.js';
import type { DeliveryQueue, DeliveryStore, WebhookSender } from '../domain/webhooks/delivery.js';
import { createDeliveryProcessor } from '../domain/webhooks/delivery-processor.js';
import { createWebhookDispatcher, type WebhookDispatcher } from '../domain/webhooks/dispatcher.js';
import { tapOperationEvents, tapOperationStore } from '../domain/webhooks/operation-tap.js';
import type { WebhookRepository } from '../domain/webhooks/webhook-repository.js';
import { createWebhookService, type WebhookService } from '../domain/webhooks/webhook-service.js';
import { createTransportDeliveryQueue } from '../jobs/delivery-transport.js';
import { createInProcessTransport } from '../jobs/in-process-transport.js';
import type { JobEngine } from '../jobs/job-engine.js';
import type { PeriodicLoop } from '../jobs/periodic-loop.js';
import { createWebhookOutboxDrain } from '../jobs/webhook-outbox.js';
import type { Config } from './config.js';
import type { JobsRuntime, OperationTap, QueueLocks } from './jobs.js';

/** The BullMQ queue of webhook deliveries (beside the job queue, on the same transport code). */
const WEBHOOK_QUEUE = 'labplane-webhooks';

export interface WebhooksDeps {
  /** The one Kubernetes client of the process (one request budget: KUBE_QPS / KUBE_BURST). */
  readonly kube: KubeClient;
  readonly config: Config;
  readonly logger: Logger;
  readonly tenantRepo: Pick<TenantRepository, 'get'>;
  /** Tests: another retry schedule (see `DEFAULT_DELIVERY_SCHEDULE_MS`), network or resolver. */
  readonly schedule?: readonly number[];
  readonly sender?: WebhookSender;
  readonly resolver?: HostResolver;
  /** Redis key prefix of the delivery records (default 'labplane'); BullMQ's is `bullPrefix` (default 'lp-bull'). */
  readonly redisPrefix?: string;
  readonly bullPrefix?: string;
  /** BullMQ's lock and stalled-job check of the delivery worker (defaults 30 s each). */
  readonly queueLocks?: QueueLocks;
}

export interface Webhooks {
  readonly service: WebhookService;
  readonly module: ApiModule;
  readonly repo: WebhookRepository;
  readonly deliveries: DeliveryStore;
  readonly queue: DeliveryQueue;
  readonly dispatcher: WebhookDispatcher;
  /**
   * Decorates the job runtime's events and store: every terminal operation reaches the dispatcher
   * (the fast path), which then marks the operation's outbox entry done.
   */
  readonly tap: OperationTap;
  /** The leader's loop publishing what the fast path missed (a crash after the terminal write): see `createWebhookOutboxDrain`. */
  outboxDrain(operations: Pick<OperationStore, 'get' | 'outbox'>): PeriodicLoop;
  /** The BullMQ delivery queue for the dashboard (none in process). */
  readonly dashboardQueues: readonly unknown[];
  /** The webhook Secret informer's state, for readiness. */
  informers(): readonly InformerHealth[];
  /** Starts sending deliveries in this process (with the job worker: see `withDeliveries`). Idempotent. */
  startDelivery(): Promise<void>;
  /** Stops sending; attempts still running after `graceMs` (default 0) are aborted and run again later. */
  stopDelivery(graceMs?: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * Webhooks: Secrets-backed repository (in CONTROL_NAMESPACE) (watch-backed reads), delivery records and queue (Redis and
 * BullMQ with REDIS_URL, else in process), the delivery worker, the use cases and the API module.
 * The embedded default delivers through the simulated network (SIM_WEBHOOK_ROUTES) with the
 * simulated DNS; a real cluster uses node:dns and the real network, always through the SSRF guard.
 */
export async function buildWebhooks(deps: WebhooksDeps): Promise<Webhooks> {
  const { config } = deps;
  const log = deps.logger.child({ component: 'webhooks' });
  const closers: Array<() => Promise<void>> = [];
  const simulated = config.kube.mode === 'simulated';
  const client = deps.kube;
  const repo = createKubeWebhookRepository({ client, namespace: config.controlNamespace, tenants: deps.tenantRepo });
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
    const r = createRedisClient({ url: config.redisUrl, logger: log, name: 'labplane-webhooks' });
    closers.push(async () => {
      await r.quit().catch(() => r.disconnect());
    });
    deliveries = createRedisDeliveryStore({ redis: r, prefix: deps.redisPrefix ?? 'labplane' });
    // Kept a day: a delivery published again (the outbox drain) within it is deduped by the queue, later by its record.
    const bull = createBullmqTransport({ url: config.redisUrl, logger: log, queueName: WEBHOOK_QUEUE, keepCompletedSeconds: 24 * 3_600, ...(deps.bullPrefix === undefined ? {} : { prefix: deps.bullPrefix }), ...deps.queueLocks });
    const q = createTransportDeliveryQueue({ transport: bull, logger: log });
    queue = q;
    dashboardQueues = [bull.queue];
    migrate = () => requeueLegacyDeliveryJobs(bull.queue as unknown as LegacyQueue, q, log);
  }
  closers.push(() => queue.close());

  const routes = config.webhooks.simRoutes;
  const resolver = deps.resolver ?? (simulated ? createSimulatedResolver(simulatedRouteRecords(routes)) : createDnsResolver());
  const sender = deps.sender ?? (simulated ? createSimulatedWebhookNetwork(routes) : createHttpWebhookSender());
  const policy = { httpAllowedHosts: config.webhooks.httpAllowedHosts };
  const service = createWebhookService({ repo, tenants: deps.tenantRepo, deliveries, resolver, policy, ids: { next: () => randomUUID() }, clock: systemClock });
  const dispatcher = createWebhookDispatcher({ repo, store: deliveries, queue, clock: systemClock });
  const processor = createDeliveryProcessor({
    repo,
    store: deliveries,
    sender,
    resolver,
    policy,
    clock: systemClock,
    logger: log,
    ...(deps.schedule === undefined ? {} : { schedule: deps.schedule }),
  });
  // The outbox of the store the tap decorates (bound when the job runtime applies the tap).
  let outbox: OperationOutbox | undefined;
  const onTerminal = (op: Operation): void => {
    dispatcher
      .publish(op)
      .then(() => outbox?.done([op.id]))
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
    tap: {
      events: (e) => tapOperationEvents(e, onTerminal),
      store: (s) => {
        outbox = s.outbox;
        return tapOperationStore(s, onTerminal);
      },
    },
    outboxDrain: (operations) =>
      createWebhookOutboxDrain({
        operations,
        dispatcher,
        clock: systemClock,
        logger: deps.logger.child({ component: 'webhook-outbox' }),
        graceMs: config.webhooks.outboxGraceMs,
        intervalMs: Math.max(500, config.webhooks.outboxGraceMs / 2),
      }),
    dashboardQueues,
    informers: () => repo.informers(),
    async startDelivery() {
      if (delivering) return;
      delivering = true;
      if (!queue.durable) log.warn({ queue: queue.name }, 'WEBHOOK DELIVERIES ARE NOT DURABLE: pending deliveries are lost when this process stops. Configure REDIS_URL.');
      await migrate().catch((err: unknown) => log.warn({ err }, 'could not requeue the delivery jobs of the previous version; retried at the next start'));
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

/**
 * The job runtime whose worker also sends webhook deliveries: whichever process runs jobs (the API
 * in the embedded default, the worker with Redis) delivers, and stops delivering when it stops.
 */
export function withDeliveries(jobs: JobsRuntime, webhooks: Pick<Webhooks, 'startDelivery' | 'stopDelivery' | 'dashboardQueues'>): JobsRuntime {
  const engine = jobs.engine;
  const wrapped: JobEngine = {
    ...engine,
    async startWorker(options) {
      await engine.startWorker(options);
      await webhooks.startDelivery();
    },
    async stop(options) {
      // Both within the same grace, not one after the other.
      await Promise.all([webhooks.stopDelivery(options.graceMs), engine.stop(options)]);
    },
    async close() {
      await webhooks.stopDelivery();
      await engine.close();
    },
  };
  return { ...jobs, engine: wrapped, dashboardQueues: [...jobs.dashboardQueues, ...webhooks.dashboardQueues] };
}
