import type { RestoreRecord, SnapshotRecord, SnapshotSpec, SnapshotSupport } from './snapshot.js';

/**
 * Where VM snapshots and restores live: KubeVirt `VirtualMachineSnapshot`s and
 * `VirtualMachineRestore`s (`src/adapters/kubernetes/snapshot-repository.ts`).
 *
 * - `support` says whether the cluster can snapshot VMs (the snapshot.kubevirt.io CRDs are served
 *   and KubeVirt's `Snapshot` feature gate is on); the answer is cached briefly. The other calls
 *   assume it can: on a cluster that cannot, they throw `SNAPSHOTS_NOT_SUPPORTED`.
 * - writes are idempotent: `create` of a snapshot that exists with the same `operationId` returns it,
 *   with another throws ConflictError `SNAPSHOT_EXISTS`; `delete` of an absent one resolves false;
 *   `restore` of an existing restore name is a no-op.
 */
export interface SnapshotRepository {
  support(): Promise<SnapshotSupport>;
  /** The tenant's snapshots (of one VM when `vm` is given), sorted by name. */
  list(tenant: string, vm?: string): Promise<readonly SnapshotRecord[]>;
  get(tenant: string, name: string): Promise<SnapshotRecord | undefined>;
  create(spec: SnapshotSpec): Promise<SnapshotRecord>;
  delete(tenant: string, name: string): Promise<boolean>;
  /** Creates the VirtualMachineRestore `name` of `vm` from `snapshot`. */
  restore(tenant: string, name: string, vm: string, snapshot: string): Promise<void>;
  restoreStatus(tenant: string, name: string): Promise<RestoreRecord | undefined>;
}
