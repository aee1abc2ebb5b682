import { decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import type { TokenVerifier, VerifiedToken } from '../../domain/auth/authenticator.js';
import { INTEGRATION_ROLES, type IntegrationRole } from '../../domain/auth/principal.js';
import type { Logger } from '../../domain/shared/logger.js';
import { isDomainError, UnauthenticatedError } from '../../domain/shared/errors.js';
import { principalFromClaims, type AzureAdRoleMapping, type ClaimMapping } from './azure-ad-claims.js';
import { createJwksCache, type JwksCacheStats } from './jwks-cache.js';

export type { AzureAdRoleMapping } from './azure-ad-claims.js';

/** Configuration of the Azure AD (Entra ID) v2 access-token verifier. */
export interface AzureAdVerifierOptions {
  /** Directory (tenant) ids whose tokens are accepted; issuer `{authority}/{tid}/v2.0` for each. */
  readonly allowedTenantIds: readonly string[];
  /** Accepted `aud` values: the API's client id and/or application id URI. */
  readonly audiences: readonly string[];
  /** Default `https://login.microsoftonline.com/common/discovery/v2.0/keys`. */
  readonly jwksUri?: string;
  /** Default `https://login.microsoftonline.com` (set it for sovereign clouds). */
  readonly authority?: string;
  /** Skew allowed on `exp` / `nbf`, in seconds. Default 60. */
  readonly clockToleranceSeconds?: number;
  /** Asymmetric JWS algorithms only. Default `['RS256']`; `none` and `HS*` are refused at construction. */
  readonly allowedAlgorithms?: readonly string[];
  readonly roleMapping: AzureAdRoleMapping;
  /** App role value → integration role, e.g. `{ 'LabPlane.Labs.Manage': 'labs.manage' }`. */
  readonly integrationRoleMapping?: Readonly<Record<string, IntegrationRole>>;
  /** Application (client) id of an integration (`azp` / `appid`) → tenants it may act in. */
  readonly integrationBindings?: Readonly<Record<string, readonly string[]>>;
  /** Minimum seconds between key-set refetches caused by unknown key ids. Default 300. */
  readonly jwksRefreshCooldownSeconds?: number;
  /** Seconds after which the key set is refreshed in the background. Default 3600. */
  readonly jwksMaxAgeSeconds?: number;
  /** Budget of one key-set fetch, in milliseconds. Default 5000. */
  readonly jwksTimeoutMs?: number;
  /**
   * Longest lifetime accepted (`exp - iat`), in seconds. Default 28 hours: Entra ID access tokens
   * live 60–90 minutes, continuous-access-evaluation ones up to 28 hours; a token valid for years
   * is not one Entra ID issued for this API.
   */
  readonly maxTokenLifetimeSeconds?: number;
  /** Longest token accepted, in characters. Default 32768. */
  readonly maxTokenLength?: number;
  readonly fetch?: typeof globalThis.fetch;
  /** Clock in epoch milliseconds (tests). Default `Date.now`. */
  readonly now?: () => number;
  readonly logger?: Logger;
}

/** The verifier, plus key-cache counters for metrics. */
export interface AzureAdVerifier extends TokenVerifier {
  jwksStats(): JwksCacheStats;
}

const ASYMMETRIC = new Set(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519']);
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const TENANT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function checkedAlgorithms(algs: readonly string[]): string[] {
  if (algs.length === 0) throw new TypeError('allowedAlgorithms must not be empty');
  for (const a of algs) {
    if (!ASYMMETRIC.has(a)) throw new TypeError(`algorithm '${a}' is not allowed for Azure AD tokens (asymmetric only)`);
  }
  return [...algs];
}

function buildMapping(options: AzureAdVerifierOptions): ClaimMapping {
  const integrationRoles = new Map<string, IntegrationRole>();
  for (const [appRole, role] of Object.entries(options.integrationRoleMapping ?? {})) {
    if (!INTEGRATION_ROLES.includes(role)) throw new TypeError(`unknown integration role '${String(role)}'`);
    integrationRoles.set(appRole, role);
  }
  return {
    adminRoles: new Set(options.roleMapping.platformAdminRoles),
    adminGroups: new Set(options.roleMapping.platformAdminGroups.map((g) => g.toLowerCase())),
    integrationRoles,
    bindings: new Map(Object.entries(options.integrationBindings ?? {}).map(([app, tenants]) => [app, [...tenants]])),
  };
}

/** A short, safe reason for a jose failure (no token content, no key material). */
function reasonFor(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return 'The token has expired.';
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    switch (err.claim) {
      case 'iss':
        return 'The token was not issued by an accepted tenant.';
      case 'aud':
        return 'The token is not meant for this API.';
      case 'nbf':
        return 'The token is not valid yet.';
      case 'iat':
        return err.reason === 'missing' ? "The token claim 'iat' is missing." : 'The token was issued in the future or too long ago.';
      default:
        return `The token claim '${err.claim.slice(0, 32)}' is not valid.`;
    }
  }
  if (err instanceof joseErrors.JOSEAlgNotAllowed || err instanceof joseErrors.JOSENotSupported) {
    return 'The token signing algorithm is not accepted.';
  }
  if (err instanceof joseErrors.JWKSNoMatchingKey) return 'The token was signed with an unknown key.';
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'The token signature is not valid.';
  return 'The token is not valid.';
}

/**
 * Verifies Azure AD (Entra ID) v2 access tokens: RS256 (or configured asymmetric) signature
 * through the issuer's JWKS (see `createJwksCache`), issuer and `tid` in the tenant allow-list and
 * consistent with each other, audience, `exp` / `nbf` with skew, `ver` 2.0. Users map to
 * principals by `oid`, integrations (app-only tokens) by their app roles and tenant bindings.
 * Every failure is an `UnauthenticatedError` with a short reason, except "no signing keys could
 * ever be loaded", which is `UpstreamUnavailableError` (503, retry later). Throws `TypeError` at
 * construction for unsafe configuration.
 */
export function createAzureAdVerifier(options: AzureAdVerifierOptions): AzureAdVerifier {
  const authority = (options.authority ?? 'https://login.microsoftonline.com').replace(/\/+$/, '');
  const tenants = options.allowedTenantIds.map((t) => t.toLowerCase());
  if (tenants.length === 0 || !tenants.every((t) => TENANT_ID.test(t))) {
    throw new TypeError('allowedTenantIds must be a non-empty list of directory (tenant) GUIDs');
  }
  if (options.audiences.length === 0) throw new TypeError('audiences must not be empty');
  const algorithms = checkedAlgorithms(options.allowedAlgorithms ?? ['RS256']);
  const issuers = tenants.map((t) => `${authority}/${t}/v2.0`);
  const mapping = buildMapping(options);
  const now = options.now ?? Date.now;
  const maxTokenLength = options.maxTokenLength ?? 32_768;
  const clockTolerance = options.clockToleranceSeconds ?? 60;
  const maxLifetime = options.maxTokenLifetimeSeconds ?? 28 * 3600;
  const jwks = createJwksCache({
    uri: options.jwksUri ?? `${authority}/common/discovery/v2.0/keys`,
    refreshCooldownMs: (options.jwksRefreshCooldownSeconds ?? 300) * 1000,
    maxAgeMs: (options.jwksMaxAgeSeconds ?? 3600) * 1000,
    timeoutMs: options.jwksTimeoutMs ?? 5000,
    now,
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });

  async function verifySignedClaims(token: string): Promise<JWTPayload> {
    const header = decodeProtectedHeader(token);
    if (typeof header.alg !== 'string' || !algorithms.includes(header.alg)) {
      throw new UnauthenticatedError('The token signing algorithm is not accepted.');
    }
    if (typeof header.kid !== 'string' || header.kid === '' || header.kid.length > 256) {
      throw new UnauthenticatedError('The token has no key id.');
    }
    const { payload } = await jwtVerify(token, jwks.getKey, {
      algorithms,
      issuer: issuers,
      audience: [...options.audiences],
      clockTolerance,
      currentDate: new Date(now()),
      requiredClaims: ['exp', 'iat', 'tid'],
      // Also refuses an `iat` later than now plus the skew (jose checks it whenever maxTokenAge is set).
      maxTokenAge: maxLifetime,
    });
    if (typeof payload.exp === 'number' && typeof payload.iat === 'number' && payload.exp - payload.iat > maxLifetime) {
      throw new UnauthenticatedError('The token is valid for longer than this API accepts.');
    }
    return payload;
  }

  function checkTenant(payload: JWTPayload): void {
    const tid = typeof payload['tid'] === 'string' ? payload['tid'].toLowerCase() : undefined;
    if (tid === undefined || !tenants.includes(tid)) throw new UnauthenticatedError('The token is from a tenant that is not accepted.');
    if (payload.iss !== `${authority}/${tid}/v2.0`) throw new UnauthenticatedError('The token issuer does not match its tenant.');
    if (payload['ver'] !== undefined && payload['ver'] !== '2.0') throw new UnauthenticatedError('Only v2.0 access tokens are accepted.');
  }

  return {
    async verify(token: string): Promise<VerifiedToken> {
      if (typeof token !== 'string' || token === '') throw new UnauthenticatedError('A bearer token is required.');
      if (token.length > maxTokenLength) throw new UnauthenticatedError('The token is too large.');
      if (!COMPACT_JWS.test(token)) throw new UnauthenticatedError('The token is not a signed JWT.');
      let payload: JWTPayload;
      try {
        payload = await verifySignedClaims(token);
      } catch (err) {
        if (isDomainError(err)) throw err;
        throw new UnauthenticatedError(reasonFor(err), { cause: err });
      }
      checkTenant(payload);
      const principal = principalFromClaims(payload, mapping, options.logger);
      return typeof payload.exp === 'number' ? { ...principal, expiresAt: payload.exp * 1000 } : principal;
    },
    jwksStats: () => jwks.stats(),
  };
}
