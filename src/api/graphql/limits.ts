import { GraphQLError, Kind, type ASTVisitor, type DocumentNode, type FieldNode, type ValidationContext, type ValidationRule } from 'graphql';
import { ForbiddenError } from '../../domain/shared/errors.js';

/** Limits on one GraphQL request; anything over them is refused before execution (400). */
export const GRAPHQL_LIMITS = {
  /** Nesting depth of selections. */
  depth: 8,
  /** Aliased fields in one document (aliases multiply work for the same cost). */
  aliases: 15,
  /** Estimated cost: 1 per field, times the `limit` argument (or 10 for lists without one) for fields below it. */
  cost: 20_000,
  /** Queries in one batched request. */
  batch: 5,
} as const;

const LIST_DEFAULT = 10;

function limitArg(node: FieldNode, variables: Record<string, unknown>): number | undefined {
  const arg = node.arguments?.find((a) => a.name.value === 'limit');
  if (arg === undefined) return undefined;
  if (arg.value.kind === Kind.INT) return Number(arg.value.value);
  if (arg.value.kind === Kind.VARIABLE) {
    const v = variables[arg.value.name.value];
    return typeof v === 'number' ? v : undefined;
  }
  return undefined;
}

/** Refuses documents with more aliases than `max`. */
export function aliasLimitRule(max: number): ValidationRule {
  return (ctx: ValidationContext): ASTVisitor => {
    let count = 0;
    return {
      Field(node) {
        if (node.alias !== undefined) {
          count += 1;
          if (count === max + 1) {
            ctx.reportError(
              new GraphQLError(`The query uses more than ${max} aliases.`, { nodes: node, extensions: { code: 'GRAPHQL_TOO_MANY_ALIASES' } }),
            );
          }
        }
      },
    };
  };
}

/**
 * Refuses documents whose estimated cost exceeds `max`. Fields whose type is a list (or that take
 * a `limit`) multiply the cost of everything selected below them.
 */
export function costLimitRule(max: number, variables: () => Record<string, unknown> = () => ({})): ValidationRule {
  return (ctx: ValidationContext): ASTVisitor => {
    const multipliers: number[] = [1];
    let total = 0;
    let reported = false;
    return {
      Field: {
        enter(node) {
          const parent = multipliers.at(-1) ?? 1;
          total += parent;
          const type = ctx.getType();
          const isList = type !== null && type !== undefined && /^\[|\[.*\]!?$/.test(String(type));
          const limit = limitArg(node, variables());
          const factor = limit ?? (isList ? LIST_DEFAULT : 1);
          multipliers.push(parent * Math.max(1, factor));
          if (!reported && total > max) {
            reported = true;
            ctx.reportError(
              new GraphQLError(`The query is too expensive (estimated cost over ${max}); ask for less or page.`, {
                nodes: node,
                extensions: { code: 'GRAPHQL_TOO_COSTLY' },
              }),
            );
          }
        },
        leave() {
          multipliers.pop();
        },
      },
    };
  };
}

/** True when the document asks for the schema (`__schema` or `__type`). */
export function asksForIntrospection(document: DocumentNode): boolean {
  let found = false;
  const visit = (selections: readonly { kind: string; name?: { value: string }; selectionSet?: { selections: readonly unknown[] } }[]): void => {
    for (const s of selections) {
      if (s.kind === Kind.FIELD && (s.name?.value === '__schema' || s.name?.value === '__type')) found = true;
      if (s.selectionSet !== undefined) visit(s.selectionSet.selections as never);
    }
  };
  for (const def of document.definitions) {
    if ('selectionSet' in def && def.selectionSet !== undefined) visit(def.selectionSet.selections as never);
  }
  return found;
}

export function introspectionRefused(): ForbiddenError {
  return new ForbiddenError('Schema introspection is for platform administrators (or dev mode); the REST contract is at /openapi.json.');
}
