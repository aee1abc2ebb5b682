import type { TenantRole } from '../auth/principal.js';
import type { Member, QuotaUsage, Tenant, TenantSpec, TenantUpdate } from './tenant.js';

export type CreateOutcome = 'created' | 'converged';

/**
 * Where tenants live: a Kubernetes namespace and its policy objects, or memory
 * (`createMemoryTenantRepository` in `src/adapters/memory/tenant-repository.ts`, for tests); both pass
 * `test/contracts/tenant-repository.contract.ts`.
 *
 * Invariants every implementation keeps (the contract suite checks them):
 * - only namespaces labelled as ours are tenants; others are invisible (`get` → undefined);
 * - `create` of an id whose tenant is complete throws ConflictError `TENANT_EXISTS`;
 *   of an id whose earlier create stopped halfway, it finishes the job (`converged`);
 *   of a namespace that exists but is not ours, ConflictError `NAMESPACE_TAKEN`;
 *   of a tenant being deleted, ConflictError `TENANT_TERMINATING` (retry once it is gone);
 * - a tenant whose create stopped halfway is invisible (get → undefined; update, delete,
 *   usage, members → NotFoundError) until a create finishes it;
 * - `delete` of a Terminating tenant is a no-op;
 * - writes of child objects are idempotent (create-or-replace), so a retry never duplicates;
 * - upstream outages surface as UpstreamUnavailableError, refusals as UpstreamRejectedError.
 */
export interface TenantRepository {
  create(spec: TenantSpec): Promise<{ tenant: Tenant; outcome: CreateOutcome }>;
  get(id: string): Promise<Tenant | undefined>;
  /** Every tenant, sorted by id. */
  list(): Promise<readonly Tenant[]>;
  /** Throws NotFoundError when absent. `expectedVersion` guards against lost updates (ConflictError). */
  update(id: string, update: TenantUpdate, expectedVersion?: string): Promise<Tenant>;
  /** Deletes the namespace and everything in it. Throws NotFoundError when absent. */
  delete(id: string): Promise<void>;
  /** Current consumption counted against the quota; memory and storage may be fractional GiB (to 1/1000, rounded up). */
  usage(id: string): Promise<QuotaUsage>;
  /** Number of virtual machines in the tenant. */
  countVirtualMachines(id: string): Promise<number>;
  listMembers(id: string): Promise<readonly Member[]>;
  /** Creates or replaces the member's binding; `created` tells which. */
  putMember(id: string, member: Member): Promise<{ member: Member; created: boolean }>;
  /** Returns false when the principal was not a member. */
  deleteMember(id: string, principalId: string): Promise<boolean>;
  /** Tenant roles held by any of these principal or group ids, across all tenants. */
  membershipsOf(subjectIds: readonly string[]): Promise<ReadonlyArray<readonly [string, TenantRole]>>;
  /**
   * A number that changes whenever any tenant or membership may have changed, or undefined when the
   * repository cannot tell (its caches are not synced). While it stays the same, `membershipsOf`
   * gives the same answer for the same subjects, so a caller may keep what it derived from one.
   */
  membershipsVersion?(): number | undefined;
}

/** Reachability of the cluster, for readiness. Resolves when reachable; rejects with the reason. */
export interface ClusterHealth {
  ping(): Promise<void>;
}
