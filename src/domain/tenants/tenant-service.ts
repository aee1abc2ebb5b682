import { authorize, canSeeTenant } from '../auth/policy.js';
import type { Principal, TenantRole } from '../auth/principal.js';
import { ConflictError, NotFoundError, PreconditionFailedError, ValidationError } from '../shared/errors.js';
import { pageByKey, type Page, type PageRequest } from '../shared/page.js';
import { costControlsIssues, mergeCostControls, type CostControlsInput } from '../usage/cost-controls.js';
import type { Operation } from '../operations/operation.js';
import type { OperationService } from '../operations/operation-service.js';
import type { TenantRepository } from './tenant-repository.js';
import { PRINCIPAL_ID, quotaShortfalls, resolveLimits, tenantIdIssues } from './tenant-rules.js';
import {
  PROFILE_DEFAULTS,
  type Member,
  type PrincipalType,
  type ProfileDefaults,
  type Quota,
  type QuotaUsage,
  type Tenant,
  type TenantProfile,
  type VmCaps,
} from './tenant.js';
import type { Precondition } from '../shared/precondition.js';

export interface TenantView extends Tenant {
  readonly usage: QuotaUsage;
}

export interface CreateTenantInput {
  readonly id: string;
  readonly displayName: string;
  readonly description?: string;
  readonly profile: TenantProfile;
  readonly quota?: Partial<Quota>;
  readonly vmCaps?: Partial<VmCaps>;
  readonly owners?: ReadonlyArray<{ principalId: string; principalType?: PrincipalType; displayName?: string }>;
  /** Auto-shutdown of the tenant's VMs outside labs; absent parts take the defaults. Absent: none. */
  readonly costControls?: CostControlsInput;
}

export interface UpdateTenantInput {
  readonly displayName?: string;
  readonly description?: string;
  readonly quota?: Partial<Quota>;
  readonly vmCaps?: Partial<VmCaps>;
  /** The given parts change, the others stay; `null` removes the tenant's cost controls. */
  readonly costControls?: CostControlsInput | null;
}

export interface MemberInput {
  readonly role: TenantRole;
  readonly principalType?: PrincipalType;
  readonly displayName?: string;
}

export interface TenantListFilter {
  readonly profile?: TenantProfile;
}

export interface TenantServiceDeps {
  readonly repo: TenantRepository;
  /** Starts the long-running part of tenant deletion (the namespace terminating). */
  readonly operations: Pick<OperationService, 'start'>;
  /** Ceiling of any tenant's quota and caps. */
  readonly maxima: ProfileDefaults;
  readonly profiles?: Readonly<Record<TenantProfile, ProfileDefaults>>;
}

export type TenantService = ReturnType<typeof createTenantService>;

/** Job kind that deletes a tenant's namespace and waits for it to be gone. */
export const TENANT_DELETE_KIND = 'tenant.delete';

