/** KubeVirt's snapshot phases (`VirtualMachineSnapshot.status.phase`); `Unknown` before its controller saw it. */
export type SnapshotPhase = 'InProgress' | 'Succeeded' | 'Failed' | 'Unknown';

/** What KubeVirt says about how a snapshot was taken (`status.indications`). */
export type SnapshotIndication = 'Online' | 'GuestAgent' | 'NoGuestAgent';

/**
 * A VM snapshot as the cluster reports it (a `VirtualMachineSnapshot` of `snapshot.kubevirt.io`).
 * It is not owned by its VM (upstream semantics: snapshots outlive a VM); the platform labels it
 * with its tenant and VM and deletes a VM's snapshots with the VM.
 */
export interface SnapshotRecord {
  readonly tenant: string;
  /** The VM it was taken of. */
  readonly vm: string;
  /** DNS label, unique in the tenant. */
  readonly name: string;
  readonly phase: SnapshotPhase;
  readonly readyToUse: boolean;
  /** The VM was running when it was taken (indication `Online`). */
  readonly online: boolean;
  readonly indications: readonly SnapshotIndication[];
  /** KubeVirt's error message when it failed. */
  readonly error?: string;
  /** When KubeVirt took it (ISO 8601; absent until taken). */
  readonly creationTime?: string;
  /** When it was asked for (ISO 8601). */
  readonly createdAt: string;
  /** Storage it is counted for against the tenant's quota, GiB (the VM's disk size when it was taken). */
  readonly sizeGi: number;
  /** Operation that created it (a retried create recognises its own object by it). */
  readonly operationId?: string;
  readonly deleting: boolean;
}

/** What the platform writes to take a snapshot. */
export interface SnapshotSpec {
  readonly tenant: string;
  readonly vm: string;
  readonly name: string;
  readonly sizeGi: number;
  readonly operationId: string;
}

/** A restore of a VM from one of its snapshots (a `VirtualMachineRestore`), as the cluster reports it. */
export interface RestoreRecord {
  readonly tenant: string;
  readonly name: string;
  readonly vm: string;
  readonly snapshot: string;
  readonly complete: boolean;
  /** Why it failed (a `Failure` condition), if it did. */
  readonly failure?: string;
  /** ISO 8601. */
  readonly restoreTime?: string;
}

/**
 * Whether the cluster can snapshot VMs. Unsupported says what is missing and what to enable (the
 * snapshot.kubevirt.io CRDs, KubeVirt's `Snapshot` feature gate).
 */
export type SnapshotSupport = { readonly supported: true } | { readonly supported: false; readonly reason: string };

/** Job kinds: take a snapshot and wait until it is ready; restore a VM from one (stopping it first when asked). */
export const VM_SNAPSHOT_KIND = 'vm.snapshot';
export const VM_RESTORE_KIND = 'vm.restore';

/** Per-VM and per-tenant snapshot limits (configurable: SNAPSHOTS_PER_VM, SNAPSHOTS_PER_TENANT). */
export interface SnapshotLimits {
  readonly perVm: number;
  readonly perTenant: number;
}

export const DEFAULT_SNAPSHOT_LIMITS: SnapshotLimits = { perVm: 10, perTenant: 100 };

/** Name of the VirtualMachineRestore an operation creates: deterministic, so a re-run finds its own. */
export function restoreName(vm: string, operationId: string): string {
  return `${vm}-restore-${operationId.replace(/-/g, '').slice(0, 8).toLowerCase()}`;
}

/** A generated snapshot name: `<vm>-<yyyymmdd>-<hhmmss>` from `now` (UTC), at most 54 + 16 characters cut to a DNS label. */
export function generatedSnapshotName(vm: string, now: Date, suffix: string): string {
  const iso = now.toISOString();
  const stamp = `${iso.slice(0, 10).replace(/-/g, '')}-${iso.slice(11, 19).replace(/:/g, '')}`;
  const tail = `-${stamp}${suffix === '' ? '' : `-${suffix}`}`;
  return `${vm.slice(0, 63 - tail.length).replace(/-+$/, '')}${tail}`;
}

/** Snapshot names: DNS labels (at most 63 characters). */
export function snapshotNameIssues(name: string, field = '/name'): { field: string; message: string }[] {
  if (name.length > 63 || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name)) {
    return [{ field, message: 'must be a DNS label: lowercase letters, digits and -, at most 63 characters, starting and ending alphanumeric' }];
  }
  return [];
}
