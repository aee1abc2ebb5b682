/** Role of a principal inside one tenant. Owners manage the tenant; members use their own VMs. */
export type TenantRole = 'owner' | 'member';

export const TENANT_ROLES: readonly TenantRole[] = ['owner', 'member'];

/**
 * App roles an integration (LMS server, automation script) can hold. Each grants a fixed set of
 * permissions, and only in the tenants the integration is bound to.
 */
export type IntegrationRole = 'labs.manage' | 'vms.manage' | 'read';

export const INTEGRATION_ROLES: readonly IntegrationRole[] = ['labs.manage', 'vms.manage', 'read'];

/**
 * Who is calling, as the domain sees it: already authenticated, independent of the token format.
 * `id` is the stable subject (Azure AD object id, or the dev token's `sub`).
 */
export interface Principal {
  readonly id: string;
  readonly name: string;
  readonly kind: 'user' | 'service';
  readonly platformAdmin: boolean;
  /** Tenant id → role, from the token and from tenant memberships. */
  readonly tenantRoles: ReadonlyMap<string, TenantRole>;
  /** App roles of an integration; empty for people. */
  readonly integrationRoles: ReadonlySet<IntegrationRole>;
  /** Tenants an integration is bound to; empty for people. */
  readonly integrationTenants: ReadonlySet<string>;
  /** Azure AD group object ids, used to resolve memberships granted to groups. */
  readonly groups: readonly string[];
  /** When the caller acts for someone else (an LMS acting for an instructor), who that is. */
  readonly onBehalfOf?: string;
  /** Until when (epoch ms) the credential that named this caller is valid, when its verifier says. */
  readonly expiresAt?: number;
}

export interface PrincipalInit {
  id: string;
  name?: string;
  kind?: 'user' | 'service';
  platformAdmin?: boolean;
  tenantRoles?: Iterable<readonly [string, TenantRole]>;
  integrationRoles?: Iterable<IntegrationRole>;
  integrationTenants?: Iterable<string>;
  groups?: readonly string[];
}

export function makePrincipal(init: PrincipalInit): Principal {
  return {
    id: init.id,
    name: init.name ?? init.id,
    kind: init.kind ?? 'user',
    platformAdmin: init.platformAdmin ?? false,
    tenantRoles: new Map(init.tenantRoles ?? []),
    integrationRoles: new Set(init.integrationRoles ?? []),
    integrationTenants: new Set(init.integrationTenants ?? []),
    groups: init.groups ?? [],
  };
}

/** A copy of `p` whose tenant roles also hold `extra`; the stronger role wins. */
export function withTenantRoles(p: Principal, extra: Iterable<readonly [string, TenantRole]>): Principal {
  const roles = new Map(p.tenantRoles);
  for (const [tenant, role] of extra) {
    if (roles.get(tenant) !== 'owner') roles.set(tenant, role);
  }
  return { ...p, tenantRoles: roles };
}
