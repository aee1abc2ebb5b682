import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError } from '../../src/domain/shared/errors.js';
import type { TenantRepository } from '../../src/domain/tenants/tenant-repository.js';
import { PROFILE_DEFAULTS, type Member, type TenantSpec } from '../../src/domain/tenants/tenant.js';
import { DEFAULT_AUTO_SHUTDOWN_PROFILE } from '../../src/domain/usage/auto-shutdown.js';

/** Arrange steps that go around the port (what another actor or an interrupted create leaves behind). */
export interface ContractSeeds {
  /** A namespace that exists and is not the platform's. */
  foreignNamespace(id: string): Promise<void>;
  /** What a create that stopped after the namespace (and some children) leaves: ours, not provisioned. */
  halfCreated(spec: TenantSpec): Promise<void>;
  /** Makes the tenant consume `claims` persistent volume claims of `storageGi` each. */
  volumeClaims(id: string, claims: number, storageGi: number): Promise<void>;
  /** Makes the tenant hold `count` virtual machines. */
  virtualMachines(id: string, count: number): Promise<void>;
}

export interface ContractFixture {
  readonly repo: TenantRepository;
  readonly seed: ContractSeeds;
  cleanup(): Promise<void>;
}

export function uniqueId(prefix = 't'): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

export function tenantSpec(overrides: Partial<TenantSpec> = {}): TenantSpec {
  const profile = overrides.profile ?? 'student';
  return {
    id: uniqueId(),
    displayName: 'Operating Systems 2025',
    description: 'Lab of CS-310',
    profile,
    quota: PROFILE_DEFAULTS[profile].quota,
    vmCaps: PROFILE_DEFAULTS[profile].vmCaps,
    members: [{ principalId: 'olga-0001', principalType: 'User', role: 'owner', displayName: 'Olga' }],
    ...overrides,
  };
}

const member = (principalId: string, role: Member['role'], principalType: Member['principalType'] = 'User'): Member => ({
  principalId,
  principalType,
  role,
});

