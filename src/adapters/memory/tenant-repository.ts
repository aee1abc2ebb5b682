import type { TenantRole } from '../../domain/auth/principal.js';
import { createFaultGate } from './fault-gate.js';
import { ConflictError, NotFoundError } from '../../domain/shared/errors.js';
import { systemClock, type Clock } from '../../domain/shared/ids.js';
import type { ClusterHealth, CreateOutcome, TenantRepository } from '../../domain/tenants/tenant-repository.js';
import { QUOTA_KEYS, type Member, type Quota, type QuotaUsage, type Tenant, type TenantSpec } from '../../domain/tenants/tenant.js';

interface Entry {
  tenant: Tenant;
  /** False while a create has stopped halfway (the namespace exists, `provisioned` is not set). */
  provisioned: boolean;
  members: Map<string, Member>;
  usage: QuotaUsage;
  virtualMachines: number;
}

export interface MemoryTenantRepositoryDeps {
  readonly clock?: Clock;
  /** Complete tenants present from the start. */
  readonly tenants?: readonly TenantSpec[];
}

/**
 * In-memory `TenantRepository` with the same semantics as the Kubernetes adapter (the contract suite
 * runs against both), plus seeding and fault injection for tests.
 */
export interface MemoryTenantRepository extends TenantRepository, ClusterHealth {
  /** The next call (any method) rejects with `err` and changes nothing. */
  failNext(err: Error): void;
  /** Every call waits this long first (0 turns it off). */
  latency(ms: number): void;
  /** A namespace that exists but is not the platform's (create then answers NAMESPACE_TAKEN). */
  seedForeignNamespace(id: string): void;
  /** A tenant whose create stopped halfway (invisible; create converges). */
  seedHalfCreated(spec: TenantSpec): void;
  /** Sets what the tenant consumes; counts VMs too when `virtualMachines` is given. */
  setUsage(id: string, usage: Partial<QuotaUsage>): void;
  start(): Promise<boolean>;
  close(): Promise<void>;
}

const ZERO: QuotaUsage = Object.fromEntries(QUOTA_KEYS.map((k) => [k, 0])) as unknown as Quota;

function byId<T>(key: (x: T) => string) {
  return (a: T, b: T) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);
}

export function createMemoryTenantRepository(deps: MemoryTenantRepositoryDeps = {}): MemoryTenantRepository {
  const clock = deps.clock ?? systemClock;
  const entries = new Map<string, Entry>();
  const foreign = new Set<string>();
  let version = 0;
  const gate = createFaultGate();
  const { enter } = gate;

  const nextVersion = () => String(++version);

  function tenantOf(spec: TenantSpec, createdAt: string): Tenant {
    return {
      id: spec.id,
      displayName: spec.displayName,
      ...(spec.description === undefined || spec.description === '' ? {} : { description: spec.description }),
      profile: spec.profile,
      quota: { ...spec.quota },
      vmCaps: { ...spec.vmCaps },
      phase: 'Active',
      createdAt,
      version: nextVersion(),
      ...(spec.costControls === undefined ? {} : { costControls: spec.costControls }),
    };
  }

  function put(spec: TenantSpec, provisioned: boolean, previous?: Entry): Entry {
    const entry: Entry = {
      tenant: tenantOf(spec, previous?.tenant.createdAt ?? clock.now().toISOString()),
      provisioned,
      members: new Map(spec.members.map((m) => [m.principalId, { ...m }])),
      usage: previous?.usage ?? ZERO,
      virtualMachines: previous?.virtualMachines ?? 0,
    };
    entries.set(spec.id, entry);
    return entry;
  }

  for (const spec of deps.tenants ?? []) put(spec, true);

  /** Fault injection and latency, applied at the start of every call. */
  function existing(id: string): Entry {
    const e = entries.get(id);
    if (e === undefined || !e.provisioned) throw new NotFoundError('tenant', id);
    return e;
  }

  return {
    failNext: gate.failNext,
    latency: gate.latency,
    seedForeignNamespace(id) {
      foreign.add(id);
    },
    seedHalfCreated(spec) {
      put(spec, false);
    },
    setUsage(id, usage) {
      const e = entries.get(id);
      if (e === undefined) throw new Error(`no tenant ${id}`);
      e.usage = { ...e.usage, ...usage };
      if (usage.virtualMachines !== undefined) e.virtualMachines = usage.virtualMachines;
    },
    start: async () => true,
    close: async () => undefined,

    async ping() {
      await enter();
    },

    async create(spec) {
      await enter();
      if (foreign.has(spec.id)) {
        throw new ConflictError('NAMESPACE_TAKEN', `A namespace '${spec.id}' exists and does not belong to the platform; choose another id.`);
      }
      const previous = entries.get(spec.id);
      if (previous?.provisioned === true) throw new ConflictError('TENANT_EXISTS', `Tenant '${spec.id}' already exists.`);
      const outcome: CreateOutcome = previous === undefined ? 'created' : 'converged';
      const entry = put(spec, true, previous);
      return { tenant: entry.tenant, outcome };
    },

    async get(id) {
      await enter();
      const e = entries.get(id);
      return e?.provisioned === true ? e.tenant : undefined;
    },

    async list() {
      await enter();
      return [...entries.values()]
        .filter((e) => e.provisioned)
        .map((e) => e.tenant)
        .sort(byId((t: Tenant) => t.id));
    },

    async update(id, update, expectedVersion) {
      await enter();
      const e = existing(id);
      if (expectedVersion !== undefined && expectedVersion !== e.tenant.version) {
        throw new ConflictError('VERSION_CONFLICT', `Tenant '${id}' changed since version ${expectedVersion}; read it again.`, {
          details: { expectedVersion },
        });
      }
      const { description: _old, costControls: _cc, ...rest } = e.tenant;
      const description = update.description ?? e.tenant.description;
      const costControls = update.costControls === undefined ? e.tenant.costControls : (update.costControls ?? undefined);
      e.tenant = {
        ...rest,
        ...(description === undefined || description === '' ? {} : { description }),
        ...(update.displayName === undefined ? {} : { displayName: update.displayName }),
        ...(update.quota === undefined ? {} : { quota: { ...update.quota } }),
        ...(update.vmCaps === undefined ? {} : { vmCaps: { ...update.vmCaps } }),
        ...(costControls === undefined ? {} : { costControls }),
        version: nextVersion(),
      };
      return e.tenant;
    },

    async delete(id) {
      await enter();
      existing(id);
      entries.delete(id);
    },

    async usage(id) {
      await enter();
      return { ...existing(id).usage };
    },

    async countVirtualMachines(id) {
      await enter();
      return existing(id).virtualMachines;
    },

    async listMembers(id) {
      await enter();
      return [...existing(id).members.values()].sort(byId((m: Member) => m.principalId));
    },

    async putMember(id, member) {
      await enter();
      const e = existing(id);
      const created = !e.members.has(member.principalId);
      e.members.set(member.principalId, { ...member });
      return { member: { ...member }, created };
    },

    async deleteMember(id, principalId) {
      await enter();
      return existing(id).members.delete(principalId);
    },

    async membershipsOf(subjectIds) {
      await enter();
      const ids = new Set(subjectIds);
      const out: Array<readonly [string, TenantRole]> = [];
      for (const [id, e] of [...entries].sort(byId(([k]: [string, Entry]) => k))) {
        if (!e.provisioned) continue;
        const roles = [...e.members.values()].filter((m) => ids.has(m.principalId)).map((m) => m.role);
        if (roles.length > 0) out.push([id, roles.includes('owner') ? 'owner' : 'member']);
      }
      return out;
    },
  };
}
