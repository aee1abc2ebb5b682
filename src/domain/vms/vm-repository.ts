import type { NodeRecord, VmChange, VmIdentityState, VmMigration, VmRecord, VmSpec } from './vm.js';

/** What happened to a VM, as it reached the cache (its VirtualMachine, VMI or migration changed). */
export interface VmEvent {
  readonly type: 'changed' | 'deleted';
  readonly tenant: string;
  readonly name: string;
  /** The VM after the change; absent when it was deleted. */
  readonly vm?: VmRecord;
}

/** Power actions KubeVirt exposes as subresources. */
export type VmPowerAction = 'start' | 'stop' | 'restart';

/**
 * Where VMs live: KubeVirt VirtualMachines with their VMIs, migrations, disks and cloud-init
 * Secrets (`src/adapters/kubernetes/vm-repository.ts`), or memory (`createMemoryVmRepository` in
 * `src/adapters/memory/vm-repository.ts`, for tests). Both pass the contract suite
 * `test/contracts/vm-repository.contract.ts`.
 *
 * Invariants every implementation keeps:
 * - reads (`get`, `list`, `migration`, `nodes`) are served from watch-backed caches once synced:
 *   they cost the API server nothing; a write answered by the server is visible to the next read
 *   (a power action is answered without the object: its effect shows once the cluster applied it);
 * - every write is idempotent, so a job step may run twice: `create` of a VM that exists with the
 *   same `operationId` returns it, with another throws ConflictError `VM_EXISTS` (`create` in a tenant
 *   that does not exist throws NotFoundError `TENANT_NOT_FOUND`); `delete` and
 *   `deleteCloudInit` of absent objects succeed; `migrate` of an existing migration name is a no-op;
 * - resourceVersion conflicts are retried a bounded number of times, then ConflictError `VERSION_CONFLICT`;
 * - upstream outages surface as UpstreamUnavailableError, refusals as UpstreamRejectedError,
 *   quota refusals as QuotaExceededError, a missing VM as NotFoundError `VM_NOT_FOUND`.
 */
export interface VmRepository {
  /** VMs of one tenant sorted by name, or of every tenant (sorted by tenant, then name). */
  list(tenant?: string): Promise<readonly VmRecord[]>;
  get(tenant: string, name: string): Promise<VmRecord | undefined>;
  /**
   * Stages the VM's cloud-init where only the control plane reads it; {@link adoptCloudInit} puts it
   * next to the VM once the VM exists (Secret `<vm>-cloudinit`, owned by the VM). Holds
   * credentials: the content never goes into operation inputs or logs.
   */
  putCloudInit(tenant: string, name: string, userData: string, scrubbedUserData?: string): Promise<void>;
  /**
   * Replaces the VM's user-data with the scrubbed version staged beside it by
   * {@link putCloudInit} (the onboarding token leaves the cluster). False when there was nothing to scrub.
   */
  scrubCloudInit(tenant: string, name: string): Promise<boolean>;
  /** Records where the VM's Azure identity stands (annotations of the VirtualMachine). NotFoundError when absent. */
  setIdentity(tenant: string, name: string, identity: VmIdentityState): Promise<void>;
  /**
   * Creates the VM's cloud-init Secret from what {@link putCloudInit} staged, with the VM as its
   * owner (it goes when the VM goes); no-op when nothing is staged. Never reads the tenant's Secrets.
   */
  adoptCloudInit(tenant: string, name: string): Promise<void>;
  /** Deletes the VM's cloud-init Secret and anything still staged for it. */
  deleteCloudInit(tenant: string, name: string): Promise<void>;
  /** What {@link putCloudInit} staged and nothing consumed yet, oldest first, with when it was staged (ISO). */
  listStagedCloudInit(): Promise<ReadonlyArray<{ readonly tenant: string; readonly name: string; readonly stagedAt: string }>>;
  /** Deletes only the staged copy of a VM's cloud-init; absent is fine. */
  deleteStagedCloudInit(tenant: string, name: string): Promise<void>;
  create(spec: VmSpec): Promise<VmRecord>;
  /** Applies a spec change (running → runStrategy). NotFoundError when absent. */
  update(tenant: string, name: string, change: VmChange): Promise<VmRecord>;
  /** Sends a power action (KubeVirt subresource); a 409 from KubeVirt is ConflictError `VM_ACTION_REFUSED`. */
  act(tenant: string, name: string, action: VmPowerAction): Promise<void>;
  /**
   * Deletes the VirtualMachine (its VMI and, unless `retainDisks`, its DataVolumes go with it).
   * With `retainDisks`, the disks are released from the VM first and stay, labelled
   * `labplane.io/retained-from=<vm>`. Resolves false when the VM was already gone.
   */
  delete(tenant: string, name: string, options: { readonly retainDisks: boolean }): Promise<boolean>;
  /** Creates a VirtualMachineInstanceMigration named `migrationName` for the VM's VMI. */
  migrate(tenant: string, name: string, migrationName: string): Promise<void>;
  migration(tenant: string, migrationName: string): Promise<VmMigration | undefined>;
  /** Nodes that run VMs. */
  nodes(): Promise<readonly NodeRecord[]>;
  /** Delivers changes as they reach the cache; returns the unsubscribe function. Listeners must not throw. */
  watch(listener: (event: VmEvent) => void): () => void;
}
