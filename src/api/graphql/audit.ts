import type { FastifyReply } from 'fastify';
import { Kind, valueFromASTUntyped, type DocumentNode, type ExecutionResult } from 'graphql';
import type { AuditRecorder } from '../plugins/audit.js';
import type { GraphQLContext } from './context.js';

interface MutationCall {
  readonly field: string;
  readonly args: Record<string, unknown>;
}

const CALLS = Symbol('labplane.graphqlMutations');
type Ctx = GraphQLContext & { reply?: FastifyReply; [CALLS]?: MutationCall[] };

/** Top-level fields of the mutation in `document`, with their arguments resolved against `variables`. */
export function mutationCalls(document: DocumentNode, variables: Record<string, unknown> | undefined): MutationCall[] {
  const calls: MutationCall[] = [];
  for (const def of document.definitions) {
    if (def.kind !== Kind.OPERATION_DEFINITION || def.operation !== 'mutation') continue;
    for (const sel of def.selectionSet.selections) {
      if (sel.kind !== Kind.FIELD) continue;
      const args: Record<string, unknown> = {};
      for (const a of sel.arguments ?? []) args[a.name.value] = valueFromASTUntyped(a.value, variables ?? {});
      calls.push({ field: sel.name.value, args });
    }
  }
  return calls;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** Where a GraphQL mutation acts: the tenant argument, or the id of a tenant mutation. */
function tenantOf(c: MutationCall): string | undefined {
  const input = (c.args['input'] ?? {}) as Record<string, unknown>;
  return str(c.args['tenant']) ?? str(input['tenant']) ?? (c.field.endsWith('Tenant') ? (str(c.args['id']) ?? str(input['id'])) : undefined);
}

/** Remembers the mutation's calls on the context (preExecution). */
export function noteMutations(context: unknown, document: DocumentNode, variables: Record<string, unknown> | undefined): void {
  const calls = mutationCalls(document, variables);
  if (calls.length > 0) (context as Ctx)[CALLS] = calls;
}

/** One audit event per mutation field, with the status and code of its error if it failed (onResolution). */
export function auditMutations(recorder: AuditRecorder, execution: ExecutionResult, context: unknown): void {
  const ctx = context as Ctx;
  const calls = ctx[CALLS];
  const request = ctx.reply?.request;
  if (calls === undefined || request === undefined || ctx.principal === undefined) return;
  for (const c of calls) {
    const err = execution.errors?.find((e) => e.path?.[0] === c.field || e.path === undefined);
    const code = err?.extensions?.['code'];
    const status = err?.extensions?.['status'];
    const tenant = tenantOf(c);
    const id = str(c.args['id']) ?? str(c.args['principalId']) ?? str(c.args['name']);
    recorder.record(
      request,
      {
        action: `graphql.${c.field}`,
        ...(tenant === undefined ? {} : { tenant }),
        ...(id === undefined ? {} : { target: { type: c.field, id } }),
        result: { status: err === undefined ? 200 : typeof status === 'number' ? status : 500, ...(typeof code === 'string' ? { code } : {}) },
      },
      ctx.principal,
    );
  }
}
