import { UnauthenticatedError, UpstreamUnavailableError } from '../shared/errors.js';
import type { TenantRepository } from '../tenants/tenant-repository.js';
import { makePrincipal, withTenantRoles, type Principal, type PrincipalInit } from './principal.js';

/**
 * Verifies a bearer token and says who it names. Implementations: dev tokens (embedded default)
 * and Azure AD JWTs. Throws UnauthenticatedError for anything it cannot vouch for; never returns
 * a principal for an expired, unsigned or foreign token.
 */
export interface TokenVerifier {
  verify(token: string): Promise<PrincipalInit>;
}

export interface PrincipalResolver {
  /** Verifies the token and adds the tenant roles granted through memberships (user or group). */
  resolve(token: string): Promise<Principal>;
}

export function createPrincipalResolver(deps: {
  verifiers: readonly TokenVerifier[];
  memberships: Pick<TenantRepository, 'membershipsOf'>;
}): PrincipalResolver {
  return {
    async resolve(token) {
      let init: PrincipalInit | undefined;
      let lastError: unknown;
      for (const v of deps.verifiers) {
        try {
          init = await v.verify(token);
          break;
        } catch (err) {
          lastError = err;
        }
      }
      if (init === undefined) {
        // A key endpoint that never answered is an outage (503), not a bad token.
        if (lastError instanceof UnauthenticatedError || lastError instanceof UpstreamUnavailableError) throw lastError;
        throw new UnauthenticatedError();
      }
      const base = makePrincipal(init);
      if (base.kind === 'service') return base;
      // Outside the loop: an outage of the membership store is a 503, not a 401.
      const granted = await deps.memberships.membershipsOf([base.id, ...base.groups]);
      return withTenantRoles(base, granted);
    },
  };
}
