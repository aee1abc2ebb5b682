/**
 * Copies of a VM: a clone (another VM of the tenant, a KubeVirt `VirtualMachineClone` of
 * `clone.kubevirt.io/v1beta1`) and a published image (a CDI clone of the VM's root disk that becomes
 * a tenant image). Both carry another machine's disk, so both are generalised on first boot (see
 * `generalizeConfig` in ./cloud-init.ts): never the source's SSH host keys, machine id or Arc agent identity.
 */

/** KubeVirt's clone phases (`VirtualMachineClone.status.phase`); `Unknown` before its controller saw it. */
export type ClonePhase = 'SnapshotInProgress' | 'CreatingTargetVM' | 'RestoreInProgress' | 'Succeeded' | 'Failed' | 'Unknown';

export const CLONE_PHASES: readonly ClonePhase[] = ['SnapshotInProgress', 'CreatingTargetVM', 'RestoreInProgress', 'Succeeded', 'Failed'];

/** What the platform writes to clone `source` into `target` (same tenant). */
export interface CloneSpec {
  readonly tenant: string;
  /** Name of the VirtualMachineClone object (deterministic per operation: a re-run finds its own). */
  readonly name: string;
  readonly source: string;
  readonly target: string;
  /** The target's labplane id (UUIDv5 of tenant/target), owner and Arc flag: ours, never the source's. */
  readonly targetId: string;
  readonly ownerId: string;
  readonly arc: boolean;
  readonly running: boolean;
  /** The SMBIOS serial the target gets (`newSMBiosSerial`); MAC addresses are left to KubeVirt to generate anew. */
  readonly serial: string;
  readonly operationId: string;
}

/** A VirtualMachineClone as the cluster reports it. */
export interface CloneRecord {
  readonly tenant: string;
  readonly name: string;
  readonly source: string;
  readonly target: string;
  readonly phase: ClonePhase;
  /** Why it failed (a condition's message), when it did. */
  readonly failure?: string;
}

/** What the platform writes to publish a VM's root disk as (a new version of) a tenant image. */
export interface PublishSpec {
  readonly tenant: string;
  readonly image: string;
  readonly displayName: string;
  readonly vm: string;
  /** The VM's root disk (PVC) in the tenant namespace: the CDI clone's source. */
  readonly sourcePvc: string;
  readonly version: number;
  readonly sizeGi: number;
  readonly storageClass: string;
  readonly operationId: string;
}

/** Job kinds: clone a VM into a new VM; publish a VM's disk as a tenant image. */
export const VM_CLONE_KIND = 'vm.clone';
export const VM_PUBLISH_KIND = 'vm.publish';

/** Name of the VirtualMachineClone an operation writes: `<target>-clone-<8 hex of the operation id>`. */
export function cloneObjectName(target: string, operationId: string): string {
  return `${target.slice(0, 48)}-clone-${operationId.replace(/-/g, '').slice(0, 8).toLowerCase()}`;
}
