import type { ErrorCode } from '../shared/error-codes.js';
/** A JSON value as stored on an operation (results, inputs). */
export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };
export type JsonObject = { readonly [key: string]: JsonValue };

export type OperationStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'canceled';

export const OPERATION_STATUSES: readonly OperationStatus[] = ['queued', 'running', 'succeeded', 'failed', 'canceled'];

/** Terminal statuses are final: no transition leaves them. */
export const TERMINAL_STATUSES: ReadonlySet<OperationStatus> = new Set<OperationStatus>(['succeeded', 'failed', 'canceled']);

export function isTerminal(status: OperationStatus): boolean {
  return TERMINAL_STATUSES.has(status);
}

const TRANSITIONS: Readonly<Record<OperationStatus, ReadonlySet<OperationStatus>>> = {
  queued: new Set<OperationStatus>(['queued', 'running', 'failed', 'canceled']),
  running: new Set<OperationStatus>(['running', 'succeeded', 'failed', 'canceled']),
  succeeded: new Set<OperationStatus>(),
  failed: new Set<OperationStatus>(),
  canceled: new Set<OperationStatus>(),
};

/** True when an operation in `from` may move to `to` (staying in a non-terminal status is allowed). */
export function canTransition(from: OperationStatus, to: OperationStatus): boolean {
  return TRANSITIONS[from].has(to);
}

/** The trace a piece of work runs in: its W3C trace id and traceparent. */
export interface TraceRef {
  readonly traceId: string;
  readonly traceparent: string;
}

/** What the operation works on, e.g. `{ type: 'vm', id: 'lab1/vm-7', name: 'vm-7' }`. */
export interface OperationTarget {
  readonly type: string;
  readonly id: string;
  readonly name?: string;
}

export interface OperationProgress {
  /** 0..100, integer or fractional. */
  readonly percent: number;
  /** Name of the step running now (or waiting to run). */
  readonly step?: string;
}

/**
 * Why an operation failed (or why its last attempt failed while it is retried), shaped like an
 * RFC 9457 problem. Never holds secrets or stack traces: only a stable `code` and safe text.
 * `status` is absent in the domain; the API may fill it from its error table.
 */
export interface OperationProblem {
  /** From the catalogue (error-codes.ts); a record of an older version may hold another string. */
  readonly code: ErrorCode;
  readonly title: string;
  readonly detail?: string;
  readonly status?: number;
}

/**
 * A long-running piece of work as clients see it. Timestamps are ISO 8601 strings (UTC).
 *
 * Invariants: `status` only changes along `canTransition`; `finishedAt` is set exactly when the
 * status is terminal; `cancelRequested` never goes back to false.
 */
export interface Operation {
  /** UUID. */
  readonly id: string;
  /** Job kind, e.g. 'image.import', 'vm.create', 'arc.onboard', 'lab.provision'. */
  readonly kind: string;
  /** Tenant the work belongs to; absent for platform-wide work (visible to platform admins). */
  readonly tenant?: string;
  readonly target: OperationTarget;
  readonly status: OperationStatus;
  readonly progress: OperationProgress;
  /**
   * Attempt number of the step in `progress.step` (1 for a first run). A retry after a transient
   * error or a re-run after a worker crash adds one; a delayed re-check does not.
   */
  readonly attempts: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly result?: JsonObject;
  /** The failure, or the last transient error while the step is being retried. */
  readonly error?: OperationProblem;
  /** Principal id of whoever started it. */
  readonly createdBy: string;
  /** Owner of the target, for members' own resources (policy `scope.ownerId`). */
  readonly ownerId?: string;
  /** Operation this one is a child of (a lab provisioning and its VMs). */
  readonly parentId?: string;
  readonly cancelRequested: boolean;
  /** The trace (W3C trace id) of the request that started it, while tracing is on: what support looks up. */
  readonly traceId?: string;
}

/**
 * Where the job runtime is in an operation's chain of steps. `generation` grows by one for every
 * job enqueued for the operation, so job ids `${operationId}:${step}:${generation}` are unique and
 * deterministic; a job whose (step, generation) is not the cursor's is a duplicate and is skipped.
 */
export interface StepCursor {
  readonly step: string;
  readonly generation: number;
  /** Attempt the next run of `step` will be (or the running one is). */
  readonly attempt: number;
  /** pending: a job is (or should be) queued; active: a worker runs it; done: no more steps. */
  readonly state: 'pending' | 'active' | 'done';
  /** Earliest start of the pending job (ISO), for re-enqueueing it with the same delay. */
  readonly notBefore?: string;
  /**
   * While `step` re-checks: since when (ISO) its progress has not risen, how often it re-checked
   * since, that progress, and when (ISO) the pending re-check is due (one run before that was woken
   * early, and does not grow the backoff).
   */
  readonly wait?: {
    readonly since: string;
    readonly rechecks: number;
    readonly percent: number;
    readonly dueAt?: string;
    /** When (ISO) the step first re-checked, kept while it re-checks: how long it waited in all (metrics). */
    readonly first?: string;
  };
}

/**
 * The stored operation: what clients see plus what the runtime needs.
 * `input` is the caller's input to the job kind; callers guarantee it holds no secrets (it is
 * stored in clear in the operation store, and job data only carries the operation id).
 */
export interface OperationRecord extends Operation {
  readonly input: JsonObject;
  readonly cursor: StepCursor;
  /** W3C traceparent of the span that started it: jobs enqueued without a trace (recovery) link to it. */
  readonly traceparent?: string;
  /**
   * Its place when upstream calls queue (see `withCallPriority`): the creation times (epoch ms) of
   * the operation whose step started it, that one's parent, and so on from the oldest, then its own.
   * Absent on records written before it existed: their creation time alone.
   */
  readonly rank?: readonly number[];
}

/** The client view of a record (drops `input`, `cursor` and the other internals). */
export function toOperation(record: OperationRecord): Operation {
  const { input: _input, cursor: _cursor, traceparent: _traceparent, rank: _rank, ...view } = record;
  return view;
}

const MAX_MS = 9_999_999_999_999;

/**
 * Sort key of list pages: newest first, ties broken by id. Stores page on this key with
 * `pageByKey` cursor semantics, so pages stay stable when operations are added.
 */
export function operationListKey(op: Pick<Operation, 'createdAt' | 'id'>): string {
  const ms = Date.parse(op.createdAt);
  return `${String(MAX_MS - ms).padStart(13, '0')}:${op.id}`;
}

/** Step names are used in job ids and must not hold ':' (BullMQ allows exactly three parts). */
export const STEP_NAME = /^[a-zA-Z][a-zA-Z0-9._-]{0,62}$/;