/** The behaviour every TenantRepository keeps; `makeFixture` gives a fresh repository per test. */
export function tenantRepositoryContract(name: string, makeFixture: () => Promise<ContractFixture>): void {
  describe(`TenantRepository contract: ${name}`, () => {
    let fx: ContractFixture;
    let repo: TenantRepository;
    beforeEach(async () => {
      fx = await makeFixture();
      repo = fx.repo;
    });
    afterEach(async () => {
      await fx?.cleanup();
    });

    describe('create, get, list', () => {
      it('creating a tenant returns it as created, and get and list see it at once', async () => {
        const spec = tenantSpec();
        const { tenant, outcome } = await repo.create(spec);
        expect(outcome).toBe('created');
        expect(tenant).toMatchObject({
          id: spec.id,
          displayName: spec.displayName,
          description: spec.description,
          profile: 'student',
          quota: spec.quota,
          vmCaps: spec.vmCaps,
          phase: 'Active',
        });
        expect(Number.isNaN(Date.parse(tenant.createdAt))).toBe(false);
        expect(tenant.version).not.toBe('');
        expect(await repo.get(spec.id)).toEqual(tenant);
        expect((await repo.list()).map((t) => t.id)).toContain(spec.id);
      });

      it('a tenant created without a description has none', async () => {
        const { description: _d, ...spec } = tenantSpec();
        const { tenant } = await repo.create(spec);
        expect(tenant.description).toBeUndefined();
        expect((await repo.get(spec.id))?.description).toBeUndefined();
      });

      it('fractional CPU figures survive the round trip to the millicore', async () => {
        const spec = tenantSpec({
          quota: { ...PROFILE_DEFAULTS.student.quota, requestsCpu: 2.5, limitsCpu: 4.25 },
          vmCaps: { maxCpu: 0.5, maxMemoryGi: 2 },
        });
        await repo.create(spec);
        expect(await repo.get(spec.id)).toMatchObject({ quota: { requestsCpu: 2.5, limitsCpu: 4.25 }, vmCaps: { maxCpu: 0.5 } });
      });

      it('creating a tenant that already exists throws TENANT_EXISTS and writes nothing', async () => {
        const spec = tenantSpec();
        const { tenant } = await repo.create(spec);
        const again = { ...spec, displayName: 'Other', members: [member('mallory-1', 'owner')] };
        await expect(repo.create(again)).rejects.toMatchObject({ code: 'TENANT_EXISTS' });
        await expect(repo.create(again)).rejects.toBeInstanceOf(ConflictError);
        expect(await repo.get(spec.id)).toEqual(tenant);
        expect((await repo.listMembers(spec.id)).map((m) => m.principalId)).toEqual(['olga-0001']);
      });

      it('creating over a namespace that is not ours throws NAMESPACE_TAKEN, and that namespace stays invisible', async () => {
        const id = uniqueId();
        await fx.seed.foreignNamespace(id);
        await expect(repo.create(tenantSpec({ id }))).rejects.toMatchObject({ code: 'NAMESPACE_TAKEN' });
        expect(await repo.get(id)).toBeUndefined();
        expect((await repo.list()).map((t) => t.id)).not.toContain(id);
        await expect(repo.delete(id)).rejects.toBeInstanceOf(NotFoundError);
      });

      it('a create that stopped halfway is invisible, and the next create finishes it as converged with exactly its spec', async () => {
        const first = tenantSpec({ members: [member('ghost-1', 'owner'), member('olga-0001', 'member')] });
        await fx.seed.halfCreated(first);
        expect(await repo.get(first.id)).toBeUndefined();
        expect((await repo.list()).map((t) => t.id)).not.toContain(first.id);

        const retry = { ...first, displayName: 'Retried', members: [member('olga-0001', 'owner')] };
        const { tenant, outcome } = await repo.create(retry);
        expect(outcome).toBe('converged');
        expect(tenant).toMatchObject({ id: first.id, displayName: 'Retried', phase: 'Active' });
        expect(await repo.get(first.id)).toEqual(tenant);
        expect(await repo.listMembers(first.id)).toEqual([{ principalId: 'olga-0001', principalType: 'User', role: 'owner' }]);
        await expect(repo.create(retry)).rejects.toMatchObject({ code: 'TENANT_EXISTS' });
      });

      it('get of an unknown id answers undefined, and list is sorted by id', async () => {
        expect(await repo.get(uniqueId('nope'))).toBeUndefined();
        const ids = [uniqueId('c'), uniqueId('a'), uniqueId('b')];
        for (const id of ids) await repo.create(tenantSpec({ id }));
        const listed = (await repo.list()).map((t) => t.id);
        expect(listed).toEqual([...listed].sort());
        expect(listed).toEqual(expect.arrayContaining(ids));
      });
    });

    describe('update', () => {
      it('update changes names, quota and caps, moves the version, and get sees the result', async () => {
        const spec = tenantSpec();
        const { tenant } = await repo.create(spec);
        const quota = { ...spec.quota, requestsCpu: 4, persistentVolumeClaims: 9 };
        const updated = await repo.update(spec.id, { displayName: 'Renamed', description: 'New text', quota, vmCaps: { maxCpu: 1, maxMemoryGi: 2 } });
        expect(updated).toMatchObject({ displayName: 'Renamed', description: 'New text', quota, vmCaps: { maxCpu: 1, maxMemoryGi: 2 } });
        expect(updated.version).not.toBe(tenant.version);
        expect(updated.createdAt).toBe(tenant.createdAt);
        expect(await repo.get(spec.id)).toEqual(updated);
      });

      it('cost controls given at create are kept, replaced by an update, left by other updates and removed by null', async () => {
        const controls = { autoShutdown: DEFAULT_AUTO_SHUTDOWN_PROFILE, warningPeriod: 'PT10M' };
        const spec = tenantSpec({ costControls: controls });
        const { tenant } = await repo.create(spec);
        expect(tenant.costControls).toEqual(controls);
        expect((await repo.get(spec.id))?.costControls).toEqual(controls);
        const other = {
          autoShutdown: { ...DEFAULT_AUTO_SHUTDOWN_PROFILE, shutdownOnIdle: { mode: 'none' as const, delay: 'PT15M' } },
          warningPeriod: 'PT0S',
        };
        expect((await repo.update(spec.id, { costControls: other })).costControls).toEqual(other);
        expect((await repo.update(spec.id, { displayName: 'Renamed' })).costControls).toEqual(other);
        const removed = await repo.update(spec.id, { costControls: null });
        expect(removed).not.toHaveProperty('costControls');
        expect(await repo.get(spec.id)).not.toHaveProperty('costControls');
        expect((await repo.create(tenantSpec())).tenant).not.toHaveProperty('costControls');
      });

      it('a quota-only update moves the version too, so expectedVersion guards quota edits', async () => {
        const spec = tenantSpec();
        const { tenant } = await repo.create(spec);
        const updated = await repo.update(spec.id, { quota: { ...spec.quota, virtualMachines: 3 } });
        expect(updated.version).not.toBe(tenant.version);
        await expect(repo.update(spec.id, { quota: spec.quota }, tenant.version)).rejects.toMatchObject({ code: 'VERSION_CONFLICT' });
      });

      it('update with the current version succeeds; with a stale one it throws VERSION_CONFLICT and changes nothing', async () => {
        const spec = tenantSpec();
        const { tenant } = await repo.create(spec);
        const first = await repo.update(spec.id, { displayName: 'First' }, tenant.version);
        await expect(repo.update(spec.id, { displayName: 'Lost' }, tenant.version)).rejects.toBeInstanceOf(ConflictError);
        await expect(repo.update(spec.id, { displayName: 'Lost' }, tenant.version)).rejects.toMatchObject({ code: 'VERSION_CONFLICT' });
        expect(await repo.get(spec.id)).toEqual(first);
      });

      it('updating an unknown tenant throws TENANT_NOT_FOUND', async () => {
        await expect(repo.update(uniqueId(), { displayName: 'x' })).rejects.toMatchObject({ code: 'TENANT_NOT_FOUND' });
      });
    });

    describe('delete', () => {
      it('a deleted tenant is gone from get and list, or shown as Terminating', async () => {
        const spec = tenantSpec();
        await repo.create(spec);
        await repo.delete(spec.id);
        const after = await repo.get(spec.id);
        expect(after === undefined || after.phase === 'Terminating').toBe(true);
        const listed = (await repo.list()).find((t) => t.id === spec.id);
        expect(listed === undefined || listed.phase === 'Terminating').toBe(true);
      });

      it('deleting an unknown tenant throws TENANT_NOT_FOUND', async () => {
        await expect(repo.delete(uniqueId())).rejects.toMatchObject({ code: 'TENANT_NOT_FOUND' });
      });
    });

    describe('members', () => {
      it('members given at create are listed with their type, role and display name', async () => {
        const spec = tenantSpec({ members: [member('zed-1', 'member', 'Group'), { ...member('amy-1', 'owner'), displayName: 'Amy' }] });
        await repo.create(spec);
        expect(await repo.listMembers(spec.id)).toEqual([
          { principalId: 'amy-1', principalType: 'User', role: 'owner', displayName: 'Amy' },
          { principalId: 'zed-1', principalType: 'Group', role: 'member' },
        ]);
      });

      it('putting a new member creates it; putting it again replaces it; a role change keeps one binding', async () => {
        const spec = tenantSpec();
        await repo.create(spec);
        expect(await repo.putMember(spec.id, member('bob-1', 'member'))).toEqual({ member: member('bob-1', 'member'), created: true });
        const again = await repo.putMember(spec.id, { ...member('bob-1', 'member'), displayName: 'Bob' });
        expect(again).toEqual({ member: { ...member('bob-1', 'member'), displayName: 'Bob' }, created: false });
        const promoted = await repo.putMember(spec.id, member('bob-1', 'owner'));
        expect(promoted).toEqual({ member: member('bob-1', 'owner'), created: false });
        const listed = await repo.listMembers(spec.id);
        expect(listed.filter((m) => m.principalId === 'bob-1')).toEqual([member('bob-1', 'owner')]);
        expect(listed.map((m) => m.principalId)).toEqual(['bob-1', 'olga-0001']);
      });

      it('deleting a member answers true once, then false', async () => {
        const spec = tenantSpec();
        await repo.create(spec);
        await repo.putMember(spec.id, member('bob-1', 'member'));
        expect(await repo.deleteMember(spec.id, 'bob-1')).toBe(true);
        expect(await repo.deleteMember(spec.id, 'bob-1')).toBe(false);
        expect((await repo.listMembers(spec.id)).map((m) => m.principalId)).toEqual(['olga-0001']);
      });

      it('membershipsOf finds roles granted to users and to groups, the strongest per tenant, sorted by tenant', async () => {
        const a = tenantSpec({ id: uniqueId('ma'), members: [member('u-1', 'member'), member('g-1', 'owner', 'Group')] });
        const b = tenantSpec({ id: uniqueId('mb'), members: [member('g-1', 'member', 'Group')] });
        const c = tenantSpec({ id: uniqueId('mc'), members: [member('someone-else', 'owner')] });
        for (const s of [b, c, a]) await repo.create(s);
        const found = (await repo.membershipsOf(['u-1', 'g-1'])).filter(([t]) => [a.id, b.id, c.id].includes(t));
        expect(found).toEqual([
          [a.id, 'owner'],
          [b.id, 'member'],
        ]);
        expect(await repo.membershipsOf([])).toEqual([]);
        await repo.deleteMember(b.id, 'g-1');
        expect((await repo.membershipsOf(['g-1'])).filter(([t]) => t === b.id)).toEqual([]);
      });

      it('member calls on an unknown tenant throw TENANT_NOT_FOUND', async () => {
        const id = uniqueId();
        await expect(repo.listMembers(id)).rejects.toMatchObject({ code: 'TENANT_NOT_FOUND' });
        await expect(repo.putMember(id, member('bob-1', 'member'))).rejects.toMatchObject({ code: 'TENANT_NOT_FOUND' });
        await expect(repo.deleteMember(id, 'bob-1')).rejects.toMatchObject({ code: 'TENANT_NOT_FOUND' });
      });
    });

    describe('usage', () => {
      it('a new tenant uses nothing and holds no virtual machines', async () => {
        const spec = tenantSpec();
        await repo.create(spec);
        expect(await repo.usage(spec.id)).toEqual({
          requestsCpu: 0,
          requestsMemoryGi: 0,
          limitsCpu: 0,
          limitsMemoryGi: 0,
          storageGi: 0,
          persistentVolumeClaims: 0,
          virtualMachines: 0,
        });
        expect(await repo.countVirtualMachines(spec.id)).toBe(0);
      });

      it('usage reports consumption in the units of the quota', async () => {
        const spec = tenantSpec();
        await repo.create(spec);
        await fx.seed.volumeClaims(spec.id, 2, 10);
        await expect.poll(() => repo.usage(spec.id), { timeout: 5000 }).toMatchObject({ persistentVolumeClaims: 2, storageGi: 20 });
      });

      it('countVirtualMachines counts the tenant’s virtual machines', async () => {
        const spec = tenantSpec();
        await repo.create(spec);
        await fx.seed.virtualMachines(spec.id, 2);
        expect(await repo.countVirtualMachines(spec.id)).toBe(2);
      });

      it('usage of an unknown tenant throws TENANT_NOT_FOUND', async () => {
        await expect(repo.usage(uniqueId())).rejects.toMatchObject({ code: 'TENANT_NOT_FOUND' });
        await expect(repo.countVirtualMachines(uniqueId())).rejects.toMatchObject({ code: 'TENANT_NOT_FOUND' });
      });
    });
  });
}
