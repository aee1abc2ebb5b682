import type { OperationRecord } from '../domain/operations/operation.js';
import { STEP_NAME, type JsonObject } from '../domain/operations/operation.js';

/** Per-kind retry policy for transient errors (`isRetryable`). Delays in milliseconds. */
export interface RetryPolicy {
  /** Total runs of one step before it fails, >= 1 (1: never retried). */
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export interface StepContext {
  /** The record as the step starts (input, target, tenant...). */
  readonly operation: OperationRecord;
  readonly step: string;
  /** 1 for the first run of this step; grows with retries and crash re-runs, not with re-checks. */
  readonly attempt: number;
  /** Aborted when the operation is canceled or the worker shuts down: stop and throw. */
  readonly signal: AbortSignal;
  /** Records progress (0..100) of the operation; ignored once the step is no longer current. */
  report(progress: { readonly percent: number }): Promise<void>;
}

export type StepOutcome =
  /** Go on with `step` as its own job (after `delayMs`). */
  | { readonly type: 'next'; readonly step: string; readonly progress?: number; readonly delayMs?: number }
  /** Not ready yet (a VM booting, Arc connecting): run this step again after `delayMs`, freeing the slot. */
  | { readonly type: 'recheck'; readonly delayMs: number; readonly progress?: number }
  /** The operation succeeded. */
  | { readonly type: 'done'; readonly result?: JsonObject };

/**
 * Runs one step. Must be idempotent (it may run twice after a crash): name what it creates
 * deterministically and treat "already exists" as success. Throw UpstreamUnavailableError for
 * transient failures (retried with backoff), any other error to fail the operation at once.
 */
export type StepHandler = (ctx: StepContext) => Promise<StepOutcome>;

/**
 * How long a step may wait on the outside world, and how its re-checks back off. Waiting is judged
 * by progress: a re-check whose progress is higher than the last one's starts the clock and the
 * delays over, so a long import that keeps moving is never cut, while one stuck at 42% is.
 */
export interface WaitPolicy {
  /** Re-checking this long (ms) without progress fails the operation with `WAIT_TIMED_OUT`. */
  readonly stallTimeoutMs: number;
  /** Re-check delays double from what the step asks (never below it), up to this (ms); 0: they do not grow. */
  readonly maxDelayMs: number;
}

/** A job kind: one file each, e.g. `src/jobs/kinds/vm-create.ts`. */
export interface JobKind {
  /** e.g. 'vm.create'. */
  readonly kind: string;
  readonly steps: Readonly<Record<string, StepHandler>>;
  readonly firstStep: string;
  readonly retry: RetryPolicy;
  /** Default {@link DEFAULT_WAIT}. */
  readonly wait?: WaitPolicy;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 1_000, maxDelayMs: 60_000 };

/** An hour without progress; re-checks at most every 15 s. */
export const DEFAULT_WAIT: WaitPolicy = { stallTimeoutMs: 60 * 60_000, maxDelayMs: 15_000 };

/**
 * For parents waiting on their child operations (a lab's students, an evacuation's migrations):
 * each child has its own deadline, and a finishing child raises the parent's progress, so the
 * parent's own limit only catches what the children's cannot; its re-checks read the operation
 * store, not the outside world, and keep their pace so that the parent ends soon after its last child.
 */
export const WAIT_ON_CHILDREN: WaitPolicy = { stallTimeoutMs: 3 * 60 * 60_000, maxDelayMs: 0 };

/**
 * The delay of the `rechecks`-th re-check in a row without progress (0 for the first): the step's
 * own delay doubled that many times, capped at `maxDelayMs` but never below the step's own, with
 * ±10% jitter so that waits started together spread out.
 */
export function recheckDelayMs(askedMs: number, rechecks: number, policy: WaitPolicy, random: () => number): number {
  const doubled = askedMs * 2 ** Math.min(rechecks, 30);
  const capped = Math.max(askedMs, Math.min(policy.maxDelayMs, doubled));
  return Math.round(capped * (0.9 + 0.2 * random()));
}

/** Checks a kind's shape; throws TypeError on a programming mistake (at registration, not at run). */
export function validateJobKind(k: JobKind): void {
  if (!/^[a-z][a-z0-9-]*(\.[a-z][a-zA-Z0-9-]*)*$/.test(k.kind)) throw new TypeError(`job kind name '${k.kind}' is not valid`);
  const steps = Object.keys(k.steps);
  if (steps.length === 0) throw new TypeError(`job kind ${k.kind} has no steps`);
  for (const s of steps) {
    if (!STEP_NAME.test(s)) throw new TypeError(`job kind ${k.kind}: step name '${s}' is not valid`);
  }
  if (!Object.hasOwn(k.steps, k.firstStep)) throw new TypeError(`job kind ${k.kind}: first step '${k.firstStep}' is not a step`);
  const r = k.retry;
  if (!Number.isInteger(r.attempts) || r.attempts < 1) throw new TypeError(`job kind ${k.kind}: retry.attempts must be >= 1`);
  if (!(r.baseDelayMs >= 0 && r.maxDelayMs >= r.baseDelayMs)) {
    throw new TypeError(`job kind ${k.kind}: retry delays must satisfy 0 <= baseDelayMs <= maxDelayMs`);
  }
  if (k.wait !== undefined && !(k.wait.stallTimeoutMs > 0 && k.wait.maxDelayMs >= 0)) {
    throw new TypeError(`job kind ${k.kind}: wait.stallTimeoutMs must be positive and wait.maxDelayMs not negative`);
  }
}
