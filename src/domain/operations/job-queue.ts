import type { CallPriority } from './call-priority.js';
import type { OperationRecord } from './operation.js';

export interface EnqueueOptions {
  readonly operationId: string;
  /** Defaults to the kind's first step. */
  readonly step?: string;
  /** Defaults to 0 (the first job of an operation). */
  readonly generation?: number;
  /** Milliseconds before the job may start; 0 or absent: now. */
  readonly delayMs?: number;
  /** The operation's rank (`operationRank`): transports that can order waiting jobs serve lower ranks first. */
  readonly rank?: CallPriority;
}

/**
 * What use cases need of the job engine.
 *
 * Idempotency: the job id is `${operationId}:${step}:${generation}`, so enqueueing the same job twice
 * is a no-op while the first is known to the queue, and a duplicate that slips through is skipped by
 * the runtime (the operation's cursor names the one job it expects).
 * Job data carries these ids (and the trace context) only, never secrets or inputs.
 */
export interface JobQueue {
  /** First step of `kind`, or undefined when no such kind is registered. */
  firstStep(kind: string): string | undefined;
  /** Throws UpstreamUnavailableError when the queue backend is unreachable. */
  enqueue(kind: string, options: EnqueueOptions): Promise<void>;
  /**
   * Cancels the operation: ends it as canceled at once when no step is running (and drops its
   * pending job), otherwise flags it and aborts the running step (in whichever process runs it),
   * whose runner then ends it as canceled with `result.stoppedAtStep`. A step that ignores the
   * signal and finishes the whole operation ends it succeeded; one that returns a next step ends
   * it canceled with `stepCompleted: true`. Idempotent; no change for finished operations.
   * Resolves to the record after the change, or undefined for an unknown id.
   */
  cancel(operationId: string): Promise<OperationRecord | undefined>;
}

/**
 * The trace a job continues, as W3C Trace Context (https://www.w3.org/TR/trace-context/) values:
 * whoever enqueued it (a request, the previous step), so a worker in another process continues the
 * same trace. `link`: the job starts a trace of its own that links to this one (a re-check long
 * after, or a job re-enqueued by recovery) instead of a child span in it.
 */
export interface JobTrace {
  readonly traceparent: string;
  readonly tracestate?: string;
  readonly link?: boolean;
}

/** One job as it travels through a queue: ids and, while tracing is on, the trace it continues. */
export interface JobMessage {
  readonly kind: string;
  readonly operationId: string;
  readonly step: string;
  readonly generation: number;
  /** Absent while tracing is off; never part of the job id. */
  readonly trace?: JobTrace;
}

/** Deterministic job id: `${operationId}:${step}:${generation}`. */
export function jobIdOf(job: Pick<JobMessage, 'operationId' | 'step' | 'generation'>): string {
  return `${job.operationId}:${job.step}:${job.generation}`;
}

/** Abort reason given to running jobs when their worker stops before they finish. */
export class WorkerShutdown extends Error {
  constructor() {
    super('the worker is shutting down');
    this.name = 'WorkerShutdown';
  }
}

/**
 * How a processed job ended. `operationFailed` (the code of the operation's error) when this job
 * ended its operation as failed: the transport then finishes the job as failed (what queue
 * dashboards count) without delivering it again.
 */
export interface JobResult {
  readonly operationFailed?: string;
}

export interface JobProcessor {
  /**
   * Handles one job. Resolving acknowledges it (as failed when the result says the operation
   * failed); rejecting (an infrastructure failure such as the operation store being unreachable)
   * makes the transport deliver the same job again later.
   * `signal` aborts with a `WorkerShutdown` reason when the worker stops before the job ends.
   */
  process(job: JobMessage, signal: AbortSignal): Promise<JobResult>;
  /** The transport gave up on a job (delivery retries exhausted, stalled too often). */
  lost(job: JobMessage, reason: string): Promise<void>;
}

/** Job counts of one queue, for metrics and dashboards. */
export interface QueueCounts {
  readonly queue: string;
  readonly waiting: number;
  readonly active: number;
  readonly delayed: number;
  readonly failed: number;
  readonly completed: number;
}

/**
 * Moves job messages to workers: BullMQ on Redis, or an in-process queue. It knows nothing of
 * operations; the job runtime (src/jobs) gives every transport the same semantics.
 *
 * Invariants (the engine contract suite checks them through the runtime):
 * - `add` with the id of a job the transport still knows (waiting, delayed, active, or recently
 *   finished) is a no-op;
 * - at most `concurrency` jobs run at once per started worker;
 * - a job whose worker died is delivered again (durable transports only);
 * - connection failures never crash the process: operations reject with UpstreamUnavailableError.
 */
export interface JobTransport {
  /** 'bullmq', 'in-process', ... */
  readonly name: string;
  /** False when jobs are lost with the process. */
  readonly durable: boolean;
  /**
   * Queues `job`. `rank` (the operation's, see `operationRank`) orders waiting jobs where the transport
   * can (the in-process one); a transport that cannot keeps arrival order.
   */
  add(job: JobMessage, options: { readonly delayMs: number; readonly rank?: CallPriority }): Promise<void>;
  /** Drops a waiting or delayed job; 'active' when a worker holds it now ('removed' when unknown). */
  remove(job: JobMessage): Promise<'removed' | 'active'>;
  /**
   * Makes a delayed job ready to run now (what a watch event does to a re-check). True when the
   * job was delayed; false when it is waiting, running, finished or unknown (nothing changes).
   */
  wake(job: JobMessage): Promise<boolean>;
  start(processor: JobProcessor, options: { readonly concurrency: number }): Promise<void>;
  /**
   * Stops taking jobs, waits up to `graceMs` for running ones, then aborts them with
   * `WorkerShutdown` (their runner hands them back) and resolves once they return or after a short
   * extra wait; a durable transport redelivers whatever was still held.
   */
  stop(options: { readonly graceMs: number }): Promise<void>;
  counts(): Promise<readonly QueueCounts[]>;
  /** Stops and releases connections. */
  close(): Promise<void>;
}

/** How one run of a step ended, for metrics. */
export type StepOutcomeLabel = 'next' | 'recheck' | 'done' | 'retry' | 'failed' | 'canceled' | 'handed_back';

export interface StepObservation {
  readonly operationId: string;
  readonly kind: string;
  readonly step: string;
  readonly outcome: StepOutcomeLabel;
  /** Time in the handler, milliseconds. */
  readonly handlerMs: number;
  /** Time from picking the job up to acknowledging it, milliseconds (overhead = total - handler). */
  readonly totalMs: number;
  /** A step that re-checked and now moved on: milliseconds since its first re-check (how long it waited). */
  readonly waitedMs?: number;
}

/** What metrics read from a job engine. */
export interface JobMetricsSource {
  counts(): Promise<readonly QueueCounts[]>;
  /** Returns a function that removes the listener. */
  onStepFinished(listener: (observation: StepObservation) => void): () => void;
}
