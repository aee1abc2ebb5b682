import type { Principal } from '../../domain/auth/principal.js';
import { UnauthenticatedError } from '../../domain/shared/errors.js';

/** Per-request GraphQL context: the caller, or why there is none. */
export interface GraphQLContext {
  readonly principal: Principal | undefined;
  readonly authError: unknown;
}

export function requirePrincipal(ctx: GraphQLContext): Principal {
  if (ctx.principal !== undefined) return ctx.principal;
  throw ctx.authError ?? new UnauthenticatedError();
}
