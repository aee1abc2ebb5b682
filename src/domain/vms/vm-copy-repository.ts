import type { SnapshotSupport } from './snapshot.js';
import type { CloneRecord, CloneSpec, PublishSpec } from './vm-copy.js';

/**
 * Where copies of VMs are made (`src/adapters/kubernetes/vm-copy-repository.ts`): KubeVirt
 * `VirtualMachineClone`s, and CDI DataVolumes cloning a VM's root disk into a tenant image.
 *
 * - `cloneSupport` says whether the cluster can clone VMs (the clone.kubevirt.io CRD is served and
 *   KubeVirt's `Snapshot` feature gate is on: clones are made through a snapshot); cached briefly.
 * - writes are idempotent: `createClone` of an existing name is a no-op; `deleteClone` of an absent
 *   one resolves; `publish` of an image DataVolume carrying the same operation id returns, one
 *   carrying another throws ConflictError `IMAGE_EXISTS` (the caller deletes the previous version first).
 */
export interface VmCopyRepository {
  cloneSupport(): Promise<SnapshotSupport>;
  createClone(spec: CloneSpec): Promise<void>;
  cloneStatus(tenant: string, name: string): Promise<CloneRecord | undefined>;
  deleteClone(tenant: string, name: string): Promise<void>;
  /** The PVC (DataVolume) name of the VM's root disk, read from the VirtualMachine; undefined when the VM is gone. */
  rootDisk(tenant: string, vm: string): Promise<string | undefined>;
  /** Writes the image's DataVolume: a CDI clone of the VM's root disk (`source.pvc`) in the tenant namespace. */
  publish(spec: PublishSpec): Promise<void>;
}
