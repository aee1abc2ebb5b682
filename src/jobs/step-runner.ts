import { performance } from 'node:perf_hooks';
import {
  WorkerShutdown,
  type JobMessage,
  type JobProcessor,
  type JobResult,
  type JobTransport,
  type StepObservation,
  type StepOutcomeLabel,
} from '../domain/operations/job-queue.js';
import type { Logger } from '../domain/operations/logger.js';
import {
  cancelNow,
  fail,
  handBack,
  isCurrentJob,
  reportProgress,
  scheduleStep,
  startStep,
  succeed,
  type StepStart,
} from '../domain/operations/operation-lifecycle.js';
import { operationRank, withCallPriority } from '../domain/operations/call-priority.js';
import type { OperationRecorder } from '../domain/operations/operation-recorder.js';
import { isTerminal, type OperationProblem, type OperationRecord } from '../domain/operations/operation.js';
import { problemOf } from '../domain/operations/problem.js';
import { isRetryable } from '../domain/shared/errors.js';
import type { Clock } from '../domain/shared/ids.js';
import { DEFAULT_WAIT, recheckDelayMs, type JobKind, type StepHandler, type StepOutcome } from './job-kind.js';
import { mayRetry, retryDelayMs } from './retry-policy.js';
import type { RunningSteps } from './running-steps.js';
import { inStepSpan, jobTraceOf, recordStepOutcome } from './tracing.js';

export interface StepRunnerDeps {
  readonly kinds: ReadonlyMap<string, JobKind>;
  readonly recorder: OperationRecorder;
  readonly transport: JobTransport;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly random: () => number;
  readonly running: RunningSteps;
  readonly observe: (o: StepObservation) => void;
}

type Change = (cur: OperationRecord) => OperationRecord | undefined;

/**
 * The job runtime shared by every transport: loads the operation, runs one step, records the
 * outcome, and enqueues the next job. Records the step as active before running it and the outcome
 * after, so a duplicate or stale job (wrong step or generation) is skipped and a crash re-runs only
 * the step that was active. Commit first, enqueue second: if enqueueing fails, the job is
 * redelivered, found stale, and the cursor's job is enqueued again (ids are deterministic).
 */
