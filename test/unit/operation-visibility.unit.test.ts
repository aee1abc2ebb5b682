import { describe, expect, it } from 'vitest';
import { makePrincipal, type Principal } from '../../src/domain/auth/principal.js';
import { mayReadOperation } from '../../src/domain/operations/operation-visibility.js';

const T = 'cs101';
type Op = Parameters<typeof mayReadOperation>[1];
const op = (kind: string, target: Op['target'], extra: Partial<Op> = {}): [string, Op] => [kind, { tenant: T, createdBy: 'olga', target, ...extra }];
const tenantless = (kind: string, target: Op['target'], createdBy: string): [string, Op] => [kind, { createdBy, target }];

/** One operation of every kind there is, in tenant cs101 unless tenantless. */
const OPERATIONS: ReadonlyArray<[string, Op]> = [
  op('tenant.delete', { type: 'tenant', id: T }),
  op('image.import (tenant image)', { type: 'image', id: `${T}/ubuntu` }),
  tenantless('image.import (platform image)', { type: 'image', id: 'ubuntu' }, 'admin'),
  op("vm.create (mia's VM)", { type: 'vm', id: `${T}/vm-mia` }, { ownerId: 'mia' }),
  op("vm.identity (mia's VM)", { type: 'vm', id: `${T}/vm-mia` }, { ownerId: 'mia' }),
  op("vm.start (max's VM)", { type: 'vm', id: `${T}/vm-max` }, { ownerId: 'max' }),
  op('lab.sync', { type: 'lab', id: `${T}/db101` }),
  op('lab.power', { type: 'lab', id: `${T}/db101` }),
  op('lab.student', { type: 'lab-student', id: `${T}/db101/mia` }),
  tenantless('node.evacuate', { type: 'node', id: 'aks-1' }, 'admin'),
  op('a kind with a target type nobody declared', { type: 'gadget', id: `${T}/g` }),
];

const PRINCIPALS: ReadonlyArray<[string, Principal]> = [
  ['platform admin', makePrincipal({ id: 'admin', platformAdmin: true })],
  ['tenant owner', makePrincipal({ id: 'olga', tenantRoles: [[T, 'owner']] })],
  ['member mia', makePrincipal({ id: 'mia', tenantRoles: [[T, 'member']] })],
  ['member max', makePrincipal({ id: 'max', tenantRoles: [[T, 'member']] })],
  ['integration read', makePrincipal({ id: 'app-r', kind: 'service', integrationRoles: ['read'], integrationTenants: [T] })],
  ['integration vms.manage', makePrincipal({ id: 'app-v', kind: 'service', integrationRoles: ['vms.manage'], integrationTenants: [T] })],
  ['integration labs.manage', makePrincipal({ id: 'app-l', kind: 'service', integrationRoles: ['labs.manage'], integrationTenants: [T] })],
  ['owner of another tenant', makePrincipal({ id: 'otto', tenantRoles: [['bio200', 'owner']] })],
  ['nobody', makePrincipal({ id: 'eve' })],
];

// Rows: operations in the order above; columns: principals in the order above.
// admin, owner, mia, max, read, vms.manage, labs.manage, other owner, nobody
const EXPECTED: Record<string, readonly (0 | 1)[]> = {
  'tenant.delete': [1, 1, 1, 1, 1, 1, 1, 0, 0],
  'image.import (tenant image)': [1, 1, 1, 1, 1, 1, 1, 0, 0],
  'image.import (platform image)': [1, 0, 0, 0, 0, 0, 0, 0, 0],
  "vm.create (mia's VM)": [1, 1, 1, 0, 1, 1, 1, 0, 0],
  "vm.identity (mia's VM)": [1, 1, 1, 0, 1, 1, 1, 0, 0],
  "vm.start (max's VM)": [1, 1, 0, 1, 1, 1, 1, 0, 0],
  'lab.sync': [1, 1, 0, 0, 1, 0, 1, 0, 0],
  'lab.power': [1, 1, 0, 0, 1, 0, 1, 0, 0],
  'lab.student': [1, 1, 0, 0, 1, 0, 1, 0, 0],
  'node.evacuate': [1, 0, 0, 0, 0, 0, 0, 0, 0],
  'a kind with a target type nobody declared': [1, 0, 0, 0, 0, 0, 0, 0, 0],
};

describe('who may read an operation follows who may read its target', () => {
  for (const [kind, operation] of OPERATIONS) {
    it(`${kind}: ${PRINCIPALS.filter((_, i) => EXPECTED[kind]?.[i] === 1)
      .map(([n]) => n)
      .join(', ')}`, () => {
      const seen = PRINCIPALS.map(([, p]) => (mayReadOperation(p, operation) ? 1 : 0));
      expect(seen).toEqual(EXPECTED[kind]);
    });
  }

  it('the creator of a tenantless operation reads it even without admin rights', () => {
    const mine: Op = { createdBy: 'eve', target: { type: 'image', id: 'x' } };
    expect(mayReadOperation(makePrincipal({ id: 'eve' }), mine)).toBe(true);
  });
});
