import { hash } from 'node:crypto';
import { UnauthenticatedError, UpstreamUnavailableError } from '../shared/errors.js';
import type { TenantRepository } from '../tenants/tenant-repository.js';
import { makePrincipal, withTenantRoles, type Principal, type PrincipalInit } from './principal.js';

/**
 * Verifies a bearer token and says who it names. Implementations: dev tokens (embedded default)
 * and Azure AD JWTs. Throws UnauthenticatedError for anything it cannot vouch for; never returns
 * a principal for an expired, unsigned or foreign token.
 */
export interface TokenVerifier {
  verify(token: string): Promise<VerifiedToken>;
}

/** Who a token names, and until when (epoch ms) the token is valid, when the verifier knows it. */
export type VerifiedToken = PrincipalInit & { readonly expiresAt?: number };

export interface PrincipalResolver {
  /** Verifies the token and adds the tenant roles granted through memberships (user or group). */
  resolve(token: string): Promise<Principal>;
}

/**
 * Verified tokens are remembered (at most `cacheTtlMs`, never past their expiry, at most
 * `cacheSize` of them, the least recently used dropped first) so a busy client does not pay a
 * signature check per request. The cache is keyed by the token's SHA-256, never by the token, so
 * the process holds no bearer token past its request. Tenant roles from memberships are asked of
 * the repository unless it tells that none changed since the token's principal was made
 * (`membershipsVersion`; the Kubernetes one counts versions of its watch-backed caches), so a
 * change applies to the next request.
 */
export function createPrincipalResolver(deps: {
  verifiers: readonly TokenVerifier[];
  memberships: Pick<TenantRepository, 'membershipsOf' | 'membershipsVersion'>;
  cacheTtlMs?: number;
  cacheSize?: number;
  now?: () => number;
}): PrincipalResolver {
  const ttl = deps.cacheTtlMs ?? 60_000;
  const size = deps.cacheSize ?? 10_000;
  const now = deps.now ?? Date.now;
  /**
   * A verified token, and the principal last resolved from it with the membership version it was
   * resolved at (a service principal holds no membership: its version is `SERVICE`).
   */
  interface Verified {
    readonly init: VerifiedToken;
    readonly until: number;
    resolved?: { readonly principal: Principal; readonly version: number | typeof SERVICE };
  }
  const SERVICE = Symbol('no membership');
  const verified = new Map<string, Verified>();

  async function verify(token: string): Promise<Verified | { error: unknown }> {
    // One-shot hash: half of createHash().update().digest()'s cost for a token of 700 characters (0.9 µs against 1.8 µs).
    const key = hash('sha256', token, 'base64');
    const hit = verified.get(key);
    if (hit !== undefined) verified.delete(key);
    if (hit !== undefined && hit.until > now()) {
      verified.set(key, hit); // now the most recently used
      return hit;
    }
    let lastError: unknown;
    for (const v of deps.verifiers) {
      try {
        const init = await v.verify(token);
        const until = Math.min(now() + ttl, init.expiresAt ?? Number.POSITIVE_INFINITY);
        if (verified.size >= size) verified.delete(verified.keys().next().value as string);
        const entry: Verified = { init, until };
        verified.set(key, entry);
        return entry;
      } catch (err) {
        lastError = err;
      }
    }
    return { error: lastError };
  }

  return {
    async resolve(token) {
      const result = await verify(token);
      if ('error' in result) {
        // A key endpoint that never answered is an outage (503), not a bad token.
        if (result.error instanceof UnauthenticatedError || result.error instanceof UpstreamUnavailableError) throw result.error;
        throw new UnauthenticatedError();
      }
      // The principal made for this token before, while the memberships it was made from have not
      // changed since (the repository's version; none when it cannot tell): principals are never
      // modified, and a membership change gives a new version, so it applies to the next request.
      const version = deps.memberships.membershipsVersion?.();
      const last = result.resolved;
      if (last !== undefined && (last.version === SERVICE || (version !== undefined && last.version === version))) return last.principal;
      const { init } = result;
      const made = makePrincipal(init);
      const base = init.expiresAt === undefined ? made : { ...made, expiresAt: init.expiresAt };
      if (base.kind === 'service') {
        result.resolved = { principal: base, version: SERVICE };
        return base;
      }
      // Outside the loop: an outage of the membership store is a 503, not a 401.
      const granted = await deps.memberships.membershipsOf([base.id, ...base.groups]);
      const principal = withTenantRoles(base, granted);
      if (version !== undefined) result.resolved = { principal, version };
      return principal;
    },
  };
}
