import {
  canTransition,
  isTerminal,
  type JsonObject,
  type OperationProblem,
  type OperationRecord,
  type OperationStatus,
  type OperationTarget,
  type StepCursor,
  type TraceRef,
} from './operation.js';

/**
 * Pure state changes of an operation record. Each takes the current record and `now` and returns
 * the next record, or `undefined` when nothing changes; stores apply them atomically (they may be
 * called more than once when a compare-and-set loses a race, so they must stay pure).
 */

export interface NewOperation {
  readonly id: string;
  readonly kind: string;
  readonly tenant?: string;
  readonly target: OperationTarget;
  readonly createdBy: string;
  readonly ownerId?: string;
  readonly parentId?: string;
  readonly input: JsonObject;
  readonly firstStep: string;
  /** The trace that starts it (see `OperationRecord.traceparent`). */
  readonly trace?: TraceRef;
  /** The rank of the operation whose step starts this one (`OperationRecord.rank`), if any. */
  readonly parentRank?: readonly number[];
}

export function newOperationRecord(init: NewOperation, now: Date): OperationRecord {
  const at = now.toISOString();
  return {
    id: init.id,
    kind: init.kind,
    ...(init.tenant === undefined ? {} : { tenant: init.tenant }),
    target: init.target,
    status: 'queued',
    progress: { percent: 0, step: init.firstStep },
    attempts: 0,
    createdAt: at,
    updatedAt: at,
    createdBy: init.createdBy,
    ...(init.ownerId === undefined ? {} : { ownerId: init.ownerId }),
    ...(init.parentId === undefined ? {} : { parentId: init.parentId }),
    cancelRequested: false,
    ...(init.trace === undefined ? {} : { traceId: init.trace.traceId, traceparent: init.trace.traceparent }),
    ...(init.parentRank === undefined ? {} : { rank: [...init.parentRank, now.getTime()] }),
    input: init.input,
    cursor: { step: init.firstStep, generation: 0, attempt: 1, state: 'pending' },
  };
}

function moveTo(op: OperationRecord, status: OperationStatus): OperationStatus {
  if (!canTransition(op.status, status)) {
    throw new Error(`operation ${op.id}: illegal status transition ${op.status} -> ${status}`);
  }
  return status;
}

/** The job (step, generation) the cursor expects next. */
export function isCurrentJob(op: OperationRecord, job: { step: string; generation: number }): boolean {
  return op.cursor.step === job.step && op.cursor.generation === job.generation;
}

export type StepStart =
  | { readonly type: 'run'; readonly next: OperationRecord }
  | { readonly type: 'canceled'; readonly next: OperationRecord }
  | { readonly type: 'skip'; readonly reason: 'finished' | 'stale' };

/**
 * A worker picked up job (step, generation). Runs it when it is the cursor's job; a job seen while
 * the cursor is already active is a re-run after a crash and counts as a new attempt.
 */
export function startStep(op: OperationRecord, job: { step: string; generation: number }, now: Date): StepStart {
  if (isTerminal(op.status)) return { type: 'skip', reason: 'finished' };
  if (!isCurrentJob(op, job) || op.cursor.state === 'done') return { type: 'skip', reason: 'stale' };
  if (op.cancelRequested) return { type: 'canceled', next: cancelNow(op, now, false) };
  const at = now.toISOString();
  const attempt = op.cursor.state === 'active' ? op.cursor.attempt + 1 : op.cursor.attempt;
  const { notBefore: _nb, ...cursor } = op.cursor;
  return {
    type: 'run',
    next: {
      ...op,
      status: moveTo(op, 'running'),
      startedAt: op.startedAt ?? at,
      updatedAt: at,
      attempts: attempt,
      progress: { ...op.progress, step: job.step },
      cursor: { ...cursor, attempt, state: 'active' },
    },
  };
}

export interface ScheduleStep {
  readonly step: string;
  readonly attempt: number;
  readonly delayMs: number;
  readonly percent?: number;
  /** Last transient error, recorded while the step is retried. */
  readonly error?: OperationProblem;
  /** How long the step has been re-checking without progress (see `StepCursor.wait`). */
  readonly wait?: StepCursor['wait'];
}

