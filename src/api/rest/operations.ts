import type { FastifyReply, FastifyRequest } from 'fastify';
import { isTerminal, type Operation, type OperationProblem, type OperationStatus } from '../../domain/operations/operation.js';
import type { OperationService } from '../../domain/operations/operation-service.js';
import type { OperationFilter } from '../../domain/operations/operation-store.js';
import { isErrorCode } from '../../domain/shared/error-codes.js';
import { ValidationError } from '../../domain/shared/errors.js';
import { DEFAULT_PAGE_LIMIT } from '../../domain/shared/page.js';
import type { components } from '../generated/openapi.js';
import { principalOf } from '../plugins/auth.js';
import { makeProblem, type Problem } from '../problem.js';

type OperationDto = components['schemas']['Operation'];

/**
 * The problem of a failed operation: its status is the catalogue's for the code. A code outside the
 * catalogue can only come from a record an older version wrote; it shows as 422 (the work could
 * not be carried out).
 */
function operationProblem(error: OperationProblem): Problem {
  const status = error.status ?? (isErrorCode(error.code) ? undefined : 422);
  return makeProblem(error.code, error.detail ?? error.title, status === undefined ? {} : { status });
}

export function operationDto(op: Operation): OperationDto {
  const error = op.error === undefined ? undefined : operationProblem(op.error);
  return {
    id: op.id,
    kind: op.kind,
    ...(op.tenant === undefined ? {} : { tenant: op.tenant }),
    target: { ...op.target },
    status: op.status,
    progress: { ...op.progress },
    attempts: op.attempts,
    createdAt: op.createdAt,
    updatedAt: op.updatedAt,
    ...(op.startedAt === undefined ? {} : { startedAt: op.startedAt }),
    ...(op.finishedAt === undefined ? {} : { finishedAt: op.finishedAt }),
    ...(op.result === undefined ? {} : { result: { ...op.result } }),
    ...(error === undefined ? {} : { error: { ...error, title: op.error?.title ?? error.title } }),
    createdBy: op.createdBy,
    ...(op.parentId === undefined ? {} : { parentId: op.parentId }),
    cancelRequested: op.cancelRequested,
    ...(op.traceId === undefined ? {} : { traceId: op.traceId }),
  };
}

/**
 * Seconds a client should wait before reading an unfinished operation again (`Retry-After`). Jobs
 * report progress every few seconds; imports of images, which copy gigabytes, more seldom.
 */
export const RETRY_AFTER_SECONDS = 2;
const RETRY_AFTER_BY_KIND: Readonly<Record<string, number>> = { 'image.import': 10 };

/** The `Retry-After` of an operation: none once it is final. */
export function retryAfterOf(op: Operation): number | undefined {
  return isTerminal(op.status) ? undefined : (RETRY_AFTER_BY_KIND[op.kind] ?? RETRY_AFTER_SECONDS);
}

/** `Retry-After` on every answer carrying an unfinished operation (202s and reads of one). */
export function withRetryAfter(reply: FastifyReply, op: Operation): FastifyReply {
  const seconds = retryAfterOf(op);
  return seconds === undefined ? reply : reply.header('retry-after', String(seconds));
}

/** 202 and where to watch the operation (`Location`, `Operation-Location`, `Retry-After`); the caller sends the body. */
export function accepted(reply: FastifyReply, op: Operation): FastifyReply {
  const url = `/v1/operations/${op.id}`;
  return withRetryAfter(reply.code(202).header('location', url).header('operation-location', url), op);
}

/** Answers 202 with the operation and where to watch it. */
export function sendAccepted(reply: FastifyReply, op: Operation): FastifyReply {
  return accepted(reply, op).send(operationDto(op));
}

interface ListQuery {
  limit?: number;
  cursor?: string;
  tenant?: string;
  kind?: string;
  status?: OperationStatus[];
  targetType?: string;
  targetId?: string;
  parentId?: string;
  topLevel?: boolean;
}

export function operationFilterOf(q: {
  tenant?: string;
  kind?: string;
  status?: readonly OperationStatus[];
  targetType?: string;
  targetId?: string;
  parentId?: string;
  topLevel?: boolean;
}): OperationFilter {
  if ((q.targetType === undefined) !== (q.targetId === undefined)) {
    throw new ValidationError('targetType and targetId go together.', [
      { field: q.targetType === undefined ? '/targetType' : '/targetId', in: 'query', message: 'required with the other' },
    ]);
  }
  return {
    ...(q.tenant === undefined ? {} : { tenant: q.tenant }),
    ...(q.kind === undefined ? {} : { kind: q.kind }),
    ...(q.status === undefined || q.status.length === 0 ? {} : { status: q.status }),
    ...(q.targetType === undefined || q.targetId === undefined ? {} : { target: { type: q.targetType, id: q.targetId } }),
    ...(q.parentId === undefined ? {} : { parentId: q.parentId }),
    ...(q.topLevel === true ? { topLevel: true } : {}),
  };
}

export function operationHandlers(operations: Pick<OperationService, 'list' | 'get' | 'cancel'>) {
  return {
    async listOperations(req: FastifyRequest<{ Querystring: ListQuery }>) {
      const q = req.query;
      const page = await operations.list(principalOf(req), operationFilterOf(q), {
        limit: q.limit ?? DEFAULT_PAGE_LIMIT,
        ...(q.cursor === undefined ? {} : { cursor: q.cursor }),
      });
      return { items: page.items.map(operationDto), ...(page.nextCursor === undefined ? {} : { nextCursor: page.nextCursor }) };
    },
    async getOperation(req: FastifyRequest<{ Params: { operationId: string } }>, reply: FastifyReply) {
      const op = await operations.get(principalOf(req), req.params.operationId);
      return withRetryAfter(reply, op).send(operationDto(op));
    },
    async cancelOperation(req: FastifyRequest<{ Params: { operationId: string } }>, reply: FastifyReply) {
      return sendAccepted(reply, await operations.cancel(principalOf(req), req.params.operationId));
    },
  };
}