export function createStepRunner(deps: StepRunnerDeps): JobProcessor & { enqueueCursor(op: OperationRecord): Promise<void> } {
  const { kinds, recorder, transport, clock, logger, random, running } = deps;
  const observe = (o: StepObservation, code?: string): void => {
    recordStepOutcome(o.outcome, code);
    deps.observe(o);
  };

  async function enqueueCursor(op: OperationRecord): Promise<void> {
    const c = op.cursor;
    const delayMs = c.notBefore === undefined ? 0 : Math.max(0, Date.parse(c.notBefore) - clock.now().getTime());
    await transport.add(
      { kind: op.kind, operationId: op.id, step: c.step, generation: c.generation, ...jobTraceOf(delayMs, op) },
      { delayMs, rank: operationRank(op) },
    );
  }

  /** Applies `change` only while `job` still owns the operation (current and active). */
  async function commit(job: JobMessage, change: Change): Promise<OperationRecord | undefined> {
    const owned: Change = (cur) => (isTerminal(cur.status) || !isCurrentJob(cur, job) || cur.cursor.state !== 'active' ? undefined : change(cur));
    const res = await recorder.mutate(job.operationId, owned);
    if (res === undefined || !res.changed) {
      logger.warn({ operationId: job.operationId, step: job.step }, 'the step no longer owns its operation; outcome dropped');
      return undefined;
    }
    if (!isTerminal(res.operation.status) && res.operation.cursor.state === 'pending') await enqueueCursor(res.operation);
    return res.operation;
  }

  async function settleOutcome(job: JobMessage, kind: JobKind, outcome: StepOutcome): Promise<Settled> {
    const now = clock.now();
    let label = outcome.type as StepOutcomeLabel;
    if (outcome.type === 'done') {
      return { label, after: await commit(job, (cur) => succeed(cur, outcome.result, now)) };
    }
    if (outcome.type === 'next' && !Object.hasOwn(kind.steps, outcome.step)) {
      logger.error({ operationId: job.operationId, kind: kind.kind, step: job.step, next: outcome.step }, 'a step named an unknown next step');
      return { label: 'failed', after: await commit(job, (cur) => fail(cur, problemOf(undefined).problem, now)) };
    }
    const after = await commit(job, (cur) => {
      if (cur.cancelRequested) {
        label = 'canceled';
        return cancelNow(cur, now, outcome.type === 'next');
      }
      label = outcome.type;
      if (outcome.type === 'next')
        return scheduleStep(cur, { step: outcome.step, attempt: 1, delayMs: outcome.delayMs ?? 0, ...pct(outcome.progress) }, now);
      const next = recheck(cur, kind, job.step, outcome.delayMs, outcome.progress, now);
      if (next.status === 'failed') label = 'failed';
      return next;
    });
    return { label, after };
  }

  /**
   * A re-check: backs off while progress stays put, and fails the operation with WAIT_TIMED_OUT
   * once it has stayed put for the kind's stall timeout (see `WaitPolicy`). A look that ran before
   * its due time was woken (a watch event, a child's end: see `WakeUps`) and does not count towards
   * the backoff: otherwise events that are not what the step waits for (our own writes to the VM)
   * would stretch its delays and delay it seeing what it does wait for.
   */
  function recheck(cur: OperationRecord, kind: JobKind, step: string, askedMs: number, progress: number | undefined, now: Date): OperationRecord {
    const policy = kind.wait ?? DEFAULT_WAIT;
    const percent = progress ?? cur.progress.percent;
    const last = cur.cursor.wait;
    const stalled = last !== undefined && percent <= last.percent;
    const early = last?.dueAt !== undefined && now.getTime() < Date.parse(last.dueAt);
    const first = last?.first ?? last?.since ?? now.toISOString();
    const looked = stalled
      ? { since: last.since, rechecks: early ? last.rechecks : last.rechecks + 1, percent: last.percent, first }
      : { since: now.toISOString(), rechecks: 0, percent, first };
    const stalledMs = now.getTime() - Date.parse(looked.since);
    if (stalled && stalledMs >= policy.stallTimeoutMs) {
      const minutes = Math.round(stalledMs / 60_000);
      return fail(
        cur,
        {
          code: 'WAIT_TIMED_OUT',
          title: 'The operation waited too long without progress and was given up.',
          detail: `Step '${step}' re-checked ${looked.rechecks} times over ${minutes} minute(s) without progress (at ${percent}%); the limit for ${kind.kind} is ${Math.round(policy.stallTimeoutMs / 60_000)} minute(s).`,
        },
        now,
      );
    }
    const delayMs = recheckDelayMs(askedMs, looked.rechecks, policy, random);
    const wait = { ...looked, dueAt: new Date(now.getTime() + delayMs).toISOString() };
    return scheduleStep(cur, { step, attempt: cur.cursor.attempt, delayMs, ...pct(progress), wait }, now);
  }

  async function settleError(job: JobMessage, kind: JobKind, attempt: number, err: unknown, signal: AbortSignal): Promise<Settled> {
    const now = clock.now();
    let label = 'failed' as StepOutcomeLabel;
    if (signal.aborted && signal.reason instanceof WorkerShutdown) {
      const after = await commit(job, (cur) => {
        label = cur.cancelRequested ? 'canceled' : 'handed_back';
        return cur.cancelRequested ? cancelNow(cur, now, false) : handBack(cur, now);
      });
      return { label, after };
    }
    const { problem, internal } = problemOf(err);
    const retry = isRetryable(err) && mayRetry(attempt, kind.retry);
    const delayMs = retry ? retryDelayMs(attempt, kind.retry, err, random) : 0;
    const finalProblem: OperationProblem =
      isRetryable(err) && !retry ? { ...problem, detail: `Gave up after ${attempt} attempt(s) of step '${job.step}'.` } : problem;
    const after = await commit(job, (cur) => {
      if (cur.cancelRequested) {
        label = 'canceled';
        return cancelNow(cur, now, false);
      }
      label = retry ? 'retry' : 'failed';
      return retry
        ? scheduleStep(cur, { step: job.step, attempt: cur.cursor.attempt + 1, delayMs, error: problem }, now)
        : fail(cur, finalProblem, now);
    });
    const facts = { operationId: job.operationId, kind: job.kind, step: job.step, attempt, code: problem.code };
    if (internal && label !== 'canceled') logger.error({ ...facts, err }, 'a step failed with an unexpected error');
    else if (label === 'retry') logger.warn({ ...facts, delayMs }, 'a step failed transiently; retrying');
    else if (label === 'failed') logger.warn(facts, 'a step failed');
    return { label, after };
  }

  /** Runs the job; resolves to the operation as this job left it (undefined when it changed nothing). */
  async function run(job: JobMessage, controller: AbortController, t0: number): Promise<OperationRecord | undefined> {
    let start: StepStart | undefined;
    const begun = await recorder.mutate(job.operationId, (op) => {
      start = startStep(op, job, clock.now());
      return start.type === 'skip' ? undefined : start.next;
    });
    if (begun === undefined || start === undefined) {
      logger.warn({ operationId: job.operationId, kind: job.kind }, 'a job names an unknown operation; dropped');
      return undefined;
    }
    if (start.type === 'skip') {
      const op = begun.operation;
      if (start.reason === 'stale' && !isTerminal(op.status) && op.cursor.state === 'pending' && op.cursor.generation > job.generation) {
        await enqueueCursor(op);
      }
      return undefined;
    }
    const kind = kinds.get(job.kind);
    if (start.type === 'canceled' || kind === undefined) {
      let after: OperationRecord | undefined = begun.operation;
      if (kind === undefined) {
        logger.error({ operationId: job.operationId, kind: job.kind }, 'no job kind registered under this name');
        after = await commit(job, (cur) => fail(cur, { code: 'UNKNOWN_JOB_KIND', title: `No worker handles '${job.kind}'.` }, clock.now()));
      }
      observe({
        operationId: job.operationId,
        kind: job.kind,
        step: job.step,
        outcome: start.type === 'canceled' ? 'canceled' : 'failed',
        handlerMs: 0,
        totalMs: performance.now() - t0,
      });
      return after;
    }
    const op = begun.operation;
    const handler: StepHandler | undefined = Object.hasOwn(kind.steps, job.step) ? kind.steps[job.step] : undefined;
    let outcome: StepOutcome | undefined;
    let error: unknown;
    const h0 = performance.now();
    if (handler === undefined) {
      error = new Error(`job kind ${kind.kind} has no step '${job.step}'`);
    } else {
      try {
        // Older operations' upstream calls first (see withCallPriority).
        outcome = await withCallPriority(operationRank(op), () =>
          handler({
            operation: op,
            step: job.step,
            attempt: op.cursor.attempt,
            signal: controller.signal,
            report: async ({ percent }) => {
              await recorder.mutate(job.operationId, (cur) => reportProgress(cur, job, percent, clock.now()));
            },
          }),
        );
      } catch (err) {
        error = err;
      }
    }
    const handlerMs = performance.now() - h0;
    const { label, after } =
      outcome === undefined ? await settleError(job, kind, op.cursor.attempt, error, controller.signal) : await settleOutcome(job, kind, outcome);
    const first = op.cursor.wait?.first;
    const waited =
      first !== undefined && (label === 'next' || label === 'done') ? { waitedMs: Math.max(0, clock.now().getTime() - Date.parse(first)) } : {};
    observe(
      { operationId: job.operationId, kind: job.kind, step: job.step, outcome: label, handlerMs, totalMs: performance.now() - t0, ...waited },
      after?.error?.code,
    );
    return after;
  }

  async function processJob(job: JobMessage, signal: AbortSignal): Promise<JobResult> {
    const t0 = performance.now();
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    running.add(job.operationId, controller);
    try {
      const after = await run(job, controller, t0);
      return resultOf(after);
    } finally {
      running.delete(job.operationId, controller);
      signal.removeEventListener('abort', onAbort);
    }
  }

  return {
    enqueueCursor,
    process: (job, signal) => inStepSpan(job, () => processJob(job, signal)),
    async lost(job, reason) {
      logger.error({ operationId: job.operationId, kind: job.kind, step: job.step, reason }, 'the queue gave up on a job');
      const problem: OperationProblem = { code: 'JOB_LOST', title: 'The work was interrupted too many times and was given up.' };
      await recorder.mutate(job.operationId, (cur) =>
        isTerminal(cur.status) || !isCurrentJob(cur, job) ? undefined : fail(cur, problem, clock.now()),
      );
    },
  };
}

interface Settled {
  readonly label: StepOutcomeLabel;
  /** The operation after this job's commit; undefined when the job no longer owned it. */
  readonly after: OperationRecord | undefined;
}

/** Only the job that moved its operation to failed ends failed in the queue. */
function resultOf(after: OperationRecord | undefined): JobResult {
  return after?.status === 'failed' ? { operationFailed: after.error?.code ?? 'FAILED' } : {};
}

function pct(p: number | undefined): { percent?: number } {
  return p === undefined ? {} : { percent: p };
}
