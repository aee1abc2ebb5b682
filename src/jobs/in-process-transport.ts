import { backoffMs } from '../domain/shared/backoff.js';
import { jobIdOf, WorkerShutdown, type JobMessage, type JobProcessor, type JobTransport, type QueueCounts } from '../domain/operations/job-queue.js';
import type { Logger } from '../domain/operations/logger.js';
import { systemScheduler, type Scheduler } from '../domain/shared/scheduler.js';

type State = 'waiting' | 'delayed' | 'active' | 'completed' | 'failed';

interface Entry {
  readonly job: JobMessage;
  state: State;
  deliveries: number;
  /** Cancels the entry's pending timer (its delay, redelivery or retention). */
  cancel?: () => void;
  controller?: AbortController;
}

export interface InProcessTransportOptions {
  readonly logger: Logger;
  /** How long finished job ids are remembered (so enqueueing them again is a no-op). Default 1 h. */
  readonly finishedRetentionMs?: number;
  /** Deliveries of a job whose processor rejects before it is given up. Default 5. */
  readonly deliveryAttempts?: number;
  /** First redelivery delay after a processor rejection, doubled each time. Default 1000 ms. */
  readonly redeliveryDelayMs?: number;
  /** Extra wait after aborting jobs at the end of a stop's grace. Default 1000 ms. */
  readonly handBackMs?: number;
  /**
   * Time for delays, redeliveries and retention. Default real time. A stop's grace stays in real
   * time: it bounds how long a process takes to shut down, and a test's `close()` must not hang
   * on a clock nobody moves.
   */
  readonly scheduler?: Scheduler;
}

/**
 * A job transport inside this process: same semantics as BullMQ (deterministic ids, delays,
 * concurrency, redelivery when the processor rejects) but not durable: queued and running jobs
 * are lost with the process. For the embedded default without Redis, and tests.
 */
export function createInProcessTransport(options: InProcessTransportOptions): JobTransport {
  const { logger } = options;
  const retentionMs = options.finishedRetentionMs ?? 3_600_000;
  const maxDeliveries = options.deliveryAttempts ?? 5;
  const redeliveryMs = options.redeliveryDelayMs ?? 1_000;
  const handBackMs = options.handBackMs ?? 1_000;
  const entries = new Map<string, Entry>();
  let waiting: string[] = [];
  let head = 0;
  let processor: JobProcessor | undefined;
  let concurrency = 1;
  let accepting = false;
  let active = 0;
  let idle: Array<() => void> = [];

  const later = (ms: number, fn: () => void): (() => void) => (options.scheduler ?? systemScheduler).after(ms, fn);

  function enqueueWaiting(id: string, entry: Entry): void {
    entry.state = 'waiting';
    delete entry.cancel;
    waiting.push(id);
    pump();
  }

  function finish(id: string, entry: Entry, state: 'completed' | 'failed'): void {
    entry.state = state;
    entry.cancel = later(retentionMs, () => {
      if (entries.get(id) === entry) entries.delete(id);
    });
  }

  function pump(): void {
    while (accepting && processor !== undefined && active < concurrency && head < waiting.length) {
      const id = waiting[head] as string;
      head += 1;
      const entry = entries.get(id);
      if (entry?.state === 'waiting') run(id, entry, processor);
    }
    if (head > 1024 && head * 2 > waiting.length) {
      waiting = waiting.slice(head);
      head = 0;
    }
  }

  function run(id: string, entry: Entry, p: JobProcessor): void {
    entry.state = 'active';
    entry.deliveries += 1;
    const controller = new AbortController();
    entry.controller = controller;
    active += 1;
    Promise.resolve()
      .then(() => p.process(entry.job, controller.signal))
      .then(
        (result) => finish(id, entry, result.operationFailed === undefined ? 'completed' : 'failed'),
        (err: unknown) => {
          if (entry.deliveries < maxDeliveries) {
            const delay = backoffMs(entry.deliveries - 1, { baseMs: redeliveryMs, maxMs: Number.POSITIVE_INFINITY, jitter: 'equal' });
            logger.warn({ err, jobId: id, delay }, 'job processing failed; redelivering');
            entry.state = 'delayed';
            entry.cancel = later(delay, () => enqueueWaiting(id, entry));
            return;
          }
          finish(id, entry, 'failed');
          return p.lost(entry.job, 'processing failed too many times').catch((e: unknown) => {
            logger.error({ err: e, jobId: id }, 'recording a lost job failed');
          });
        },
      )
      .finally(() => {
        delete entry.controller;
        active -= 1;
        if (active === 0) {
          const waiters = idle;
          idle = [];
          for (const w of waiters) w();
        }
        pump();
      });
  }

  function whenIdle(ms: number): Promise<boolean> {
    if (active === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const cancel = systemScheduler.after(ms, () => resolve(false));
      idle.push(() => {
        cancel();
        resolve(true);
      });
    });
  }

  async function stop(graceMs: number): Promise<void> {
    accepting = false;
    if (await whenIdle(graceMs)) return;
    for (const e of entries.values()) e.controller?.abort(new WorkerShutdown());
    if (!(await whenIdle(handBackMs))) logger.warn({ active }, 'some jobs ignored the shutdown signal');
  }

  return {
    name: 'in-process',
    durable: false,

    async add(job, { delayMs }) {
      const id = jobIdOf(job);
      if (entries.has(id)) return;
      const entry: Entry = { job, state: 'delayed', deliveries: 0 };
      entries.set(id, entry);
      if (delayMs > 0) entry.cancel = later(delayMs, () => enqueueWaiting(id, entry));
      else enqueueWaiting(id, entry);
    },

    async remove(job) {
      const id = jobIdOf(job);
      const entry = entries.get(id);
      if (entry === undefined) return 'removed';
      if (entry.state === 'active') return 'active';
      entry.cancel?.();
      entries.delete(id);
      return 'removed';
    },

    async wake(job) {
      const id = jobIdOf(job);
      const entry = entries.get(id);
      if (entry?.state !== 'delayed') return false;
      entry.cancel?.();
      enqueueWaiting(id, entry);
      return true;
    },

    async start(p, opts) {
      processor = p;
      concurrency = opts.concurrency;
      accepting = true;
      pump();
    },

    stop: ({ graceMs }) => stop(graceMs),

    async counts(): Promise<readonly QueueCounts[]> {
      const c = { queue: 'in-process', waiting: 0, active: 0, delayed: 0, failed: 0, completed: 0 };
      for (const e of entries.values()) c[e.state] += 1;
      return [c];
    },

    async close() {
      await stop(0);
      const pending = [...entries.values()].filter((e) => e.state === 'waiting' || e.state === 'delayed').length;
      if (pending > 0) logger.warn({ pending }, 'in-process job queue closed with unfinished jobs; they are lost');
      for (const e of entries.values()) e.cancel?.();
      entries.clear();
      waiting = [];
      head = 0;
    },
  };
}
