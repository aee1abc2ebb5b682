import type { AccessRole } from '../identity/access.js';
import type { ImageRef, StorageClass } from '../images/image.js';
import type { VmAction, VmObservation, VmState } from './vm-state.js';

/** KubeVirt run strategies; the platform writes `Always` (running) and `Halted` (stopped). */
export type RunStrategy = 'Always' | 'Halted' | 'Manual' | 'RerunOnFailure' | 'Once' | 'WaitAsReceiver';

/**
 * What the platform asks a VM to be: written once by `vm.create`, except `cpu`, `memoryGi`,
 * `instanceType` and `running`, which updates change. CPU in cores, memory and disk in GiB.
 */
export interface VmSpec {
  readonly tenant: string;
  /** DNS label of at most 54 characters (Arc machine names are limited to 54). */
  readonly name: string;
  /** UUIDv5 of `${tenant}/${name}`: stable, and never the same in two tenants. */
  readonly id: string;
  /** Principal id of the VM's owner (a member acts only on VMs they own). */
  readonly ownerId: string;
  readonly lab?: string;
  readonly image: ImageRef;
  /** Where the root disk is cloned from (the image's PVC). */
  readonly source: { readonly namespace: string; readonly pvcName: string };
  readonly instanceType?: string;
  readonly cpu: number;
  readonly memoryGi: number;
  readonly diskGi: number;
  readonly storageClass: StorageClass;
  /** Azure Arc onboarding wanted (recorded now; the onboarding flow reads it). */
  readonly arc: boolean;
  readonly running: boolean;
  /** Caller's labels (never `labplane.io/*`, `kubevirt.io/*` or `app.kubernetes.io/*`). */
  readonly labels: Readonly<Record<string, string>>;
  /** Operation that creates the VM: a retried create recognises its own object by it. */
  readonly operationId?: string;
  /** Access granted once onboarded (recorded on the operation only). */
  readonly access?: VmAccessPlan;
}

/**
 * Who gets which access role on a VM with Arc on once it is onboarded. Without a plan, the owner
 * gets `administrator` when they own the tenant, else `user` (labs set it: students get the lab's
 * student role, instructors `administrator`).
 */
export interface VmAccessPlan {
  readonly ownerRole: AccessRole;
  readonly grants: readonly { readonly principalId: string; readonly role: AccessRole }[];
}

/** Where a VM's Azure identity stands (written by `vm.identity`; absent before it starts). */
export interface VmIdentityState {
  /** Arc agent status: `Pending` until the machine appears, then ARM's status. */
  readonly arcStatus: string;
  /** Full ARM id of the VM's Arc machine. */
  readonly machineResourceId: string;
  /** AADSSHLoginForLinux install: `NotStarted`, `InProgress`, `Succeeded`, `Failed`. */
  readonly extensionState: string;
  /** True once connected, extension installed and the owner's access granted. */
  readonly ready: boolean;
}

/** A live migration of a VM as the cluster reports it. */
export interface VmMigration {
  readonly name: string;
  /** KubeVirt phase: Pending, Scheduling, Scheduled, PreparingTarget, TargetReady, Running, Succeeded, Failed. */
  readonly phase: string;
  readonly failureReason?: string;
  /** Node names: platform detail, never shown to tenant members. */
  readonly sourceNode?: string;
  readonly targetNode?: string;
}

/** A VM as the cluster reports it (VirtualMachine, its VMI and its migrations), before derivation. */
export interface VmRecord extends Omit<VmSpec, 'source' | 'running' | 'operationId' | 'access'> {
  readonly runStrategy: string;
  /** ISO 8601. */
  readonly createdAt: string;
  /** Opaque version (resourceVersion of the VirtualMachine). */
  readonly version: string;
  readonly deleting: boolean;
  readonly observation: VmObservation;
  /** Node of the running VMI (platform detail). */
  readonly nodeName?: string;
  /**
   * The running instance: its uid changes on every (re)start. `startedAt` (ISO 8601): when it
   * reached Running (its VMI's phase transition), else when the VMI was created.
   */
  readonly instance?: { readonly uid: string; readonly cpu: number; readonly memoryGi: number; readonly startedAt: string };
  /** The latest migration of the VM, if any. */
  readonly migration?: VmMigration;
  readonly operationId?: string;
  /** Azure identity progress of a VM with Arc on. */
  readonly identity?: VmIdentityState;
  /** When the VM's student was dropped from its lab's roster (ISO 8601); it is deleted after the lab's grace period. */
  readonly droppedAt?: string;
}

/** A VM as the API shows it: the record plus its derived state and what it can do now. */
export interface VmView extends Omit<VmRecord, 'observation' | 'instance' | 'operationId'> {
  readonly state: VmState;
  readonly reason?: string;
  readonly message?: string;
  readonly running: boolean;
  readonly liveMigratable: boolean;
  readonly availableActions: readonly VmAction[];
  /** CPU or memory changed while running: the change applies at the next restart. */
  readonly restartRequired: boolean;
}

/** A change to a VM's spec (PATCH). */
export interface VmChange {
  readonly cpu?: number;
  readonly memoryGi?: number;
  /** Set with cpu/memory from a catalog entry; `null` clears it (explicit sizing). */
  readonly instanceType?: string | null;
  readonly running?: boolean;
  /** Marks the VM's student as dropped from the lab roster at this instant (ISO 8601); `null` clears it. */
  readonly droppedAt?: string | null;
}

/** A Kubernetes node that runs VMs (platform admins only). */
export interface NodeRecord {
  readonly name: string;
  readonly ready: boolean;
  /** False when cordoned (`spec.unschedulable`). */
  readonly schedulable: boolean;
  readonly zone?: string;
  readonly instanceType?: string;
  /** Allocatable CPU in cores and memory in GiB. */
  readonly cpu: number;
  readonly memoryGi: number;
}

/** Job kinds of the VM use cases. */
export const VM_CREATE_KIND = 'vm.create';
export const VM_DELETE_KIND = 'vm.delete';
export const VM_MIGRATE_KIND = 'vm.migrate';
export const NODE_EVACUATE_KIND = 'node.evacuate';
/** Onboarding a VM with Arc on: wait for its machine, install the SSH login extension, grant access. */
export const VM_IDENTITY_KIND = 'vm.identity';
export const VM_POWER_KINDS = { start: 'vm.start', stop: 'vm.stop', restart: 'vm.restart' } as const;

/** Operation target id of a VM. */
export function vmTargetId(tenant: string, name: string): string {
  return `${tenant}/${name}`;
}
