import { authorize } from '../auth/policy.js';
import type { Principal } from '../auth/principal.js';
import { ConflictError, NotFoundError, ValidationError } from '../shared/errors.js';
import type { Clock, IdGenerator } from '../shared/ids.js';
import type { Page, PageRequest } from '../shared/page.js';
import type { JobQueue } from './job-queue.js';
import type { Logger } from './logger.js';
import { fail, newOperationRecord } from './operation-lifecycle.js';
import { createOperationRecorder } from './operation-recorder.js';
import { isTerminal, toOperation, type JsonObject, type Operation, type OperationRecord, type OperationTarget, type TraceRef } from './operation.js';
import { currentCallPriority, operationRank } from './call-priority.js';
import type { OperationEvents, OperationListener, OperationSubscription } from './operation-events.js';
import type { OperationFilter, OperationStore } from './operation-store.js';
import { mayReadOperation } from './operation-visibility.js';
import { problemOf } from './problem.js';

export interface StartOperationInput {
  readonly kind: string;
  readonly tenant?: string;
  readonly target: OperationTarget;
  readonly ownerId?: string;
  readonly parentId?: string;
  /** Input of the job kind. Must hold no secrets: it is stored in clear on the record. */
  readonly input: JsonObject;
}

export interface OperationServiceDeps {
  readonly store: OperationStore;
  readonly events: OperationEvents;
  readonly queue: JobQueue;
  readonly ids: IdGenerator;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The trace the caller runs in (undefined while tracing is off); recorded on new operations. */
  readonly trace?: () => TraceRef | undefined;
}

export type OperationService = ReturnType<typeof createOperationService>;

/** Operation use cases: start (for other use cases), get, list and cancel (for clients). */
export function createOperationService(deps: OperationServiceDeps) {
  const { store, queue, ids, clock, logger } = deps;
  const recorder = createOperationRecorder(deps);

  const visible = mayReadOperation;
  const parentRankOf = (): { parentRank?: readonly number[] } => {
    const rank = currentCallPriority();
    return rank === undefined ? {} : { parentRank: rank };
  };
  const traceOf = (): { trace?: TraceRef } => {
    const t = deps.trace?.();
    return t === undefined ? {} : { trace: t };
  };

  async function load(p: Principal, id: string): Promise<OperationRecord> {
    const op = await store.get(id);
    if (op === undefined || !visible(p, op)) throw new NotFoundError('operation', id);
    return op;
  }

  function finished(op: OperationRecord): ConflictError {
    return new ConflictError('OPERATION_FINISHED', `The operation has already ${op.status}.`, {
      details: { status: op.status },
    });
  }

  return {
    /**
     * Records a queued operation and enqueues its first step. Does not authorize: the calling use
     * case (create a VM, import an image...) has authorized the action itself. If the queue is
     * unreachable, the operation is marked failed and the error (UpstreamUnavailableError) rethrown.
     */
    async start(p: Principal, input: StartOperationInput): Promise<Operation> {
      const firstStep = queue.firstStep(input.kind);
      if (firstStep === undefined) {
        throw new ValidationError(`Unknown operation kind '${input.kind}'.`, [{ field: '/kind', message: 'not a registered job kind' }]);
      }
      const record = newOperationRecord(
        {
          id: ids.next(),
          kind: input.kind,
          ...(input.tenant === undefined ? {} : { tenant: input.tenant }),
          target: input.target,
          createdBy: p.id,
          ...(input.ownerId === undefined ? {} : { ownerId: input.ownerId }),
          ...(input.parentId === undefined ? {} : { parentId: input.parentId }),
          input: input.input,
          firstStep,
          ...traceOf(),
          // Started by a step (a lab's student, a VM's identity): queued behind that step's operation.
          ...parentRankOf(),
        },
        clock.now(),
      );
      await recorder.create(record);
      try {
        await queue.enqueue(input.kind, { operationId: record.id, step: firstStep, generation: 0, rank: operationRank(record) });
      } catch (err) {
        const { problem, internal } = problemOf(err);
        if (internal) logger.error({ err, operationId: record.id }, 'enqueueing a new operation failed');
        await recorder
          .mutate(record.id, (op) => (isTerminal(op.status) ? undefined : fail(op, problem, clock.now())))
          .catch((e: unknown) => logger.warn({ err: e, operationId: record.id }, 'could not mark the operation failed'));
        throw err;
      }
      return toOperation(record);
    },

    async get(p: Principal, id: string): Promise<Operation> {
      return toOperation(await load(p, id));
    },

    /**
     * Operations `p` may see, newest first. With a tenant filter, an invisible tenant is a
     * NotFoundError('tenant'); without one, other tenants' operations are silently left out.
     */
    async list(p: Principal, filter: OperationFilter, page: PageRequest): Promise<Page<Operation>> {
      if (filter.tenant !== undefined) authorize(p, 'operation.read', { tenant: filter.tenant });
      const accept = p.platformAdmin ? undefined : (op: OperationRecord) => visible(p, op);
      const res = await store.list(filter, page, accept);
      const items = res.items.map(toOperation);
      return res.nextCursor === undefined ? { items } : { items, nextCursor: res.nextCursor };
    },

    /**
     * Delivers updates of one operation, or of every operation of a tenant, that `p` may see.
     * Authorizes first (an invisible operation or tenant is a NotFoundError); each update is
     * checked again, so a member of a tenant only hears about their own operations.
     */
    async watch(
      p: Principal,
      target: { readonly operationId: string } | { readonly tenant: string },
      listener: OperationListener,
    ): Promise<OperationSubscription> {
      if ('operationId' in target) await load(p, target.operationId);
      else authorize(p, 'operation.read', { tenant: target.tenant });
      return deps.events.subscribe(target, (op) => {
        if (visible(p, op)) listener(op);
      });
    },

    /**
     * Cancels a queued or running operation (see `JobQueue.cancel`); idempotent while it is being
     * canceled. A finished one is ConflictError `OPERATION_FINISHED`.
     */
    async cancel(p: Principal, id: string): Promise<Operation> {
      const op = await load(p, id);
      if (op.tenant !== undefined) {
        const scope = op.ownerId === undefined ? { tenant: op.tenant } : { tenant: op.tenant, ownerId: op.ownerId };
        authorize(p, 'operation.cancel', scope, { resource: 'operation', id });
      } else if (!p.platformAdmin && op.createdBy !== p.id) {
        throw new NotFoundError('operation', id);
      }
      if (isTerminal(op.status)) throw finished(op);
      const after = await queue.cancel(id);
      if (after === undefined) throw new NotFoundError('operation', id);
      if (isTerminal(after.status) && after.status !== 'canceled') throw finished(after);
      return toOperation(after);
    },
  };
}
