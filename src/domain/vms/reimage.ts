import type { ImageRef } from '../images/image.js';
import type { JsonObject } from '../operations/operation.js';
import { accessFromInput, accessToInput, vmOfInput } from './vm-job-input.js';
import type { VmAccessPlan } from './vm.js';

/** Job kind of a VM reimage: its root disk replaced by a fresh copy of an image. */
export const VM_REIMAGE_KIND = 'vm.reimage';

/** Where a reimaged VM's new root disk comes from (the image and its PVC). */
export interface DiskSource {
  readonly image: ImageRef;
  readonly namespace: string;
  readonly pvcName: string;
}

/** A VM's root disk as the cluster reports it (its DataVolume). */
export interface RootDiskState {
  readonly name: string;
  /** CDI phase: Pending, CloneScheduled, CloneInProgress, Succeeded, Failed... */
  readonly phase: string;
  /** Why it failed, when CDI says. */
  readonly failure?: string;
}

/**
 * The root disks of VMs (CDI DataVolumes of their `dataVolumeTemplates`), for reimaging. Implemented
 * by `src/adapters/kubernetes/vm-disks.ts`. Every write is idempotent (a job step may run twice).
 */
export interface VmDisks {
  /**
   * Points the VM's root disk at a new DataVolume `disk` cloned from `source` (same size and
   * storage class; the VM's image labels follow). KubeVirt creates it from the template. No-op
   * when the VM's root disk is `disk` already. NotFoundError when the VM is gone.
   */
  replaceRootDisk(tenant: string, vm: string, disk: string, source: DiskSource): Promise<void>;
  /** The DataVolume `disk` of the tenant; undefined while it does not exist. */
  rootDisk(tenant: string, disk: string): Promise<RootDiskState | undefined>;
  /** Deletes the VM's own DataVolumes (owned by it) that its templates no longer name; returns their names. */
  pruneDisks(tenant: string, vm: string): Promise<string[]>;
}

/** The input of `vm.reimage` (no secrets: a new cloud-init, if any, was staged before it started). */
export interface ReimageInput {
  readonly tenant: string;
  readonly name: string;
  readonly ownerId: string;
  readonly source: DiskSource;
  /** The VM ran when the reimage was asked: it is started again once its new disk is ready. */
  readonly wasRunning: boolean;
  /** Arc on: a fresh cloud-init with a new onboarding token was staged; the agent re-onboards under the same machine. */
  readonly arc: boolean;
  readonly lab?: string;
  readonly access?: VmAccessPlan;
}

export function reimageToInput(i: ReimageInput): JsonObject {
  return {
    tenant: i.tenant,
    name: i.name,
    ownerId: i.ownerId,
    image: { scope: i.source.image.scope, name: i.source.image.name },
    source: { namespace: i.source.namespace, pvcName: i.source.pvcName },
    wasRunning: i.wasRunning,
    arc: i.arc,
    ...(i.lab === undefined ? {} : { lab: i.lab }),
    ...(i.access === undefined ? {} : { access: accessToInput(i.access) }),
  };
}

export function reimageOfInput(input: JsonObject): ReimageInput {
  const { tenant, name } = vmOfInput(input);
  const image = (input['image'] ?? {}) as JsonObject;
  const source = (input['source'] ?? {}) as JsonObject;
  const access = accessFromInput(input);
  return {
    tenant,
    name,
    ownerId: String(input['ownerId'] ?? ''),
    source: {
      image: { scope: image['scope'] === 'tenant' ? 'tenant' : 'platform', name: String(image['name'] ?? '') },
      namespace: String(source['namespace'] ?? ''),
      pvcName: String(source['pvcName'] ?? ''),
    },
    wasRunning: input['wasRunning'] === true,
    arc: input['arc'] === true,
    ...(typeof input['lab'] === 'string' ? { lab: input['lab'] } : {}),
    ...(access === undefined ? {} : { access }),
  };
}
