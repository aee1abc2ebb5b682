import { authorize } from '../auth/policy.js';
import type { Principal } from '../auth/principal.js';
import type { AccessPort, AccessPrincipalType, AccessRole, RoleAssignment } from '../identity/access.js';
import { ACCESS_ROLES, assertGrantRequest } from '../identity/access.js';
import { arcMachineName, arcResourceId } from '../identity/arc-machine.js';
import { ConflictError, NotFoundError } from '../shared/errors.js';
import type { Precondition } from '../shared/precondition.js';
import type { TenantRepository } from '../tenants/tenant-repository.js';
import type { VmRecord } from './vm.js';
import type { VmRepository } from './vm-repository.js';

/** One access grant on a VM: a principal holding one access role on its Arc machine. */
export interface VmAccessGrant {
  readonly principalId: string;
  readonly role: AccessRole;
  /** As ARM reports it; absent on assignments made elsewhere without a type. */
  readonly principalType?: string;
}

/** Where the Arc machines live (the role assignment scope is built from it). */
export interface ArcScopeSettings {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
}

export interface VmAccessDeps {
  readonly repo: Pick<VmRepository, 'get'>;
  readonly tenants: Pick<TenantRepository, 'get'>;
  readonly access: AccessPort;
  readonly settings: ArcScopeSettings;
}

export type VmAccessService = ReturnType<typeof createVmAccessService>;

/** The access grants among `assignments` (of one principal when given; other Azure roles left out), sorted by principal and role. */
function grantsOf(assignments: readonly RoleAssignment[], principalId?: string): VmAccessGrant[] {
  const grants: VmAccessGrant[] = [];
  for (const a of assignments) {
    if (a.role === undefined || (principalId !== undefined && a.principalId !== principalId)) continue;
    grants.push({ principalId: a.principalId, role: a.role, ...(a.principalType === undefined ? {} : { principalType: a.principalType }) });
  }
  return grants.sort((x, y) => x.principalId.localeCompare(y.principalId) || x.role.localeCompare(y.role));
}

/**
 * Who may log in to a VM over Azure AD SSH: role assignments on the VM's Arc machine. Reading needs
 * `access.read` (members: on their own VMs), granting and revoking `access.write` (tenant owners).
 * Another tenant's VM (or, for members, another's VM) is 404; a VM without Arc is 409 `ARC_NOT_ENABLED`.
 */
export function createVmAccessService(deps: VmAccessDeps) {
  const { repo, tenants, access, settings } = deps;

  async function load(
    p: Principal,
    tenant: string,
    name: string,
    permission: 'access.read' | 'access.write',
  ): Promise<{ vm: VmRecord; scope: string }> {
    authorize(p, 'vm.read', { tenant });
    const vm = await repo.get(tenant, name);
    if (vm === undefined) {
      if ((await tenants.get(tenant)) === undefined) throw new NotFoundError('tenant', tenant);
      throw new NotFoundError('vm', name);
    }
    authorize(p, 'vm.read', { tenant, ownerId: vm.ownerId }, { resource: 'vm', id: name });
    authorize(p, permission, { tenant, ownerId: vm.ownerId }, { resource: 'vm', id: name });
    if (!vm.arc) {
      throw new ConflictError('ARC_NOT_ENABLED', `VM '${name}' was created without Azure Arc: it has no Azure identity to grant access on.`);
    }
    return { vm, scope: scopeOf(settings, tenant, name) };
  }

  return {
    /** The access grants on the VM (assignments of other Azure roles are left out), sorted by principal and role. */
    async list(p: Principal, tenant: string, name: string): Promise<readonly VmAccessGrant[]> {
      const { scope } = await load(p, tenant, name, 'access.read');
      return grantsOf(await access.list(scope));
    },

    /** The grants of one principal on the VM (one per access role it holds); 404 when it holds none. */
    async get(p: Principal, tenant: string, name: string, principalId: string): Promise<readonly VmAccessGrant[]> {
      const { scope } = await load(p, tenant, name, 'access.read');
      const grants = grantsOf(await access.list(scope), principalId);
      if (grants.length === 0) throw new NotFoundError('access_grant', principalId);
      return grants;
    },

    /** Grants `role` to the principal (idempotent: a repeated grant answers the same assignment). */
    async grant(
      p: Principal,
      tenant: string,
      name: string,
      principalId: string,
      role: AccessRole,
      principalType: AccessPrincipalType,
      precondition?: Precondition<readonly VmAccessGrant[]>,
    ): Promise<VmAccessGrant> {
      const { scope } = await load(p, tenant, name, 'access.write');
      if (precondition !== undefined) precondition(grantsOf(await access.list(scope), principalId));
      const request = { scope, role, principalId, principalType };
      assertGrantRequest(request);
      const a = await access.grant(request);
      return { principalId: a.principalId, role, principalType: a.principalType ?? principalType };
    },

    /** Revokes every access role of the principal on the VM (idempotent). */
    async revoke(
      p: Principal,
      tenant: string,
      name: string,
      principalId: string,
      precondition?: Precondition<readonly VmAccessGrant[]>,
    ): Promise<void> {
      const { scope } = await load(p, tenant, name, 'access.write');
      if (precondition !== undefined) precondition(grantsOf(await access.list(scope), principalId));
      assertGrantRequest({ scope, role: 'user', principalId });
      for (const role of ACCESS_ROLES) await access.revoke({ scope, role, principalId });
    },
  };
}

/** The role assignment scope of a VM: its Arc machine's resource id. */
export function scopeOf(settings: ArcScopeSettings, tenant: string, vmName: string): string {
  return arcResourceId(settings.subscriptionId, settings.resourceGroup, arcMachineName(tenant, vmName));
}
