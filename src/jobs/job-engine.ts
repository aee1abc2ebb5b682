import type { EnqueueOptions, JobMetricsSource, JobQueue, JobTransport, QueueCounts, StepObservation } from '../domain/operations/job-queue.js';
import type { Logger } from '../domain/operations/logger.js';
import { requestCancel } from '../domain/operations/operation-lifecycle.js';
import { createOperationRecorder } from '../domain/operations/operation-recorder.js';
import type { OperationEvents, OperationSubscription } from '../domain/operations/operation-events.js';
import type { OperationStore } from '../domain/operations/operation-store.js';
import { isTerminal, type OperationRecord } from '../domain/operations/operation.js';
import type { Clock } from '../domain/shared/ids.js';
import { validateJobKind, type JobKind } from './job-kind.js';
import { CancelRequested, createRunningSteps } from './running-steps.js';
import { createStepRunner } from './step-runner.js';
import { jobTraceOf } from './tracing.js';
import { createWakeUps, type WakeSource } from './wake-ups.js';

/**
 * The job engine: job kinds + a transport (BullMQ, in-process) + the shared step runtime. Every
 * engine has the same semantics, checked by one contract suite (test/contracts/engine.contract.ts).
 */
export interface JobEngine extends JobQueue, JobMetricsSource {
  /** Name of the transport ('bullmq', 'in-process'). */
  readonly backend: string;
  /** Adds job kinds; a kind name registered twice is a TypeError. Needed by producers and workers. */
  register(kinds: readonly JobKind[]): void;
  /**
   * Starts running jobs, at most `concurrency` at once in this process. Also listens for cancels
   * from other processes, re-enqueues jobs of open operations whose job went missing, and deletes
   * expired operations every `housekeepingIntervalMs`.
   */
  startWorker(options: { readonly concurrency: number }): Promise<void>;
  /**
   * Stops taking jobs, lets running steps finish within `graceMs`, then aborts the rest, which are
   * handed back (re-enqueued as the same step) for another worker. Producing jobs still works.
   */
  stop(options: { readonly graceMs: number }): Promise<void>;
  /** Enqueues the pending job of every open operation (idempotent); resolves to how many. */
  recover(): Promise<number>;
  /**
   * Runs the pending re-check of an operation now instead of at the end of its backoff (see
   * `WakeUps.wake`). A child operation that finishes wakes its parent this way by itself.
   */
  wake(operationId: string): Promise<boolean>;
  /**
   * While this process runs a worker, every change `source` tells of wakes the re-checks of the
   * open operations on that target (a VM's watch events wake its create, power or delete waits).
   */
  wakeOn(source: WakeSource): void;
  counts(): Promise<readonly QueueCounts[]>;
  /** Stops the worker (no grace) and releases the transport. */
  close(): Promise<void>;
}

export interface JobEngineDeps {
  readonly transport: JobTransport;
  readonly store: OperationStore;
  readonly events: OperationEvents;
  readonly clock: Clock;
  readonly logger: Logger;
  /** [0, 1) source for backoff jitter; Math.random by default. */
  readonly random?: () => number;
  /** Default 1 hour. */
  readonly housekeepingIntervalMs?: number;
  /** Wake-ups of one operation or target at most this often, ms (default 500; see `WakeUpsDeps`). */
  readonly wakeCoalesceMs?: number;
}

