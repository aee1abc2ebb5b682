import { Job, Queue, UnrecoverableError, WaitingError, Worker, type QueueOptions, type RedisOptions } from 'bullmq';
import {
  jobIdOf,
  WorkerShutdown,
  type JobMessage,
  type JobProcessor,
  type JobTrace,
  type JobTransport,
  type QueueCounts,
} from '../../domain/operations/job-queue.js';
import type { Logger } from '../../domain/operations/logger.js';
import { toDomainError } from './redis-connection.js';

export interface BullmqTransportOptions {
  /** redis://host:port[/db] */
  readonly url: string;
  /** Extra ioredis options for BullMQ's connections. */
  readonly redisOptions?: RedisOptions;
  /** BullMQ key prefix (default 'lp-bull'). */
  readonly prefix?: string;
  /** Default 'labplane-jobs'. */
  readonly queueName?: string;
  readonly logger: Logger;
  /** A job whose worker holds no lock for this long is stalled (default 30 s). */
  readonly lockDurationMs?: number;
  /** How often workers look for stalled jobs (default 30 s). */
  readonly stalledIntervalMs?: number;
  /** Redeliveries after stalls before a job is given up (default 2). */
  readonly maxStalledCount?: number;
  /** Deliveries of a job whose processor rejects (store down...) before it is given up (default 8). */
  readonly deliveryAttempts?: number;
  /** First redelivery delay after a rejection, doubled each time (default 1000 ms). */
  readonly redeliveryDelayMs?: number;
  /** Completed job ids are kept this long for dedupe, then removed (default 3600 s). */
  readonly keepCompletedSeconds?: number;
  /** Failed jobs are kept this long for inspection (default 7 days). */
  readonly keepFailedSeconds?: number;
  /** How often the worker removes finished jobs past their age even when idle (default 10 min). */
  readonly cleanIntervalMs?: number;
  /** Queue calls fail with UpstreamUnavailableError after this long (default 3000 ms). */
  readonly callTimeoutMs?: number;
  /** Extra wait after aborting jobs at the end of a stop's grace (default 1000 ms). */
  readonly handBackMs?: number;
  /** BullMQ's telemetry (bullmq-otel) while tracing is on: its queue and worker spans. */
  readonly telemetry?: QueueOptions['telemetry'];
}

/** What a BullMQ job carries: ids and the trace context (the job name is the kind). */
export interface JobData {
  readonly operationId: string;
  readonly step: string;
  readonly generation: number;
  /** The trace the job continues (W3C traceparent/tracestate), while tracing is on. */
  readonly trace?: JobTrace;
}

/**
 * Thrown from the BullMQ processor once the runtime recorded the operation as failed, so the job
 * lands in BullMQ's failed set (what bull-board and `getJobCounts` show). An UnrecoverableError:
 * BullMQ does not deliver it again whatever `attempts` says.
 */
export class OperationFailedJob extends UnrecoverableError {
  constructor(code: string) {
    super(`the operation failed (${code})`);
    this.name = 'OperationFailedJob';
  }
}

/** Completed jobs kept at most (besides their age), per queue. */
export const KEEP_COMPLETED_COUNT = 1_000;

/** The BullMQ transport; `queue` is exposed for dashboards (bull-board), not for adding jobs. */
export interface BullmqTransport extends JobTransport {
  readonly queue: Queue<JobData, void, string>;
}

/**
 * `JobTransport` on BullMQ. One queue for every kind, job name = kind: one concurrency budget and
 * one blocking connection per worker process, FIFO across kinds, a single place to watch; waiting
 * on the outside world is a delayed job, so no kind can hold slots for long. Retries, re-checks and
 * next steps are new delayed jobs with deterministic ids (the runtime's per-step backoff with
 * jitter); BullMQ's own `attempts` only redeliver jobs whose processor rejected (infrastructure).
 */
