import type { Logger } from '../../domain/shared/logger.js';
import type { DeliveryHandler, DeliveryJob, DeliveryQueue } from '../../domain/webhooks/delivery.js';

export interface InProcessDeliveryQueueOptions {
  readonly logger: Pick<Logger, 'warn' | 'error'>;
  /** Runs of a job whose handler throws before it is given up (default 5). */
  readonly maxErrors?: number;
  /** First delay after a handler error, doubled each time (default 1000 ms). */
  readonly errorDelayMs?: number;
}

interface Entry {
  readonly job: DeliveryJob;
  timer: NodeJS.Timeout | undefined;
  running: boolean;
  errors: number;
}

/**
 * `DeliveryQueue` in process (the embedded default without Redis): timers instead of delayed jobs,
 * the same dedupe (a delivery id queued, delayed or running is not added again) and retry rules.
 * Not durable: pending deliveries are lost when the process stops. Jobs enqueued before `start`
 * wait for it; `stop`/`close` clear every timer and wait for running handlers.
 */
export function createInProcessDeliveryQueue(options: InProcessDeliveryQueueOptions): DeliveryQueue {
  const { logger } = options;
  const maxErrors = options.maxErrors ?? 5;
  const errorDelayMs = options.errorDelayMs ?? 1_000;
  const entries = new Map<string, Entry>();
  const ready: Entry[] = [];
  const running = new Set<Promise<void>>();
  let handler: DeliveryHandler | undefined;
  let concurrency = 1;
  let active = 0;
  let controller = new AbortController();
  let closed = false;

  function schedule(e: Entry, delayMs: number): void {
    if (delayMs <= 0) {
      ready.push(e);
      pump();
      return;
    }
    e.timer = setTimeout(() => {
      e.timer = undefined;
      ready.push(e);
      pump();
    }, delayMs);
    e.timer.unref();
  }

  function pump(): void {
    while (handler !== undefined && active < concurrency && ready.length > 0) {
      const e = ready.shift() as Entry;
      active += 1;
      e.running = true;
      const p = run(handler, e).finally(() => {
        active -= 1;
        e.running = false;
        running.delete(p);
        pump();
      });
      running.add(p);
    }
  }

  async function run(h: DeliveryHandler, e: Entry): Promise<void> {
    const signal = controller.signal;
    try {
      const verdict = await h(e.job, signal);
      e.errors = 0;
      if (verdict.done || closed) entries.delete(e.job.deliveryId);
      else schedule(e, verdict.retryInMs);
    } catch (err) {
      if (closed) {
        entries.delete(e.job.deliveryId);
        return;
      }
      if (signal.aborted) {
        // Stopped mid-run: handed back, it runs again on the next start.
        schedule(e, 0);
        return;
      }
      e.errors += 1;
      if (e.errors >= maxErrors) {
        logger.error({ err, deliveryId: e.job.deliveryId }, 'webhook delivery job gave up after repeated errors');
        entries.delete(e.job.deliveryId);
        return;
      }
      logger.warn({ err, deliveryId: e.job.deliveryId, errors: e.errors }, 'webhook delivery job failed; retrying');
      schedule(e, errorDelayMs * 2 ** (e.errors - 1));
    }
  }

  async function stop(): Promise<void> {
    handler = undefined;
    controller.abort(new Error('the delivery queue is stopping'));
    await Promise.allSettled([...running]);
    controller = new AbortController();
  }

  return {
    name: 'in-process',
    durable: false,
    async enqueue(job) {
      if (closed || entries.has(job.deliveryId)) return;
      const e: Entry = { job: { ...job }, timer: undefined, running: false, errors: 0 };
      entries.set(job.deliveryId, e);
      schedule(e, 0);
    },
    async start(h, opts) {
      if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1) throw new TypeError('concurrency must be a positive integer');
      handler = h;
      concurrency = opts.concurrency;
      pump();
    },
    stop,
    async close() {
      closed = true;
      await stop();
      for (const e of entries.values()) clearTimeout(e.timer);
      entries.clear();
      ready.length = 0;
    },
  };
}