/** Moves the cursor to a new pending job (next step, re-check or retry); generation grows by one. */
export function scheduleStep(op: OperationRecord, s: ScheduleStep, now: Date): OperationRecord {
  const at = now.toISOString();
  const cursor: StepCursor = {
    step: s.step,
    generation: op.cursor.generation + 1,
    attempt: s.attempt,
    state: 'pending',
    ...(s.delayMs > 0 ? { notBefore: new Date(now.getTime() + s.delayMs).toISOString() } : {}),
    ...(s.wait === undefined ? {} : { wait: s.wait }),
  };
  const { error: _e, ...rest } = op;
  return {
    ...rest,
    status: moveTo(op, 'running'),
    updatedAt: at,
    progress: { percent: clampPercent(s.percent ?? op.progress.percent), step: s.step },
    ...(s.error === undefined ? {} : { error: s.error }),
    cursor,
  };
}

/** The same job again with a new generation (worker shutdown handing the job back). */
export function handBack(op: OperationRecord, now: Date): OperationRecord {
  return {
    ...op,
    updatedAt: now.toISOString(),
    cursor: { step: op.cursor.step, generation: op.cursor.generation + 1, attempt: op.cursor.attempt, state: 'pending' },
  };
}

export function succeed(op: OperationRecord, result: JsonObject | undefined, now: Date): OperationRecord {
  const at = now.toISOString();
  const { error: _e, ...rest } = op;
  return {
    ...rest,
    status: moveTo(op, 'succeeded'),
    updatedAt: at,
    finishedAt: at,
    progress: { ...op.progress, percent: 100 },
    ...(result === undefined ? {} : { result }),
    cursor: { ...op.cursor, state: 'done' },
  };
}

export function fail(op: OperationRecord, problem: OperationProblem, now: Date): OperationRecord {
  const at = now.toISOString();
  return {
    ...op,
    status: moveTo(op, 'failed'),
    updatedAt: at,
    finishedAt: at,
    error: problem,
    cursor: { ...op.cursor, state: 'done' },
  };
}

/**
 * Ends the operation as canceled and records where it stopped: `stoppedAtStep` is the step that
 * was running or waiting, `stepCompleted` whether that step finished before the cancel took hold.
 */
export function cancelNow(op: OperationRecord, now: Date, stepCompleted: boolean): OperationRecord {
  const at = now.toISOString();
  return {
    ...op,
    status: moveTo(op, 'canceled'),
    cancelRequested: true,
    updatedAt: at,
    finishedAt: at,
    result: { stoppedAtStep: op.cursor.step, stepCompleted },
    cursor: { ...op.cursor, state: 'done' },
  };
}

/**
 * A client asked to cancel. When no step runs, the operation ends as canceled at once (its pending
 * job is skipped if it still runs); when a step runs, `cancelRequested` is set and the runner that
 * holds the step aborts it and ends the operation. No change for finished or already-canceling ones.
 */
export function requestCancel(op: OperationRecord, now: Date): OperationRecord | undefined {
  if (isTerminal(op.status) || op.cancelRequested) return undefined;
  if (op.cursor.state === 'active') return { ...op, cancelRequested: true, updatedAt: now.toISOString() };
  return cancelNow(op, now, false);
}

/** Progress reported by a running step; ignored once the step is no longer current. */
export function reportProgress(
  op: OperationRecord,
  job: { step: string; generation: number },
  percent: number,
  now: Date,
): OperationRecord | undefined {
  if (isTerminal(op.status) || !isCurrentJob(op, job) || op.cursor.state !== 'active') return undefined;
  const p = clampPercent(percent);
  if (p === op.progress.percent) return undefined;
  return { ...op, updatedAt: now.toISOString(), progress: { ...op.progress, percent: p } };
}

export function clampPercent(p: number): number {
  if (!Number.isFinite(p)) return 0;
  return Math.min(100, Math.max(0, p));
}
