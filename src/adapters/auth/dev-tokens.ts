import { randomBytes } from 'node:crypto';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import type { TokenVerifier } from '../../domain/auth/authenticator.js';
import { INTEGRATION_ROLES, type IntegrationRole, type TenantRole } from '../../domain/auth/principal.js';
import { UnauthenticatedError } from '../../domain/shared/errors.js';

const ISSUER = 'labplane-dev';
const AUDIENCE = 'labplane';

/** What a developer asks a dev token to say. */
export interface DevTokenClaims {
  readonly sub: string;
  readonly name?: string;
  /** `platform-admin`, or integration app roles (`labs.manage`, `vms.manage`, `read`). */
  readonly roles?: readonly string[];
  /** Tenant id → role for people; the tenants an integration is bound to for integrations. */
  readonly tenants?: Readonly<Record<string, TenantRole>>;
  readonly groups?: readonly string[];
  readonly expiresInSeconds?: number;
}

export interface DevTokens extends TokenVerifier {
  issue(claims: DevTokenClaims): Promise<{ accessToken: string; expiresIn: number }>;
}

/**
 * HS256 tokens signed with a per-process secret (or DEV_TOKEN_SECRET), for the embedded default
 * only. A token with an integration role is a service principal bound to the listed tenants.
 */
export function createDevTokens(secret: string | undefined): DevTokens {
  const key = secret === undefined ? randomBytes(32) : new TextEncoder().encode(secret);
  return {
    async issue(claims) {
      const expiresIn = claims.expiresInSeconds ?? 8 * 3600;
      const accessToken = await new SignJWT({
        name: claims.name ?? claims.sub,
        roles: claims.roles ?? [],
        tenants: claims.tenants ?? {},
        groups: claims.groups ?? [],
      })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(claims.sub)
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt()
        .setExpirationTime(`${expiresIn}s`)
        .sign(key);
      return { accessToken, expiresIn };
    },
    async verify(token) {
      let payload;
      try {
        ({ payload } = await jwtVerify(token, key, { issuer: ISSUER, audience: AUDIENCE, algorithms: ['HS256'], clockTolerance: 30 }));
      } catch (err) {
        const reason = err instanceof joseErrors.JWTExpired ? 'The token has expired.' : 'The token is not valid.';
        throw new UnauthenticatedError(reason);
      }
      const sub = payload.sub;
      if (typeof sub !== 'string' || sub === '') throw new UnauthenticatedError('The token has no subject.');
      const roles = Array.isArray(payload['roles']) ? payload['roles'].filter((r): r is string => typeof r === 'string') : [];
      const tenantsClaim = payload['tenants'];
      const tenants: Array<[string, TenantRole]> =
        typeof tenantsClaim === 'object' && tenantsClaim !== null
          ? Object.entries(tenantsClaim).filter((e): e is [string, TenantRole] => e[1] === 'owner' || e[1] === 'member')
          : [];
      const integrationRoles = roles.filter((r): r is IntegrationRole => (INTEGRATION_ROLES as readonly string[]).includes(r));
      const isService = integrationRoles.length > 0;
      const groups = Array.isArray(payload['groups']) ? payload['groups'].filter((g): g is string => typeof g === 'string') : [];
      return {
        ...(typeof payload.exp === 'number' ? { expiresAt: payload.exp * 1000 } : {}),
        id: sub,
        name: typeof payload['name'] === 'string' ? payload['name'] : sub,
        kind: isService ? 'service' : 'user',
        platformAdmin: roles.includes('platform-admin'),
        tenantRoles: isService ? [] : tenants,
        integrationRoles,
        integrationTenants: isService ? tenants.map(([t]) => t) : [],
        groups,
      };
    },
  };
}