/** Tenant use cases. Every method authorizes first, then validates, then writes. */
export function createTenantService(deps: TenantServiceDeps) {
  const { repo, maxima } = deps;
  const profiles = deps.profiles ?? PROFILE_DEFAULTS;

  async function load(p: Principal, id: string): Promise<Tenant> {
    const t = canSeeTenant(p, id) ? await repo.get(id) : undefined;
    if (t === undefined) throw new NotFoundError('tenant', id);
    return t;
  }

  async function view(t: Tenant): Promise<TenantView> {
    return { ...t, usage: await repo.usage(t.id) };
  }

  return {
    async list(p: Principal, filter: TenantListFilter, page: PageRequest): Promise<Page<TenantView>> {
      authorize(p, 'tenant.list');
      const all = await repo.list();
      const visible = all.filter((t) => canSeeTenant(p, t.id) && (filter.profile === undefined || t.profile === filter.profile));
      const res = pageByKey(visible, (t) => t.id, page);
      const items = await Promise.all(res.items.map(view));
      return res.nextCursor === undefined ? { items } : { items, nextCursor: res.nextCursor };
    },

    async get(p: Principal, id: string): Promise<TenantView> {
      authorize(p, 'tenant.read', { tenant: id });
      return view(await load(p, id));
    },

    async create(p: Principal, input: CreateTenantInput): Promise<TenantView> {
      authorize(p, 'tenant.create');
      const idIssues = tenantIdIssues(input.id);
      if (idIssues.length > 0) throw new ValidationError('The tenant id is not acceptable.', idIssues);
      const limits = resolveLimits(profiles[input.profile], maxima, input.quota, input.vmCaps);
      refuseCostControlIssues(input.costControls);
      const owners = input.owners ?? [];
      const bad = owners.findIndex((o) => !PRINCIPAL_ID.test(o.principalId));
      if (bad >= 0) {
        throw new ValidationError('An owner id is not acceptable.', [
          { field: `/owners/${bad}/principalId`, message: 'must be an Azure AD object id or subject' },
        ]);
      }
      const members: Member[] = owners.map((o) => ({
        principalId: o.principalId,
        principalType: o.principalType ?? 'User',
        role: 'owner',
        ...(o.displayName === undefined ? {} : { displayName: o.displayName }),
      }));
      const { tenant } = await repo.create({
        id: input.id,
        displayName: input.displayName,
        ...(input.description === undefined ? {} : { description: input.description }),
        profile: input.profile,
        quota: limits.quota,
        vmCaps: limits.vmCaps,
        members,
        ...(input.costControls === undefined ? {} : { costControls: mergeCostControls(input.costControls) }),
      });
      return view(tenant);
    },

    async update(p: Principal, id: string, input: UpdateTenantInput, expectedVersion?: string): Promise<TenantView> {
      const changesLimits = input.quota !== undefined || input.vmCaps !== undefined;
      authorize(p, changesLimits ? 'tenant.updateQuota' : 'tenant.update', { tenant: id });
      const current = await load(p, id);
      if (expectedVersion !== undefined && expectedVersion !== current.version) {
        throw new PreconditionFailedError('VERSION_MISMATCH', 'The tenant changed since you read it; read it again and retry.', {
          details: { currentVersion: current.version },
        });
      }
      const limits = resolveLimits(profiles[current.profile], maxima, input.quota, input.vmCaps, current);
      if (input.costControls !== null) refuseCostControlIssues(input.costControls);
      if (input.quota !== undefined) {
        const short = quotaShortfalls(limits.quota, await repo.usage(id));
        if (short.length > 0) {
          throw new ConflictError('QUOTA_BELOW_USAGE', 'The new quota is below what the tenant already uses.', {
            details: { shortfalls: short },
          });
        }
      }
      const updated = await repo.update(
        id,
        {
          ...(input.displayName === undefined ? {} : { displayName: input.displayName }),
          ...(input.description === undefined ? {} : { description: input.description }),
          ...(changesLimits ? { quota: limits.quota, vmCaps: limits.vmCaps } : {}),
          ...(input.costControls === undefined
            ? {}
            : { costControls: input.costControls === null ? null : mergeCostControls(input.costControls, current.costControls) }),
        },
        expectedVersion,
      );
      return view(updated);
    },

    /**
     * Starts deleting a tenant: an operation of kind `tenant.delete` that deletes the namespace
     * and waits until it is gone. Refused while the tenant has VMs, unless `force`.
     */
    async delete(p: Principal, id: string, options: { force: boolean; precondition?: Precondition<Tenant> }): Promise<Operation> {
      authorize(p, 'tenant.delete', { tenant: id });
      options.precondition?.(await load(p, id));
      if (!options.force) {
        const vms = await repo.countVirtualMachines(id);
        if (vms > 0) {
          throw new ConflictError('TENANT_HAS_VMS', `The tenant still has ${vms} virtual machine(s); delete them or pass force=true.`, {
            details: { virtualMachines: vms },
          });
        }
      }
      return deps.operations.start(p, {
        kind: TENANT_DELETE_KIND,
        tenant: id,
        target: { type: 'tenant', id, name: id },
        input: { tenant: id, force: options.force },
      });
    },

    async listMembers(p: Principal, id: string): Promise<readonly Member[]> {
      authorize(p, 'member.read', { tenant: id });
      await load(p, id);
      return repo.listMembers(id);
    },

    async getMember(p: Principal, id: string, principalId: string): Promise<Member> {
      authorize(p, 'member.read', { tenant: id });
      await load(p, id);
      const member = (await repo.listMembers(id)).find((m) => m.principalId === principalId);
      if (member === undefined) throw new NotFoundError('member', principalId);
      return member;
    },

    async putMember(
      p: Principal,
      id: string,
      principalId: string,
      input: MemberInput,
      precondition?: Precondition<Member | undefined>,
    ): Promise<{ member: Member; created: boolean }> {
      authorize(p, 'member.write', { tenant: id });
      if (!PRINCIPAL_ID.test(principalId)) {
        throw new ValidationError('The principal id is not acceptable.', [
          { field: '/principalId', in: 'path', message: 'must be an Azure AD object id or subject' },
        ]);
      }
      await load(p, id);
      if (precondition !== undefined) precondition((await repo.listMembers(id)).find((m) => m.principalId === principalId));
      if (input.role !== 'owner') await refuseLastOwnerRemoval(id, principalId);
      return repo.putMember(id, {
        principalId,
        principalType: input.principalType ?? 'User',
        role: input.role,
        ...(input.displayName === undefined ? {} : { displayName: input.displayName }),
      });
    },

    async deleteMember(p: Principal, id: string, principalId: string, precondition?: Precondition<Member>): Promise<void> {
      authorize(p, 'member.write', { tenant: id });
      await load(p, id);
      if (precondition !== undefined) {
        const member = (await repo.listMembers(id)).find((m) => m.principalId === principalId);
        if (member === undefined) throw new NotFoundError('member', principalId);
        precondition(member);
      }
      await refuseLastOwnerRemoval(id, principalId);
      if (!(await repo.deleteMember(id, principalId))) throw new NotFoundError('member', principalId);
    },
  };

  function refuseCostControlIssues(input: CostControlsInput | undefined): void {
    if (input === undefined) return;
    const issues = costControlsIssues(input, '/costControls', { lab: false });
    if (issues.length > 0) throw new ValidationError('The cost controls are not acceptable.', issues);
  }

  async function refuseLastOwnerRemoval(id: string, principalId: string): Promise<void> {
    const members = await repo.listMembers(id);
    const owners = members.filter((m) => m.role === 'owner');
    if (owners.length === 1 && owners[0]?.principalId === principalId) {
      throw new ConflictError('LAST_OWNER', 'A tenant keeps at least one owner; add another owner first.');
    }
  }
}
