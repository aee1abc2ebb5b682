import type { InformerHealth } from '../adapters/kubernetes/resource-cache.js';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { KubeClient } from '../adapters/kubernetes/kube-client.js';
import { createKubeWebhookRepository } from '../adapters/kubernetes/webhook-repository.js';
import { createInProcessDeliveryQueue } from '../adapters/memory/delivery-queue.js';
import { createMemoryDeliveryStore } from '../adapters/memory/webhook-deliveries.js';
import { createDnsResolver } from '../adapters/net/dns-resolver.js';
import { createHttpWebhookSender } from '../adapters/net/webhook-sender.js';
import { createRedisClient } from '../adapters/redis/redis-connection.js';
import { createBullmqDeliveryQueue } from '../adapters/redis/webhook-delivery-queue.js';
import { createRedisDeliveryStore } from '../adapters/redis/webhook-deliveries.js';
import { createSimulatedResolver } from '../adapters/sim/sim-resolver.js';
import { createSimulatedWebhookNetwork, simulatedRouteRecords } from '../adapters/sim/sim-webhook-network.js';
import { webhooksModule } from '../api/modules/index.js';
import type { ApiModule } from '../api/module.js';
import type { HostResolver } from '../domain/net/index.js';
import type { Operation } from '../domain/operations/operation.js';
import { systemClock } from '../domain/shared/ids.js';
import type { TenantRepository } from '../domain/tenants/tenant-repository.js';
import type { DeliveryQueue, DeliveryStore, WebhookSender } from '../domain/webhooks/delivery.js';
import { createDeliveryProcessor } from '../domain/webhooks/delivery-processor.js';
import { createWebhookDispatcher, type WebhookDispatcher } from '../domain/webhooks/dispatcher.js';
import { tapOperationEvents, tapOperationStore } from '../domain/webhooks/operation-tap.js';
import type { WebhookRepository } from '../domain/webhooks/webhook-repository.js';
import { createWebhookService, type WebhookService } from '../domain/webhooks/webhook-service.js';
import type { JobEngine } from '../jobs/job-engine.js';
import type { Config } from './config.js';
import type { JobsRuntime, OperationTap } from './jobs.js';

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
}

export interface Webhooks {
  readonly service: WebhookService;
  readonly module: ApiModule;
  readonly repo: WebhookRepository;
  readonly deliveries: DeliveryStore;
  readonly queue: DeliveryQueue;
  readonly dispatcher: WebhookDispatcher;
  /** Decorates the job runtime's events and store: every terminal operation reaches the dispatcher. */
  readonly tap: OperationTap;
  /** The BullMQ delivery queue for the dashboard (none in process). */
  readonly dashboardQueues: readonly unknown[];
  /** The webhook Secret informer's state, for readiness. */
  informers(): readonly InformerHealth[];
  /** Starts sending deliveries in this process (with the job worker: see `withDeliveries`). Idempotent. */
  startDelivery(): Promise<void>;
  stopDelivery(): Promise<void>;
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
  if (config.redisUrl === undefined) {
    deliveries = createMemoryDeliveryStore();
    queue = createInProcessDeliveryQueue({ logger: log });
  } else {
    const r = createRedisClient({ url: config.redisUrl, logger: log, name: 'labplane-webhooks' });
    closers.push(async () => {
      await r.quit().catch(() => r.disconnect());
    });
    deliveries = createRedisDeliveryStore({ redis: r, prefix: deps.redisPrefix ?? 'labplane' });
    const bull = createBullmqDeliveryQueue({ url: config.redisUrl, logger: log, ...(deps.bullPrefix === undefined ? {} : { prefix: deps.bullPrefix }) });
    queue = bull;
    dashboardQueues = [bull.queue];
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
  const onTerminal = (op: Operation): void => {
    dispatcher.publish(op).catch((err: unknown) => log.warn({ err, operationId: op.id }, 'could not enqueue webhook deliveries'));
  };
  let delivering = false;

  return {
    service,
    module: webhooksModule(service),
    repo,
    deliveries,
    queue,
    dispatcher,
    tap: { events: (e) => tapOperationEvents(e, onTerminal), store: (s) => tapOperationStore(s, onTerminal) },
    dashboardQueues,
    informers: () => repo.informers(),
    async startDelivery() {
      if (delivering) return;
      delivering = true;
      if (!queue.durable) log.warn({ queue: queue.name }, 'WEBHOOK DELIVERIES ARE NOT DURABLE: pending deliveries are lost when this process stops. Configure REDIS_URL.');
      await queue.start(processor, { concurrency: config.workerConcurrency });
    },
    async stopDelivery() {
      if (!delivering) return;
      delivering = false;
      await queue.stop();
    },
    async close() {
      for (const c of closers.reverse()) await c().catch((err: unknown) => log.warn({ err }, 'error while closing the webhooks'));
    },
  };
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
      await webhooks.stopDelivery();
      await engine.stop(options);
    },
    async close() {
      await webhooks.stopDelivery();
      await engine.close();
    },
  };
  return { ...jobs, engine: wrapped, dashboardQueues: [...jobs.dashboardQueues, ...webhooks.dashboardQueues] };
}
