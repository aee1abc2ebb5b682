import {
  accessRoleOf,
  assertGrantRequest,
  roleAssignmentName,
  roleDefinitionId,
  type AccessPort,
  type AccessRole,
  type RoleAssignment,
} from '../../../domain/identity/access.js';
import { ConflictError, UpstreamRejectedError, UpstreamUnavailableError } from '../../../domain/shared/errors.js';
import type { SimWorld } from './sim-world.js';

const lower = (s: string) => s.toLowerCase();
export const assignmentId = (scope: string, name: string) => `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}`;

/**
 * Role assignments with ARM's rules: the same (scope, role, principal) under another name is 409
 * `RoleAssignmentExists` (answered with the existing one, as the real adapter does), changing what a
 * name grants is 409 `RoleAssignmentUpdateNotPermitted`, and a subscription holds at most
 * `roleAssignmentLimit` assignments (400 `RoleAssignmentLimitExceeded`).
 */
export function createSimAccess(world: SimWorld): AccessPort {
  const onScope = (scope: string) => [...world.assignments.values()].filter((a) => lower(a.scope) === lower(scope));
  const matching = (scope: string, role: AccessRole, principalId: string) =>
    onScope(scope).filter((a) => a.role === role && lower(a.principalId) === lower(principalId));

  return {
    async grant(request) {
      assertGrantRequest(request);
      await world.request('writes');
      if (world.unknownPrincipals.has(lower(request.principalId))) {
        throw new UpstreamUnavailableError('AZURE_PRINCIPAL_NOT_FOUND', 'Azure AD does not know the principal yet (simulated).', {
          retryAfterSeconds: 30,
          details: { armCode: 'PrincipalNotFound', statusCode: 400 },
        });
      }
      const name = roleAssignmentName(request.scope, request.role, request.principalId);
      const definition = roleDefinitionId(world.subscriptionId, request.role);
      const same = world.assignments.get(lower(assignmentId(request.scope, name)));
      if (same !== undefined) {
        if (lower(same.roleDefinitionId) === lower(definition) && lower(same.principalId) === lower(request.principalId)) return same;
        throw new ConflictError('AZURE_CONFLICT', 'Azure refused the change because of a conflict: RoleAssignmentUpdateNotPermitted.', {
          details: { armCode: 'RoleAssignmentUpdateNotPermitted', statusCode: 409 },
        });
      }
      const [existing] = matching(request.scope, request.role, request.principalId);
      if (existing !== undefined) {
        await world.request('reads');
        return existing;
      }
      if (world.assignments.size >= world.roleAssignmentLimit) {
        throw new UpstreamRejectedError('AZURE_REJECTED', 'Azure rejected the request: RoleAssignmentLimitExceeded.', {
          details: { armCode: 'RoleAssignmentLimitExceeded', statusCode: 400 },
        });
      }
      const created: RoleAssignment = {
        id: assignmentId(request.scope, name),
        name,
        scope: request.scope,
        roleDefinitionId: definition,
        role: request.role,
        principalId: request.principalId,
        principalType: request.principalType,
      };
      world.assignments.set(lower(created.id), created);
      return created;
    },

    async list(scope) {
      await world.request('reads');
      return onScope(scope).sort((a, b) => a.name.localeCompare(b.name));
    },

    async revoke(request) {
      assertGrantRequest(request);
      await world.request('deletes');
      const id = lower(assignmentId(request.scope, roleAssignmentName(request.scope, request.role, request.principalId)));
      if (world.assignments.delete(id)) return;
      await world.request('reads');
      for (const other of matching(request.scope, request.role, request.principalId)) {
        await world.request('deletes');
        world.assignments.delete(lower(other.id));
      }
    },
  };
}

/** Stores an assignment as if someone else made it (any name), for tests and seeds. */
export function seedAssignment(
  world: SimWorld,
  a: { scope: string; name: string; role: AccessRole; principalId: string; principalType?: string },
): RoleAssignment {
  const definition = roleDefinitionId(world.subscriptionId, a.role);
  const stored: RoleAssignment = {
    id: assignmentId(a.scope, a.name),
    name: a.name,
    scope: a.scope,
    roleDefinitionId: definition,
    role: accessRoleOf(definition),
    principalId: a.principalId,
    ...(a.principalType === undefined ? {} : { principalType: a.principalType }),
  };
  world.assignments.set(lower(stored.id), stored);
  return stored;
}
