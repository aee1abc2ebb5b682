import { Queue, UnrecoverableError, Worker, type Job, type RedisOptions } from 'bullmq';
import type { Logger } from '../../domain/shared/logger.js';
import type { DeliveryHandler, DeliveryJob, DeliveryQueue } from '../../domain/webhooks/delivery.js';
import { toDomainError } from './redis-connection.js';

export interface BullmqDeliveryQueueOptions {
  /** redis://host:port[/db] */
  readonly url: string;
  readonly redisOptions?: RedisOptions;
  /** BullMQ key prefix (default 'lp-bull', shared with the job queue). */
  readonly prefix?: string;
  /** Default 'labplane-webhooks'. */
  readonly queueName?: string;
  readonly logger: Pick<Logger, 'warn' | 'error'>;
  /** Runs of one job (scheduled retries and handler errors together) before BullMQ gives up (default 50). */
  readonly maxRuns?: number;
  /** First delay after a handler error (not a scheduled retry), doubled each time up to 5 min (default 1000 ms). */
  readonly errorDelayMs?: number;
  /** Finished jobs are kept this long (their ids dedupe late enqueues), default 1 day / 7 days. */
  readonly keepCompletedSeconds?: number;
  readonly keepFailedSeconds?: number;
  /** Queue calls fail with UpstreamUnavailableError after this long (default 3000 ms). */
  readonly callTimeoutMs?: number;
  /** A delivery whose worker holds no lock for this long is stalled and sent again (default 30 s). */
  readonly lockDurationMs?: number;
  /** How often workers look for stalled deliveries (default 30 s). */
  readonly stalledIntervalMs?: number;
}

/** Thrown to BullMQ when the handler asks for a scheduled retry; the backoff strategy reads its delay. */
class RetryLater extends Error {
  constructor(readonly delayMs: number) {
    super(`delivery attempt failed; next attempt in ${delayMs} ms`);
    this.name = 'RetryLater';
  }
}

/** The BullMQ delivery queue; `queue` is exposed for the dashboard. */
export interface BullmqDeliveryQueue extends DeliveryQueue {
  readonly queue: Queue<DeliveryJob, void, string>;
}

/**
 * `DeliveryQueue` on BullMQ, a queue of its own: job id = delivery id (an enqueue while the job
 * exists, or within `keepCompletedSeconds` of its end, is a no-op), job data = ids only. Scheduled
 * retries use BullMQ's own attempts with a custom backoff that returns the handler's delay;
 * handler errors back off exponentially. Deliveries survive restarts of every process.
 */
export function createBullmqDeliveryQueue(options: BullmqDeliveryQueueOptions): BullmqDeliveryQueue {
  const { logger } = options;
  const name = options.queueName ?? 'labplane-webhooks';
  const prefix = options.prefix ?? 'lp-bull';
  const connection = { url: options.url, ...options.redisOptions };
  const timeoutMs = options.callTimeoutMs ?? 3_000;
  const errorDelayMs = options.errorDelayMs ?? 1_000;
  const keep = { completed: options.keepCompletedSeconds ?? 24 * 3600, failed: options.keepFailedSeconds ?? 7 * 24 * 3600 };
  const queue = new Queue<DeliveryJob, void, string>(name, {
    connection,
    prefix,
    defaultJobOptions: {
      attempts: options.maxRuns ?? 50,
      backoff: { type: 'webhook-schedule' },
      removeOnComplete: { age: keep.completed },
      removeOnFail: { age: keep.failed },
    },
  });
  let queueDown = false;
  queue.on('error', (err) => {
    if (!queueDown) logger.warn({ err, queue: name }, 'webhook queue connection error');
    queueDown = true;
  });
  let worker: Worker<DeliveryJob, void, string> | undefined;
  const controllers = new Set<AbortController>();

  async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`webhook queue ${what} timed out after ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const res = await Promise.race([fn(), timeout]);
      queueDown = false;
      return res;
    } catch (err) {
      throw toDomainError(err, 'webhook queue');
    } finally {
      clearTimeout(timer);
    }
  }

  const backoffStrategy = (attemptsMade: number, _type?: string, err?: Error): number =>
    err instanceof RetryLater || err?.name === 'RetryLater'
      ? Math.max(0, (err as RetryLater).delayMs)
      : Math.min(300_000, errorDelayMs * 2 ** Math.min(attemptsMade - 1, 20));

  async function stop(): Promise<void> {
    const w = worker;
    if (w === undefined) return;
    worker = undefined;
    for (const c of controllers) c.abort(new Error('the delivery worker is stopping'));
    await w.close().catch((err: unknown) => logger.warn({ err }, 'closing the webhook worker failed'));
  }

  return {
    name: 'bullmq',
    durable: true,
    queue,

    enqueue: (job) =>
      call('add', async () => {
        const data: DeliveryJob = { deliveryId: job.deliveryId, tenant: job.tenant, webhookId: job.webhookId, eventId: job.eventId };
        await queue.add('deliver', data, { jobId: job.deliveryId });
      }),

    async start(handler: DeliveryHandler, { concurrency }) {
      if (worker !== undefined) throw new Error('the delivery worker is already started');
      const w = new Worker<DeliveryJob, void, string>(
        name,
        async (job: Job<DeliveryJob, void, string>) => {
          const controller = new AbortController();
          controllers.add(controller);
          try {
            const verdict = await handler(job.data, controller.signal);
            if (!verdict.done) throw new RetryLater(verdict.retryInMs);
          } catch (err) {
            if (err instanceof RetryLater) throw err;
            // Infrastructure errors are retried with backoff; their text stays out of the job (it may hold anything).
            logger.warn({ err, deliveryId: job.data.deliveryId }, 'webhook delivery job failed; retrying');
            throw err instanceof UnrecoverableError ? err : new Error('the delivery job failed; see the worker log');
          } finally {
            controllers.delete(controller);
          }
        },
        {
          connection,
          prefix,
          concurrency,
          ...(options.lockDurationMs === undefined ? {} : { lockDuration: options.lockDurationMs }),
          ...(options.stalledIntervalMs === undefined ? {} : { stalledInterval: options.stalledIntervalMs }),
          settings: { backoffStrategy },
          removeOnComplete: { age: keep.completed },
          removeOnFail: { age: keep.failed },
        },
      );
      let down = false;
      w.on('error', (err) => {
        if (!down) logger.warn({ err, queue: name }, 'webhook worker connection error; retrying');
        down = true;
      });
      w.on('ready', () => {
        down = false;
      });
      worker = w;
      const ready = await Promise.race([
        w.waitUntilReady().then(() => true),
        new Promise<boolean>((resolve) => setTimeout(resolve, timeoutMs, false).unref()),
      ]).catch(() => false);
      if (!ready) logger.warn({ queue: name }, 'webhook worker started without Redis; it will deliver once Redis answers');
    },

    stop,

    async close() {
      await stop();
      await queue.close().catch((err: unknown) => logger.warn({ err }, 'closing the webhook queue failed'));
    },
  };
}