export function createBullmqTransport(options: BullmqTransportOptions): BullmqTransport {
  const { logger } = options;
  const name = options.queueName ?? 'labplane-jobs';
  const prefix = options.prefix ?? 'lp-bull';
  const timeoutMs = options.callTimeoutMs ?? 3_000;
  const handBackMs = options.handBackMs ?? 1_000;
  const keepCompleted = options.keepCompletedSeconds ?? 3_600;
  // Every re-check is a job of its own; an hour of them from thousands of waiting operations was
  // over 100k keys. The dashboard needs only the latest completed ones.
  const keepFailed = options.keepFailedSeconds ?? 7 * 24 * 3_600;
  const connection = { url: options.url, ...options.redisOptions };
  const telemetry = options.telemetry === undefined ? {} : { telemetry: options.telemetry };
  const queue = new Queue<JobData, void, string>(name, {
    connection,
    prefix,
    ...telemetry,
    defaultJobOptions: {
      attempts: options.deliveryAttempts ?? 8,
      backoff: { type: 'exponential', delay: options.redeliveryDelayMs ?? 1_000 },
      removeOnComplete: { age: keepCompleted, count: KEEP_COMPLETED_COUNT },
      removeOnFail: { age: keepFailed },
    },
  });
  let queueDown = false;
  queue.on('error', (err) => {
    if (!queueDown) logger.warn({ err, queue: name }, 'job queue connection error');
    queueDown = true;
  });
  let worker: Worker<JobData, void, string> | undefined;
  let stopping = false;
  let cleaner: NodeJS.Timeout | undefined;
  const active = new Map<string, AbortController>();
  let idle: Array<() => void> = [];

  async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`job queue ${what} timed out after ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const res = await Promise.race([fn(), timeout]);
      queueDown = false;
      return res;
    } catch (err) {
      throw toDomainError(err, 'job queue');
    } finally {
      clearTimeout(timer);
    }
  }

  const toMessage = (job: Job<JobData, void, string>): JobMessage => ({
    kind: job.name,
    operationId: job.data.operationId,
    step: job.data.step,
    generation: job.data.generation,
    ...(job.data.trace === undefined ? {} : { trace: job.data.trace }),
  });

  function whenIdle(ms: number): Promise<boolean> {
    if (active.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), ms);
      idle.push(() => {
        clearTimeout(t);
        resolve(true);
      });
    });
  }

  async function clean(): Promise<void> {
    try {
      await queue.clean(keepCompleted * 1000, 1000, 'completed');
      await queue.clean(keepFailed * 1000, 1000, 'failed');
    } catch (err) {
      logger.warn({ err, queue: name }, 'cleaning finished jobs failed');
    }
  }

  async function stop(graceMs: number): Promise<void> {
    const w = worker;
    if (w === undefined) return;
    worker = undefined;
    stopping = true;
    if (cleaner !== undefined) clearInterval(cleaner);
    cleaner = undefined;
    await w.pause(true).catch((err: unknown) => logger.warn({ err }, 'pausing the worker failed'));
    if (!(await whenIdle(graceMs))) {
      for (const c of active.values()) c.abort(new WorkerShutdown());
      if (!(await whenIdle(handBackMs))) {
        logger.warn({ active: active.size }, 'jobs ignored the shutdown signal; they will be redelivered as stalled');
      }
    }
    await w.close(active.size > 0).catch((err: unknown) => logger.warn({ err }, 'closing the worker failed'));
  }

  return {
    name: 'bullmq',
    durable: true,
    queue,

    // `rank` is not used: BullMQ orders waiting jobs by arrival, or by a `priority` of at most 2^21
    // kept in a sorted set of its own (more Redis work on every add and take). An operation's rank is
    // a list of creation times, which does not fit that number, so jobs here keep arrival order.
    add: (job, { delayMs }) =>
      call('add', async () => {
        const data: JobData = {
          operationId: job.operationId,
          step: job.step,
          generation: job.generation,
          ...(job.trace === undefined ? {} : { trace: job.trace }),
        };
        await queue.add(job.kind, data, { jobId: jobIdOf(job), ...(delayMs > 0 ? { delay: Math.ceil(delayMs) } : {}) });
      }),

    remove: (job) => call('remove', async () => ((await queue.remove(jobIdOf(job))) === 1 ? 'removed' : 'active')),

    wake: (job) =>
      call('wake', async () => {
        const found = await Job.fromId<JobData, void, string>(queue, jobIdOf(job));
        if (found === undefined || !(await found.isDelayed())) return false;
        try {
          await found.promote();
          return true;
        } catch {
          // Moved on between the two reads (promoted by another waker, or picked up): nothing to do.
          return false;
        }
      }),

    async start(processor: JobProcessor, { concurrency }) {
      if (worker !== undefined) throw new Error('the worker is already started');
      stopping = false;
      const w = new Worker<JobData, void, string>(
        name,
        async (job, token) => {
          if (stopping) {
            // BullMQ may still hand out a job it fetched while pausing: give it back untouched.
            await job.moveToWait(token);
            throw new WaitingError();
          }
          const id = job.id ?? jobIdOf(toMessage(job));
          const controller = new AbortController();
          active.set(id, controller);
          let result;
          try {
            result = await processor.process(toMessage(job), controller.signal);
          } finally {
            active.delete(id);
            if (active.size === 0) {
              const waiters = idle;
              idle = [];
              for (const f of waiters) f();
            }
          }
          if (result.operationFailed !== undefined) throw new OperationFailedJob(result.operationFailed);
        },
        {
          connection,
          prefix,
          ...telemetry,
          concurrency,
          lockDuration: options.lockDurationMs ?? 30_000,
          stalledInterval: options.stalledIntervalMs ?? 30_000,
          maxStalledCount: options.maxStalledCount ?? 2,
          removeOnComplete: { age: keepCompleted, count: KEEP_COMPLETED_COUNT },
          removeOnFail: { age: keepFailed },
        },
      );
      let down = false;
      w.on('error', (err) => {
        if (!down) logger.warn({ err, queue: name }, 'job worker connection error; retrying');
        down = true;
      });
      w.on('ready', () => {
        down = false;
      });
      w.on('failed', (job, err) => {
        if (job === undefined || err instanceof OperationFailedJob) return;
        void job
          .getState()
          .then(async (state) => {
            if (state !== 'failed') return;
            await processor.lost(toMessage(job), err.message);
          })
          .catch((e: unknown) => logger.error({ err: e, jobId: job.id }, 'handling a failed job failed'));
      });
      worker = w;
      cleaner = setInterval(() => void clean(), options.cleanIntervalMs ?? 600_000);
      cleaner.unref();
      const ready = await Promise.race([
        w.waitUntilReady().then(() => true),
        new Promise<boolean>((resolve) => setTimeout(resolve, timeoutMs, false).unref()),
      ]).catch(() => false);
      if (!ready) logger.warn({ queue: name }, 'job worker started without Redis; it will pick up jobs once Redis answers');
    },

    stop: ({ graceMs }) => stop(graceMs),

    counts: () =>
      call('counts', async (): Promise<readonly QueueCounts[]> => {
        const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed');
        return [
          {
            queue: name,
            waiting: c.waiting ?? 0,
            active: c.active ?? 0,
            delayed: c.delayed ?? 0,
            failed: c.failed ?? 0,
            completed: c.completed ?? 0,
          },
        ];
      }),

    async close() {
      await stop(0);
      await queue.close().catch((err: unknown) => logger.warn({ err }, 'closing the job queue failed'));
    },
  };
}
