import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../src/domain/operations/logger.js';
import type { OperationEvents } from '../../src/domain/operations/operation-events.js';
import { createOperationService, type OperationService } from '../../src/domain/operations/operation-service.js';
import type { OperationStore } from '../../src/domain/operations/operation-store.js';
import type { Operation, OperationRecord, OperationStatus } from '../../src/domain/operations/operation.js';
import { systemClock } from '../../src/domain/shared/ids.js';
import type { JobEngine } from '../../src/jobs/job-engine.js';
import type { JobKind, StepHandler } from '../../src/jobs/job-kind.js';
import { admin, uuids, waitFor } from './helpers.js';

export interface EngineHarness {
  readonly engine: JobEngine;
  readonly store: OperationStore;
  readonly events: OperationEvents;
  readonly logger: Logger & { readonly entries: ReadonlyArray<{ level: string; msg: string | undefined }> };
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
  /** Waits until the record reaches `status` and returns it. */
  until(id: string, status: OperationStatus, timeoutMs?: number): Promise<OperationRecord>;
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
  h.engine.register(kinds);
  const service = createOperationService({
    store: h.store,
    events: h.events,
    queue: h.engine,
    ids: uuids,
    clock: systemClock,
    logger: h.logger,
  });
  if (opts.worker !== false) await h.engine.startWorker({ concurrency: opts.concurrency ?? 4 });
  return {
    h,
    service,
    start: (kind, input = {}) => service.start(admin, { kind, tenant: 'lab1', target: { type: 'vm', id: `vm-${uuids.next()}` }, input }),
    until: (id, status, timeoutMs = 8_000) =>
      waitFor(
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
