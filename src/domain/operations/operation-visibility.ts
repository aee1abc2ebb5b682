import { decide, type Permission } from '../auth/policy.js';
import type { Principal } from '../auth/principal.js';
import type { Operation } from './operation.js';

/**
 * What reading an operation's target needs, by target type. An operation tells what happened to
 * its target (a lab's roster diff, a student's VM name), so it is visible exactly to those who may
 * read the target itself. A target type missing here is visible to platform admins only: a new
 * kind of operation must say who may read it.
 */
const READ_OF_TARGET: Readonly<Record<string, Permission>> = {
  tenant: 'tenant.read',
  image: 'image.read',
  vm: 'vm.read',
  lab: 'lab.read',
  'lab-student': 'lab.read',
  node: 'node.read',
  webhook: 'webhook.read',
};

/**
 * Whether `p` may read `op`: tenantless operations are for platform admins and their creator;
 * tenant operations need `operation.read` and the read permission of their target, both in the
 * operation's tenant and for its owner (members read only what they own).
 */
export function mayReadOperation(p: Principal, op: Pick<Operation, 'tenant' | 'ownerId' | 'createdBy' | 'target'>): boolean {
  if (p.platformAdmin) return true;
  if (op.tenant === undefined) return op.createdBy === p.id;
  const targetRead = READ_OF_TARGET[op.target.type];
  if (targetRead === undefined) return false;
  const scope = op.ownerId === undefined ? { tenant: op.tenant } : { tenant: op.tenant, ownerId: op.ownerId };
  return decide(p, 'operation.read', scope).effect === 'allow' && decide(p, targetRead, scope).effect === 'allow';
}
