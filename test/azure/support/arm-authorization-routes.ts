import { armError, type ArmRequest, type ArmResponse, type ArmState, type AssignmentRecord } from './arm-state.js';

const MARKER = '/providers/microsoft.authorization/roleassignments';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const lower = (s: string) => s.toLowerCase();
/** True when `outer` is `inner` or one of its ancestors (path-segment-wise, case-insensitive). */
const covers = (outer: string, inner: string) => lower(inner) === lower(outer) || lower(inner).startsWith(`${lower(outer)}/`);

/**
 * `Microsoft.Authorization/roleAssignments` (API 2022-04-01) with ARM's rules: a name is a GUID; the
 * same (scope, role, principal) under any name answers 409 `RoleAssignmentExists`; changing what a
 * name grants answers 409 `RoleAssignmentUpdateNotPermitted`; at most `roleAssignmentLimit` per
 * subscription (400 `RoleAssignmentLimitExceeded`); DELETE answers 200 with the assignment, or 204
 * when there is none; list honours `$filter=atScope()` (at or above the scope) and otherwise answers
 * at, above and below.
 */
export function authorizationRoute(state: ArmState, req: ArmRequest): ArmResponse | undefined {
  const idx = lower(req.path).lastIndexOf(MARKER);
  if (idx < 0) return undefined;
  const scope = req.path.slice(0, idx);
  const tail = req.path.slice(idx + MARKER.length);

  if (tail === '' && req.method === 'GET') {
    const filter = req.query.get('$filter');
    const atScope = filter === 'atScope()';
    const value = [...state.assignments.values()]
      .filter((a) => covers(a.scope, scope) || (!atScope && covers(scope, a.scope)))
      .map((a) => state.assignmentJson(a));
    return { status: 200, body: { value } };
  }
  const name = tail.replace(/^\//, '');
  if (name === '' || name.includes('/')) return undefined;
  const key = lower(`${scope}|${name}`);
  const existing = state.assignments.get(key);

  if (req.method === 'GET') {
    return existing === undefined
      ? armError(404, 'RoleAssignmentNotFound', 'The role assignment was not found.')
      : { status: 200, body: state.assignmentJson(existing) };
  }
  if (req.method === 'DELETE') {
    if (existing === undefined) return { status: 204 };
    state.assignments.delete(key);
    return { status: 200, body: state.assignmentJson(existing) };
  }
  if (req.method !== 'PUT') return armError(405, 'MethodNotAllowed', 'The method is not allowed.');

  if (!GUID.test(name))
    return armError(400, 'InvalidRoleAssignmentId', `The role assignment ID '${name}' is not valid. The role assignment ID must be a GUID.`);
  const props = ((req.body ?? {}) as { properties?: Record<string, unknown> }).properties ?? {};
  const roleDefinitionId = typeof props['roleDefinitionId'] === 'string' ? props['roleDefinitionId'] : '';
  const principalId = typeof props['principalId'] === 'string' ? props['principalId'] : '';
  const principalType = typeof props['principalType'] === 'string' ? props['principalType'] : undefined;
  if (roleDefinitionId === '' || principalId === '') {
    return armError(400, 'InvalidRequestContent', 'roleDefinitionId and principalId are required.');
  }
  const sameGrant = (a: AssignmentRecord) =>
    lower(a.scope) === lower(scope) && lower(a.roleDefinitionId) === lower(roleDefinitionId) && lower(a.principalId) === lower(principalId);
  if (existing !== undefined && !sameGrant(existing)) {
    return armError(409, 'RoleAssignmentUpdateNotPermitted', 'Tenant ID, application ID, principal ID, and scope are not allowed to be updated.');
  }
  if ([...state.assignments.values()].some(sameGrant)) {
    return armError(409, 'RoleAssignmentExists', 'The role assignment already exists.');
  }
  if (state.assignments.size >= state.roleAssignmentLimit) {
    return armError(400, 'RoleAssignmentLimitExceeded', 'No more role assignments can be created (limit 5000 per subscription).');
  }
  const created: AssignmentRecord = { scope, name, roleDefinitionId, principalId, principalType };
  state.assignments.set(key, created);
  return { status: 201, body: state.assignmentJson(created) };
}
