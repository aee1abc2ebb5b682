import { ValidationError } from '../shared/errors.js';
import { uuidV5 } from '../shared/ids.js';

/** What a principal may do on a VM: `administrator` logs in with sudo, `user` without. */
export type AccessRole = 'administrator' | 'user';

export const ACCESS_ROLES: readonly AccessRole[] = ['administrator', 'user'];

/** Kinds of Azure AD principals a role assignment names. Always sent to ARM (avoids replication races). */
export type AccessPrincipalType = 'User' | 'Group' | 'ServicePrincipal';

/** Built-in role definition GUIDs behind each access role. */
export const ROLE_DEFINITION_GUIDS: Readonly<Record<AccessRole, string>> = {
  /** Virtual Machine Administrator Login. */
  administrator: '1c0163c0-47e6-4577-8991-ea5c82e286e4',
  /** Virtual Machine User Login. */
  user: 'fb879df8-f326-4884-b1cf-06f3ad86be52',
};

/** Full role definition id: `/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{guid}`. */
export function roleDefinitionId(subscriptionId: string, role: AccessRole): string {
  return `/subscriptions/${subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${ROLE_DEFINITION_GUIDS[role]}`;
}

/** The access role of a role definition id (full id or bare GUID), or undefined for any other role. */
export function accessRoleOf(roleDefinition: string): AccessRole | undefined {
  const guid = (roleDefinition.split('/').at(-1) ?? '').toLowerCase();
  return ACCESS_ROLES.find((r) => ROLE_DEFINITION_GUIDS[r] === guid);
}

/**
 * Deterministic role assignment name: `uuidV5(scope + '|' + roleDefinitionGuid + '|' + principalId)`,
 * so that a retried grant converges on the same assignment instead of creating another.
 */
export function roleAssignmentName(scope: string, role: AccessRole, principalId: string): string {
  return uuidV5(`${scope}|${ROLE_DEFINITION_GUIDS[role]}|${principalId}`);
}

/** A role assignment on a scope, as ARM stores it. */
export interface RoleAssignment {
  /** Full ARM id: `{scope}/providers/Microsoft.Authorization/roleAssignments/{name}`. */
  readonly id: string;
  /** GUID; {@link roleAssignmentName} for assignments made by this platform, anything for others. */
  readonly name: string;
  readonly scope: string;
  /** Full role definition id. */
  readonly roleDefinitionId: string;
  /** The access role it grants, or undefined when it is some other Azure role. */
  readonly role: AccessRole | undefined;
  readonly principalId: string;
  /** Absent only on assignments made elsewhere without a type. */
  readonly principalType?: AccessPrincipalType | string;
}

export interface GrantRequest {
  /** ARM scope, e.g. an Arc machine resource id. */
  readonly scope: string;
  readonly role: AccessRole;
  /** Azure AD object id of the user, group or service principal. */
  readonly principalId: string;
  readonly principalType: AccessPrincipalType;
}

export interface RevokeRequest {
  readonly scope: string;
  readonly role: AccessRole;
  readonly principalId: string;
}

/**
 * Azure RBAC role assignments on ARM scopes (here: Arc machines).
 *
 * Invariants every implementation keeps (the contract suite checks them):
 * - {@link grant} is idempotent: it creates the assignment under {@link roleAssignmentName}; when the
 *   same (scope, role, principal) already exists, under that name or another (ARM's 409
 *   `RoleAssignmentExists`), it answers the existing assignment. `principalType` is always sent;
 * - {@link revoke} is idempotent: revoking what does not exist succeeds. It removes the assignment of
 *   (scope, role, principal) whatever its name;
 * - {@link list} answers the assignments made directly on the scope (not inherited ones);
 * - a principal the directory does not know yet (replication delay) surfaces as
 *   UpstreamUnavailableError `AZURE_PRINCIPAL_NOT_FOUND` (retry later); the subscription's cap of
 *   role assignments as UpstreamRejectedError.
 */
export interface AccessPort {
  grant(request: GrantRequest): Promise<RoleAssignment>;
  /** Assignments made directly on `scope`, sorted by name. */
  list(scope: string): Promise<readonly RoleAssignment[]>;
  revoke(request: RevokeRequest): Promise<void>;
}

/** Throws ValidationError when the request is malformed (empty ids, a scope not starting with `/`). */
export function assertGrantRequest(request: GrantRequest | RevokeRequest): void {
  const issues = [];
  if (!request.scope.startsWith('/subscriptions/')) issues.push({ field: '/scope', message: 'must be an ARM scope starting with /subscriptions/' });
  if (!ACCESS_ROLES.includes(request.role)) issues.push({ field: '/role', message: 'must be administrator or user' });
  if (request.principalId.trim() === '' || /[\s/|]/.test(request.principalId)) {
    issues.push({ field: '/principalId', message: 'must be an Azure AD object id' });
  }
  if ('principalType' in request && !['User', 'Group', 'ServicePrincipal'].includes(request.principalType)) {
    issues.push({ field: '/principalType', message: 'must be User, Group or ServicePrincipal' });
  }
  if (issues.length > 0) throw new ValidationError('The access request is not valid.', issues);
}