export function createJobEngine(deps: JobEngineDeps): JobEngine {
  const { transport, store, events, clock, logger } = deps;
  const kinds = new Map<string, JobKind>();
  const wakeUps = createWakeUps({
    store,
    transport,
    logger,
    clock,
    ...(deps.wakeCoalesceMs === undefined ? {} : { coalesceMs: deps.wakeCoalesceMs }),
  });
  const written = createOperationRecorder({ store, events, logger });
  // A child that finishes (succeeded, failed or canceled, by a step or a cancel) wakes its parent,
  // which waits on its children with re-checks: a lab ends right after its last student.
  const recorder: typeof written = {
    ...written,
    async mutate(id, change) {
      const res = await written.mutate(id, change);
      const op = res?.operation;
      if (res?.changed === true && op !== undefined && op.parentId !== undefined && isTerminal(op.status)) wakeUps.wakeParent(op.parentId);
      return res;
    },
  };
  const wakeSources: WakeSource[] = [];
  /** Unsubscribers of the wake sources while the worker runs (undefined when it does not). */
  let stopWakeSources: Array<() => void> | undefined;
  const listen = (source: WakeSource): (() => void) => source((target) => wakeUps.wakeTarget(target));
  const running = createRunningSteps();
  const listeners = new Set<(o: StepObservation) => void>();
  const runner = createStepRunner({
    kinds,
    recorder,
    transport,
    clock,
    logger,
    random: deps.random ?? Math.random,
    running,
    observe: (o) => {
      for (const l of listeners) l(o);
    },
  });
  let subscription: OperationSubscription | undefined;
  let housekeeping: NodeJS.Timeout | undefined;

  async function sweep(): Promise<void> {
    try {
      const n = await store.deleteExpired(clock.now());
      if (n > 0) logger.info({ deleted: n }, 'expired operations deleted');
    } catch (err) {
      logger.warn({ err }, 'deleting expired operations failed');
    }
  }

  async function stopWorker(graceMs: number): Promise<void> {
    if (housekeeping !== undefined) clearInterval(housekeeping);
    housekeeping = undefined;
    for (const stop of stopWakeSources ?? []) stop();
    stopWakeSources = undefined;
    await transport.stop({ graceMs });
    subscription?.unsubscribe();
    subscription = undefined;
  }

  const engine: JobEngine = {
    backend: transport.name,

    register(list) {
      for (const k of list) {
        validateJobKind(k);
        if (kinds.has(k.kind)) throw new TypeError(`job kind ${k.kind} is already registered`);
      }
      for (const k of list) kinds.set(k.kind, k);
    },

    firstStep(kind) {
      return kinds.get(kind)?.firstStep;
    },

    async enqueue(kind: string, options: EnqueueOptions) {
      const k = kinds.get(kind);
      if (k === undefined) throw new TypeError(`job kind ${kind} is not registered`);
      const delayMs = options.delayMs ?? 0;
      const job = {
        kind,
        operationId: options.operationId,
        step: options.step ?? k.firstStep,
        generation: options.generation ?? 0,
        ...jobTraceOf(delayMs),
      };
      await transport.add(job, { delayMs, ...(options.rank === undefined ? {} : { rank: options.rank }) });
    },

    async cancel(operationId): Promise<OperationRecord | undefined> {
      const res = await recorder.mutate(operationId, (cur) => requestCancel(cur, clock.now()));
      if (res === undefined) return undefined;
      const op = res.operation;
      if (res.changed && op.status === 'canceled') {
        const job = { kind: op.kind, operationId, step: op.cursor.step, generation: op.cursor.generation };
        await transport.remove(job).catch((err: unknown) => {
          logger.warn({ err, operationId }, 'could not drop the job of a canceled operation; it will be skipped');
        });
      } else if (op.cancelRequested) {
        running.abort(operationId, new CancelRequested());
      }
      return op;
    },

    async startWorker({ concurrency }) {
      if (!Number.isInteger(concurrency) || concurrency < 1) throw new TypeError('concurrency must be a positive integer');
      if (!transport.durable) {
        logger.warn(
          { transport: transport.name },
          'JOBS ARE NOT DURABLE: the in-process job queue loses queued and running work when this process stops. Configure REDIS_URL for durable jobs.',
        );
      }
      subscription ??= await events.subscribe({ cancels: true }, (op) => {
        running.abort(op.id, new CancelRequested());
      });
      await transport.start(runner, { concurrency });
      stopWakeSources ??= wakeSources.map(listen);
      housekeeping ??= setInterval(() => void sweep(), deps.housekeepingIntervalMs ?? 3_600_000);
      housekeeping.unref();
      void engine.recover().catch((err: unknown) => logger.warn({ err }, 'recovering pending jobs failed'));
      logger.info({ transport: transport.name, concurrency, kinds: [...kinds.keys()] }, 'job worker started');
    },

    async stop({ graceMs }) {
      await stopWorker(graceMs);
    },

    async recover() {
      let n = 0;
      let cursor: string | undefined;
      do {
        const page = await store.list({ status: ['queued', 'running'] }, { limit: 200, ...(cursor === undefined ? {} : { cursor }) });
        for (const op of page.items) {
          if (op.cursor.state !== 'pending' || !kinds.has(op.kind)) continue;
          await runner.enqueueCursor(op);
          n += 1;
        }
        cursor = page.nextCursor;
      } while (cursor !== undefined);
      return n;
    },

    wake: (operationId) => wakeUps.wake(operationId),

    wakeOn(source) {
      wakeSources.push(source);
      stopWakeSources?.push(listen(source));
    },

    counts: () => transport.counts(),

    onStepFinished(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    async close() {
      await stopWorker(0);
      wakeUps.close();
      await transport.close();
    },
  };
  return engine;
}
