import type { JWTPayload } from 'jose';
import type { IntegrationRole, PrincipalInit } from '../../domain/auth/principal.js';
import type { Logger } from '../../domain/shared/logger.js';
import { UnauthenticatedError } from '../../domain/shared/errors.js';

/** How Azure AD app roles and groups make a person a platform administrator. */
export interface AzureAdRoleMapping {
  /** App role values (the `roles` claim), e.g. `LabPlane.Admin`. */
  readonly platformAdminRoles: readonly string[];
  /** Group object ids (the `groups` claim). */
  readonly platformAdminGroups: readonly string[];
}

/** Mapping tables, built once from the options (plain maps: no prototype lookups on claim values). */
export interface ClaimMapping {
  readonly adminRoles: ReadonlySet<string>;
  readonly adminGroups: ReadonlySet<string>;
  readonly integrationRoles: ReadonlyMap<string, IntegrationRole>;
  /** Application (client) id → tenants it may act in. */
  readonly bindings: ReadonlyMap<string, readonly string[]>;
}

const MAX_LIST = 500;
const MAX_TEXT = 256;

function text(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' && v.length <= MAX_TEXT ? v : undefined;
}

function strings(v: unknown): string[] {
  if (!Array.isArray(v)) return [];
  return v.slice(0, MAX_LIST).filter((s): s is string => typeof s === 'string' && s.length <= MAX_TEXT);
}

/**
 * An app-only (client-credentials) token: `idtyp: app` when the optional claim is configured,
 * otherwise no delegated scopes and the object id is the subject (service principal).
 */
export function isAppOnlyToken(payload: JWTPayload): boolean {
  if (payload['idtyp'] === 'app') return true;
  if (payload['idtyp'] === 'user') return false;
  return payload['scp'] === undefined && typeof payload['oid'] === 'string' && payload['oid'] === payload.sub;
}

function hasGroupsOverage(payload: JWTPayload): boolean {
  const names = payload['_claim_names'];
  const overage = typeof names === 'object' && names !== null && Object.hasOwn(names, 'groups');
  return overage || payload['hasgroups'] === true;
}

function appPrincipal(payload: JWTPayload, roles: readonly string[], mapping: ClaimMapping): PrincipalInit {
  const appId = text(payload['azp']) ?? text(payload['appid']);
  if (appId === undefined) throw new UnauthenticatedError('The token does not name its application.');
  const platformAdmin = roles.some((r) => mapping.adminRoles.has(r));
  const integrationRoles = [...new Set(roles.flatMap((r) => mapping.integrationRoles.get(r) ?? []))];
  const tenants = mapping.bindings.get(appId) ?? [];
  if (!platformAdmin && (integrationRoles.length === 0 || tenants.length === 0)) {
    throw new UnauthenticatedError('The application holds no role or tenant binding in this API.');
  }
  return {
    id: text(payload['oid']) ?? appId,
    name: appId,
    kind: 'service',
    platformAdmin,
    integrationRoles,
    integrationTenants: tenants,
    groups: [],
  };
}

function userPrincipal(payload: JWTPayload, roles: readonly string[], mapping: ClaimMapping, logger?: Logger): PrincipalInit {
  const oid = text(payload['oid']);
  if (oid === undefined) throw new UnauthenticatedError('The token has no object id.');
  let groups: string[] = [];
  if (hasGroupsOverage(payload)) {
    logger?.warn({ oid, tid: payload['tid'] }, 'token omits groups (overage); group-based roles and memberships are not applied for this request');
  } else {
    groups = strings(payload['groups']);
  }
  const platformAdmin = roles.some((r) => mapping.adminRoles.has(r)) || groups.some((g) => mapping.adminGroups.has(g.toLowerCase()));
  return {
    id: oid,
    name: text(payload['name']) ?? text(payload['preferred_username']) ?? oid,
    kind: 'user',
    platformAdmin,
    groups,
  };
}

/**
 * Turns the claims of an already verified Azure AD v2 access token into a principal. Users carry
 * no tenant roles (those come from memberships); integrations carry their mapped app roles and
 * the tenants their application id is bound to, and are refused when they hold neither.
 */
export function principalFromClaims(payload: JWTPayload, mapping: ClaimMapping, logger?: Logger): PrincipalInit {
  const roles = strings(payload['roles']);
  return isAppOnlyToken(payload) ? appPrincipal(payload, roles, mapping) : userPrincipal(payload, roles, mapping, logger);
}
