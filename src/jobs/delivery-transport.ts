import type { JobMessage, JobTransport } from '../domain/operations/job-queue.js';
import type { Logger } from '../domain/shared/logger.js';
import type { DeliveryJob, DeliveryQueue } from '../domain/webhooks/delivery.js';

/** The job name of webhook deliveries on their transport. */
export const DELIVERY_JOB_KIND = 'webhook.delivery';
const STEP = 'attempt';

/**
 * A delivery as a job message: the delivery id in the id slot (`operationId`; a delivery is not an
 * operation), the attempt as the generation. The job id is then `<deliveryId>:attempt:<n>`: the
 * transport dedupes each attempt, and a retry is a new delayed job, as the engine's retries are.
 */
function toMessage(job: DeliveryJob): JobMessage {
  return { kind: DELIVERY_JOB_KIND, operationId: job.deliveryId, step: STEP, generation: job.attempt };
}

export interface TransportDeliveryQueueDeps {
  /** A transport of its own (its own BullMQ queue): deliveries never wait behind operation steps, nor these behind them. */
  readonly transport: JobTransport;
  readonly logger: Pick<Logger, 'warn' | 'error'>;
}

/**
 * Webhook deliveries on the job engine's transport abstraction (BullMQ on Redis, the in-process
 * transport otherwise): one queue implementation for operation jobs and deliveries, with the same
 * dedupe, delays, concurrency, redelivery of jobs whose handler threw, stalled-job recovery and
 * dashboard. Deliveries are not engine job kinds: the engine records every job as a user-visible
 * operation (GET /v1/operations, operation events, webhooks of its own), while a delivery has its
 * own record (GET .../deliveries) and retry schedule.
 */
export function createTransportDeliveryQueue(deps: TransportDeliveryQueueDeps): DeliveryQueue {
  const { transport, logger } = deps;
  return {
    name: transport.name,
    durable: transport.durable,

    enqueue: (job) => transport.add(toMessage(job), { delayMs: 0 }),

    start: (handler, { concurrency }) =>
      transport.start(
        {
          async process(message, signal) {
            if (message.kind !== DELIVERY_JOB_KIND) {
              logger.warn({ kind: message.kind }, 'not a webhook delivery job; dropped');
              return {};
            }
            const verdict = await handler({ deliveryId: message.operationId, attempt: message.generation }, signal);
            // Queued before this job is acknowledged: if adding fails, this job runs again and asks again.
            if (!verdict.done)
              await transport.add(toMessage({ deliveryId: message.operationId, attempt: verdict.attempt }), { delayMs: verdict.retryInMs });
            return {};
          },
          async lost(message, reason) {
            logger.error(
              { deliveryId: message.operationId, attempt: message.generation, reason },
              'webhook delivery job given up after repeated errors',
            );
          },
        },
        { concurrency },
      ),

    stop: (options) => transport.stop({ graceMs: options?.graceMs ?? 0 }),
    close: () => transport.close(),
  };
}
