import { ForbiddenError, NotFoundError } from '../shared/errors.js';
import type { NotFoundResource } from '../shared/error-codes.js';
import type { IntegrationRole, Principal, TenantRole } from './principal.js';

/**
 * Every action the API exposes. Routes and resolvers declare one of these; the table below is
 * the only place that says who may do it.
 */
export const PERMISSIONS = [
  'tenant.list',
  'tenant.create',
  'tenant.read',
  'tenant.update',
  'tenant.updateQuota',
  'tenant.delete',
  'member.read',
  'member.write',
  'operation.read',
  'operation.cancel',
  'image.read',
  'image.write',
  'platformImage.write',
  'vm.read',
  'vm.create',
  'vm.update',
  'vm.delete',
  'vm.power',
  'vm.migrate',
  'vm.console',
  'access.read',
  'access.write',
  'lab.read',
  'lab.write',
  'webhook.read',
  'webhook.write',
  'lti.manage',
  'ltiKeys.rotate',
  'node.read',
  'node.evacuate',
  'audit.read',
  'queue.admin',
] as const;

export type Permission = (typeof PERMISSIONS)[number];

/** Permissions that are not about one tenant: only platform admins hold them (but `tenant.list`). */
const PLATFORM_ONLY: ReadonlySet<Permission> = new Set<Permission>([
  'tenant.create',
  'tenant.delete',
  'tenant.updateQuota',
  'platformImage.write',
  'ltiKeys.rotate',
  'node.read',
  'node.evacuate',
  'queue.admin',
]);

const OWNER: ReadonlySet<Permission> = new Set<Permission>([
  'tenant.read',
  'tenant.update',
  'member.read',
  'member.write',
  'operation.read',
  'operation.cancel',
  'image.read',
  'image.write',
  'vm.read',
  'vm.create',
  'vm.update',
  'vm.delete',
  'vm.power',
  'vm.migrate',
  'vm.console',
  'access.read',
  'access.write',
  'lab.read',
  'lab.write',
  'webhook.read',
  'webhook.write',
  'lti.manage',
  'audit.read',
]);

/** Members act only on what they own (`ownerId`), except reading the tenant and the image catalog. */
const MEMBER: ReadonlySet<Permission> = new Set<Permission>([
  'tenant.read',
  'image.read',
  'operation.read',
  'vm.read',
  'vm.power',
  'vm.console',
  'access.read',
]);
const MEMBER_NEEDS_OWNERSHIP: ReadonlySet<Permission> = new Set<Permission>(['operation.read', 'vm.read', 'vm.power', 'vm.console', 'access.read']);

const INTEGRATION: Readonly<Record<IntegrationRole, ReadonlySet<Permission>>> = {
  read: new Set<Permission>(['tenant.read', 'image.read', 'vm.read', 'lab.read', 'operation.read', 'access.read']),
  'vms.manage': new Set<Permission>([
    'tenant.read',
    'image.read',
    'vm.read',
    'vm.create',
    'vm.update',
    'vm.delete',
    'vm.power',
    'operation.read',
    'operation.cancel',
    'access.read',
  ]),
  'labs.manage': new Set<Permission>([
    'tenant.read',
    'image.read',
    'vm.read',
    'lab.read',
    'lab.write',
    'operation.read',
    'operation.cancel',
    'access.read',
    'access.write',
    'webhook.read',
    'webhook.write',
  ]),
};

/** True for permissions only platform admins hold, whatever the tenant. */
export function isPlatformOnly(permission: Permission): boolean {
  return PLATFORM_ONLY.has(permission);
}

/** What an action is about. `tenant` is absent for platform-wide actions. */
export interface Scope {
  readonly tenant?: string;
  /** Owner (principal id) of the target, for actions members may take on their own things. */
  readonly ownerId?: string;
}

export type Decision =
  | { readonly effect: 'allow' }
  /** The tenant is invisible to the caller: answer as if it did not exist (404, no enumeration). */
  | { readonly effect: 'hide' }
  | { readonly effect: 'deny'; readonly reason: string };

/** True when the caller may know that `tenant` exists. */
export function canSeeTenant(p: Principal, tenant: string): boolean {
  return p.platformAdmin || p.tenantRoles.has(tenant) || p.integrationTenants.has(tenant);
}

export function tenantRoleOf(p: Principal, tenant: string): TenantRole | undefined {
  return p.tenantRoles.get(tenant);
}

/** Pure policy: may `p` perform `permission` on `scope`? */
export function decide(p: Principal, permission: Permission, scope: Scope = {}): Decision {
  if (p.platformAdmin) return { effect: 'allow' };
  if (permission === 'tenant.list') return { effect: 'allow' };
  if (scope.tenant === undefined) {
    if (permission === 'image.read' || permission === 'operation.read') {
      return { effect: 'allow' };
    }
    return { effect: 'deny', reason: `${permission} is reserved to platform administrators` };
  }
  if (!canSeeTenant(p, scope.tenant)) return { effect: 'hide' };
  if (PLATFORM_ONLY.has(permission)) {
    return { effect: 'deny', reason: `${permission} is reserved to platform administrators` };
  }
  const role = p.tenantRoles.get(scope.tenant);
  if (role === 'owner' && OWNER.has(permission)) return { effect: 'allow' };
  if (role === 'member' && MEMBER.has(permission)) {
    if (!MEMBER_NEEDS_OWNERSHIP.has(permission) || scope.ownerId === undefined || scope.ownerId === p.id) {
      return { effect: 'allow' };
    }
    // A member must not learn that a neighbour's VM exists.
    return { effect: 'hide' };
  }
  if (p.integrationTenants.has(scope.tenant)) {
    for (const r of p.integrationRoles) {
      if (INTEGRATION[r].has(permission)) return { effect: 'allow' };
    }
  }
  return { effect: 'deny', reason: `your role in tenant '${scope.tenant}' does not allow ${permission}` };
}

/**
 * Throws when the decision is not `allow`: `NotFoundError` for hidden targets (so callers cannot
 * enumerate other tenants), `ForbiddenError` otherwise. `hiddenAs` names what the 404 is about.
 */
export function authorize(
  p: Principal,
  permission: Permission,
  scope: Scope = {},
  hiddenAs: { resource: NotFoundResource; id: string } = { resource: 'tenant', id: scope.tenant ?? '' },
): void {
  const d = decide(p, permission, scope);
  if (d.effect === 'allow') return;
  if (d.effect === 'hide') throw new NotFoundError(hiddenAs.resource, hiddenAs.id);
  throw new ForbiddenError(d.reason, { details: { permission } });
}
