import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../src/domain/operations/logger.js';
import type { OperationEvents } from '../../src/domain/operations/operation-events.js';
import { createOperationService, type OperationService } from '../../src/domain/operations/operation-service.js';
import type { OperationStore } from '../../src/domain/operations/operation-store.js';
import type { Operation, OperationRecord, OperationStatus } from '../../src/domain/operations/operation.js';
import type { JobEngine } from '../../src/jobs/job-engine.js';
import type { JobKind, StepHandler } from '../../src/jobs/job-kind.js';
import type { ManualScheduler } from '../support/manual-scheduler.js';
import { admin, uuids, waitFor } from './helpers.js';

/**
 * The time an engine runs on, as the contract sees it. BullMQ's delays and deliveries are Redis's,
 * so its harness lives in real time; the in-process engine runs on a scheduler the test moves, so
 * "nothing ran in that window" is checked in fake time, without sleeping.
 */
export interface EngineTime {
  /** The engine's clock, ms since the epoch (what step handlers compare). */
  now(): number;
  /** Lets `ms` of the engine's time pass (the window in which something must not happen). */
  elapse(ms: number): Promise<void>;
  /** Resolves after `ms` of the engine's time (a slow step handler). */
  sleep(ms: number): Promise<void>;
  /**
   * Waits until `probe` gives a value, letting the engine's time pass; the budget is the engine's
   * time, so a wait the engine's own delay would end (a re-check in a minute) fails within a
   * shorter budget instead of passing by itself.
   */
  waitFor<T>(probe: () => Promise<T | undefined | false> | T | undefined | false, budgetMs: number, what: string): Promise<T>;
}

/** Real time: for engines whose timers are not ours (BullMQ on Redis). */
export const realTime: EngineTime = {
  now: () => Date.now(),
  elapse: (ms) => sleep(ms),
  sleep: (ms) => sleep(ms),
  waitFor: (probe, budgetMs, what) => waitFor(probe, budgetMs, what),
};

/**
 * Fake time on a manual scheduler: waiting moves it 10 ms at a time, letting pending promise
 * callbacks and immediates run between moves, so work the engine does "now" always finishes
 * before a later timer fires (the order real time would give, without its cost).
 */
export function fakeTime(scheduler: ManualScheduler): EngineTime {
  const STEP = 10;
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 5; i += 1) await new Promise<void>((resolve) => setImmediate(resolve));
  };
  const elapse = async (ms: number): Promise<void> => {
    const end = scheduler.ms + ms;
    await settle();
    while (scheduler.ms < end) {
      await scheduler.advanceAsync(Math.min(STEP, end - scheduler.ms));
      await settle();
    }
  };
  return {
    now: () => scheduler.ms,
    elapse,
    sleep: (ms) => new Promise<void>((resolve) => void scheduler.after(ms, resolve)),
    async waitFor(probe, budgetMs, what) {
      const end = scheduler.ms + budgetMs;
      for (;;) {
        const v = await probe();
        if (v !== undefined && v !== false) return v;
        if (scheduler.ms >= end) throw new Error(`nothing after ${budgetMs} ms of engine time waiting for ${what}`);
        await elapse(Math.min(STEP, end - scheduler.ms));
      }
    },
  };
}

export interface EngineHarness {
  readonly engine: JobEngine;
  readonly store: OperationStore;
  readonly events: OperationEvents;
  readonly logger: Logger & { readonly entries: ReadonlyArray<{ level: string; msg: string | undefined }> };
  /** The engine's time (default: real time). */
  readonly time?: EngineTime;
  /** Stops the worker, closes connections and deletes what the harness wrote. */
  close(): Promise<void>;
}

/** Builds a fresh engine (own queue, own store) per call. `random` feeds the backoff jitter. */
export type EngineFactory = (options: { readonly random: () => number }) => Promise<EngineHarness>;

export interface Rig {
  readonly h: EngineHarness;
  readonly service: OperationService;
  /** Starts an operation of `kind` through the operation service. */
  start(kind: string, input?: Record<string, string | number>): Promise<Operation>;
  /** Waits until the record reaches `status` and returns it (the budget is the engine's time). */
  until(id: string, status: OperationStatus, timeoutMs?: number): Promise<OperationRecord>;
  /** The engine's time: its clock, windows, slow handlers and waits. */
  readonly time: EngineTime;
}

export interface RigOptions {
  readonly concurrency?: number;
  /** Start the worker (default true). */
  readonly worker?: boolean;
  readonly random?: () => number;
}

/** Builds a rig on the suite's factory; the suite closes it after the test. */
export type MakeRig = (kinds: readonly JobKind[], opts?: RigOptions) => Promise<Rig>;

export async function rig(factory: EngineFactory, kinds: readonly JobKind[], opts: RigOptions = {}): Promise<Rig> {
  const h = await factory({ random: opts.random ?? (() => 1) });
  const time = h.time ?? realTime;
  h.engine.register(kinds);
  const service = createOperationService({
    store: h.store,
    events: h.events,
    queue: h.engine,
    ids: uuids,
    clock: { now: () => new Date(time.now()) },
    logger: h.logger,
  });
  if (opts.worker !== false) await h.engine.startWorker({ concurrency: opts.concurrency ?? 4 });
  return {
    h,
    service,
    time,
    start: (kind, input = {}) => service.start(admin, { kind, tenant: 'lab1', target: { type: 'vm', id: `vm-${uuids.next()}` }, input }),
    until: (id, status, timeoutMs = 8_000) =>
      time.waitFor(
        async () => {
          const r = await h.store.get(id);
          return r?.status === status ? r : undefined;
        },
        timeoutMs,
        `operation ${id} to be ${status}`,
      ),
  };
}

const fast = { attempts: 5, baseDelayMs: 40, maxDelayMs: 400 };

/** A kind whose steps run the given handlers; `first` is the first key. */
export function kind(name: string, steps: Record<string, StepHandler>, retry = fast): JobKind {
  const first = Object.keys(steps)[0];
  if (first === undefined) throw new TypeError('no steps');
  return { kind: name, steps, firstStep: first, retry };
}

/** Resolves when `signal` aborts, then throws its reason (what a well-behaved handler does). */
export async function blockUntilAborted(signal: AbortSignal): Promise<never> {
  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
  throw signal.reason;
}

export { sleep };
