import type { OperationStatus } from '../../domain/operations/operation.js';
import type { OperationService } from '../../domain/operations/operation-service.js';
import { ValidationError } from '../../domain/shared/errors.js';
import { MAX_PAGE_LIMIT } from '../../domain/shared/page.js';
import { operationFilterOf } from '../rest/operations.js';
import { pushToAsyncIterator } from './event-iterator.js';
import { requirePrincipal, type GraphQLContext } from './context.js';
import { operationGraphQL as dtoForGraphQL } from './operation-dto.js';

export const operationTypeDefs = /* GraphQL */ `
  enum OperationStatus {
    queued
    running
    succeeded
    failed
    canceled
  }

  type OperationTarget {
    type: String!
    id: ID!
    name: String
  }
  type OperationProgress {
    percent: Float!
    step: String
  }
  type OperationError {
    code: String!
    title: String!
    status: Int!
    detail: String
  }

  "A long-running piece of work (image import, VM provisioning, Arc onboarding, tenant deletion...)."
  type Operation {
    id: ID!
    kind: String!
    tenant: ID
    target: OperationTarget!
    status: OperationStatus!
    progress: OperationProgress!
    attempts: Int!
    createdAt: String!
    updatedAt: String!
    startedAt: String
    finishedAt: String
    "JSON object, kind-specific."
    result: String
    error: OperationError
    createdBy: String!
    parentId: ID
    cancelRequested: Boolean!
    "W3C trace id of the request that started it, while tracing is on: its steps, Kubernetes requests and ARM calls are in that trace."
    traceId: String
  }

  type OperationConnection {
    items: [Operation!]!
    nextCursor: String
  }

  extend type Query {
    operation(id: ID!): Operation!
    "Operations the caller may see, newest first; parentId lists one operation's children, topLevel hides every child."
    operations(
      tenant: ID
      kind: String
      status: [OperationStatus!]
      targetType: String
      targetId: ID
      parentId: ID
      topLevel: Boolean
      limit: Int = 50
      cursor: String
    ): OperationConnection!
  }

  extend type Mutation {
    cancelOperation(id: ID!): Operation!
  }

  extend type Subscription {
    "Every change of one operation, until it finishes (then the subscription stays open but quiet)."
    operationUpdated(id: ID!): Operation!
    "Every change of the tenant's operations that you may see."
    operationsUpdated(tenant: ID!): Operation!
  }
`;

interface ListArgs {
  tenant?: string | null;
  kind?: string | null;
  status?: OperationStatus[] | null;
  targetType?: string | null;
  targetId?: string | null;
  parentId?: string | null;
  topLevel?: boolean | null;
  limit: number;
  cursor?: string | null;
}

export function operationResolvers(operations: OperationService) {
  return {
    Query: {
      operation: async (_: unknown, args: { id: string }, ctx: GraphQLContext) => dtoForGraphQL(await operations.get(requirePrincipal(ctx), args.id)),
      operations: async (_: unknown, a: ListArgs, ctx: GraphQLContext) => {
        if (!Number.isInteger(a.limit) || a.limit < 1 || a.limit > MAX_PAGE_LIMIT) {
          throw new ValidationError('limit is out of range.', [{ field: '/limit', message: `must be 1-${MAX_PAGE_LIMIT}` }]);
        }
        const filter = operationFilterOf({
          ...(a.tenant == null ? {} : { tenant: a.tenant }),
          ...(a.kind == null ? {} : { kind: a.kind }),
          ...(a.status == null ? {} : { status: a.status }),
          ...(a.targetType == null ? {} : { targetType: a.targetType }),
          ...(a.targetId == null ? {} : { targetId: a.targetId }),
          ...(a.parentId == null ? {} : { parentId: a.parentId }),
          ...(a.topLevel == null ? {} : { topLevel: a.topLevel }),
        });
        const page = await operations.list(requirePrincipal(ctx), filter, { limit: a.limit, ...(a.cursor == null ? {} : { cursor: a.cursor }) });
        return { items: page.items.map(dtoForGraphQL), nextCursor: page.nextCursor ?? null };
      },
    },
    Mutation: {
      cancelOperation: async (_: unknown, args: { id: string }, ctx: GraphQLContext) =>
        dtoForGraphQL(await operations.cancel(requirePrincipal(ctx), args.id)),
    },
    Subscription: {
      operationUpdated: {
        subscribe: (_: unknown, args: { id: string }, ctx: GraphQLContext) =>
          pushToAsyncIterator((push) =>
            operations.watch(requirePrincipal(ctx), { operationId: args.id }, (op) => push({ operationUpdated: dtoForGraphQL(op) })),
          ),
      },
      operationsUpdated: {
        subscribe: (_: unknown, args: { tenant: string }, ctx: GraphQLContext) =>
          pushToAsyncIterator((push) =>
            operations.watch(requirePrincipal(ctx), { tenant: args.tenant }, (op) => push({ operationsUpdated: dtoForGraphQL(op) })),
          ),
      },
    },
  };
}
