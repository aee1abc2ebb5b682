import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Operation, OperationProblem, OperationStatus } from '../../domain/operations/operation.js';
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

/** Answers 202 with the operation and where to watch it (`Location`, `Operation-Location`). */
export function sendAccepted(reply: FastifyReply, op: Operation): FastifyReply {
  const url = `/v1/operations/${op.id}`;
  return reply.code(202).header('location', url).header('operation-location', url).send(operationDto(op));
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

export function operationHandlers(operations: OperationService) {
  return {
    async listOperations(req: FastifyRequest<{ Querystring: ListQuery }>) {
      const q = req.query;
      const page = await operations.list(principalOf(req), operationFilterOf(q), {
        limit: q.limit ?? DEFAULT_PAGE_LIMIT,
        ...(q.cursor === undefined ? {} : { cursor: q.cursor }),
      });
      return { items: page.items.map(operationDto), ...(page.nextCursor === undefined ? {} : { nextCursor: page.nextCursor }) };
    },
    async getOperation(req: FastifyRequest<{ Params: { operationId: string } }>) {
      return operationDto(await operations.get(principalOf(req), req.params.operationId));
    },
    async cancelOperation(req: FastifyRequest<{ Params: { operationId: string } }>, reply: FastifyReply) {
      return sendAccepted(reply, await operations.cancel(principalOf(req), req.params.operationId));
    },
  };
}
