import { describe, expect, it } from 'vitest';
import { authorize, decide, PERMISSIONS, type Permission } from '../../src/domain/auth/policy.js';
import { makePrincipal } from '../../src/domain/auth/principal.js';
import { ForbiddenError, NotFoundError } from '../../src/domain/shared/errors.js';

const admin = makePrincipal({ id: 'admin', platformAdmin: true });
const owner = makePrincipal({ id: 'olga', tenantRoles: [['cs101', 'owner']] });
const member = makePrincipal({ id: 'sam', tenantRoles: [['cs101', 'member']] });
const stranger = makePrincipal({ id: 'eve', tenantRoles: [['bio200', 'owner']] });
const lms = makePrincipal({ id: 'canvas', kind: 'service', integrationRoles: ['labs.manage'], integrationTenants: ['cs101'] });

describe('authorization policy', () => {
  it('lets a platform admin do everything, everywhere', () => {
    for (const perm of PERMISSIONS) {
      expect(decide(admin, perm, { tenant: 'any' }).effect).toBe('allow');
      expect(decide(admin, perm).effect).toBe('allow');
    }
  });

  it('hides a tenant from everyone who holds no role in it, for every permission', () => {
    for (const perm of PERMISSIONS.filter((p) => p !== 'tenant.list')) {
      expect(decide(stranger, perm, { tenant: 'cs101' }).effect).toBe('hide');
    }
  });

  it('keeps platform-wide writes for admins only', () => {
    const platformOnly: Permission[] = [
      'tenant.create',
      'tenant.delete',
      'tenant.updateQuota',
      'platformImage.write',
      'node.evacuate',
      'queue.admin',
    ];
    for (const perm of platformOnly) {
      expect(decide(owner, perm, { tenant: 'cs101' }).effect).toBe('deny');
      expect(decide(owner, perm).effect).toBe('deny');
    }
  });

  it('lets an owner manage the tenant but not change its quota', () => {
    for (const perm of ['tenant.update', 'member.write', 'vm.create', 'vm.delete', 'access.write', 'lab.write'] as const) {
      expect(decide(owner, perm, { tenant: 'cs101' }).effect).toBe('allow');
    }
    expect(decide(owner, 'tenant.updateQuota', { tenant: 'cs101' }).effect).toBe('deny');
  });

  it('lets a member act on their own VMs only, and hides the VMs of others', () => {
    expect(decide(member, 'vm.power', { tenant: 'cs101', ownerId: 'sam' }).effect).toBe('allow');
    expect(decide(member, 'vm.read', { tenant: 'cs101', ownerId: 'other' }).effect).toBe('hide');
    expect(decide(member, 'vm.create', { tenant: 'cs101' }).effect).toBe('deny');
    expect(decide(member, 'member.write', { tenant: 'cs101' }).effect).toBe('deny');
    expect(decide(member, 'tenant.update', { tenant: 'cs101' }).effect).toBe('deny');
  });

  it('gives an integration what its app role allows, in its bound tenants only', () => {
    expect(decide(lms, 'lab.write', { tenant: 'cs101' }).effect).toBe('allow');
    expect(decide(lms, 'vm.delete', { tenant: 'cs101' }).effect).toBe('deny');
    expect(decide(lms, 'lab.write', { tenant: 'bio200' }).effect).toBe('hide');
  });

  it('answers hidden targets with NotFoundError and refusals with ForbiddenError', () => {
    expect(() => authorize(stranger, 'tenant.read', { tenant: 'cs101' })).toThrow(NotFoundError);
    expect(() => authorize(member, 'member.write', { tenant: 'cs101' })).toThrow(ForbiddenError);
    expect(() => authorize(owner, 'tenant.read', { tenant: 'cs101' })).not.toThrow();
  });
});
