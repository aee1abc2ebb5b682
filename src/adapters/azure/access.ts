import { AuthorizationManagementClient, type RoleAssignment as ArmRoleAssignment } from '@azure/arm-authorization';
import type { TokenCredential } from '@azure/identity';
import {
  accessRoleOf,
  assertGrantRequest,
  roleAssignmentName,
  roleDefinitionId,
  type AccessPort,
  type AccessRole,
  type RoleAssignment,
} from '../../domain/identity/access.js';
import { ConflictError, NotFoundError, UpstreamUnavailableError } from '../../domain/shared/errors.js';
import type { ArmBudget } from './arm-budget.js';
import { translateArmError, type ArmCallContext } from './arm-errors.js';
import { silentAzureLogger, type AzureLogger } from './logger.js';
import { armClientOptions, assertAzureArmSettings, type AzureArmSettings } from './settings.js';

export interface ArmAccessDeps {
  /** The control plane's own ARM credential (needs `Microsoft.Authorization/roleAssignments/*` on the scopes). */
  readonly credential: TokenCredential;
  readonly settings: AzureArmSettings;
  /** The budget of the principal behind `credential`, shared with every other client using it. */
  readonly budget: ArmBudget;
  readonly logger?: AzureLogger;
}

const sameId = (a: string | undefined, b: string) => (a ?? '').toLowerCase() === b.toLowerCase();

/** Role assignments over `@azure/arm-authorization` (API 2022-04-01). */
export function createArmAccess(deps: ArmAccessDeps): AccessPort {
  const { settings } = deps;
  assertAzureArmSettings(settings);
  const logger = deps.logger ?? silentAzureLogger;
  const client = new AuthorizationManagementClient(deps.credential, settings.subscriptionId, armClientOptions(settings, deps.budget, logger));
  // The generated path is `/{scope}/providers/...` with the scope unencoded: pass it without its leading slash.
  const scopeArg = (scope: string) => scope.replace(/^\/+/, '');

  const toAssignment = (a: ArmRoleAssignment, scope: string): RoleAssignment => {
    const name = a.name ?? '';
    return {
      id: a.id ?? `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}`,
      name,
      scope: a.scope ?? scope,
      roleDefinitionId: a.roleDefinitionId ?? '',
      role: accessRoleOf(a.roleDefinitionId ?? ''),
      principalId: a.principalId ?? '',
      ...(a.principalType === undefined ? {} : { principalType: a.principalType }),
    };
  };

  const call = async <T>(ctx: ArmCallContext, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw translateArmError(err, ctx);
    }
  };

  const list = (scope: string) =>
    call({ what: `list role assignments on ${scope}` }, async () => {
      const out: RoleAssignment[] = [];
      for await (const a of client.roleAssignments.listForScope(scopeArg(scope), { filter: 'atScope()' })) {
        if (sameId(a.scope, scope)) out.push(toAssignment(a, scope));
      }
      return out.sort((x, y) => x.name.localeCompare(y.name));
    });

  /** Assignments of (scope, role, principal) whatever their name; roles compare by definition GUID. */
  const matching = async (scope: string, role: AccessRole, principalId: string) =>
    (await list(scope)).filter((a) => a.role === role && sameId(a.principalId, principalId));

  return {
    async grant(request) {
      assertGrantRequest(request);
      const name = roleAssignmentName(request.scope, request.role, request.principalId);
      const definition = roleDefinitionId(settings.subscriptionId, request.role);
      const ctx = { what: `grant ${request.role} on ${request.scope} to ${request.principalId}`, resource: 'role_assignment', name };
      try {
        const created = await call(ctx, () =>
          client.roleAssignments.create(scopeArg(request.scope), name, {
            roleDefinitionId: definition,
            principalId: request.principalId,
            principalType: request.principalType,
          }),
        );
        logger.info({ scope: request.scope, role: request.role, principalId: request.principalId, name }, 'role assignment created');
        return toAssignment(created, request.scope);
      } catch (err) {
        if (!(err instanceof ConflictError && err.code === 'AZURE_ROLE_ASSIGNMENT_EXISTS')) throw err;
        const [existing] = await matching(request.scope, request.role, request.principalId);
        if (existing === undefined) {
          // ARM says it exists but does not list it yet (replication lag): worth another try shortly.
          throw new UpstreamUnavailableError(
            'AZURE_ROLE_ASSIGNMENT_NOT_VISIBLE',
            'The role assignment exists but is not visible yet; try again shortly.',
            {
              cause: err,
              retryAfterSeconds: 5,
            },
          );
        }
        logger.info(
          { scope: request.scope, role: request.role, principalId: request.principalId, name: existing.name },
          'role assignment already exists',
        );
        return existing;
      }
    },

    list,

    async revoke(request) {
      assertGrantRequest(request);
      const name = roleAssignmentName(request.scope, request.role, request.principalId);
      const ctx = { what: `revoke ${request.role} on ${request.scope} from ${request.principalId}`, resource: 'role_assignment', name };
      const remove = async (assignmentName: string): Promise<boolean> => {
        let status = 0;
        try {
          await call(ctx, () =>
            client.roleAssignments.delete(scopeArg(request.scope), assignmentName, { onResponse: (raw) => void (status = raw.status) }),
          );
        } catch (err) {
          if (err instanceof NotFoundError) return false;
          throw err;
        }
        return status === 200;
      };
      if (await remove(name)) {
        logger.info({ scope: request.scope, role: request.role, principalId: request.principalId, name }, 'role assignment deleted');
        return;
      }
      // Not under our name (204/404): an assignment made elsewhere under another name may still grant it.
      for (const other of await matching(request.scope, request.role, request.principalId)) {
        await remove(other.name);
        logger.info({ scope: request.scope, role: request.role, principalId: request.principalId, name: other.name }, 'role assignment deleted');
      }
    },
  };
}
