import { createHash } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import type { VmSpec } from '../../domain/vms/vm.js';
import { rootDiskName } from '../../domain/vms/vm-disk-name.js';
import type * as kubevirt from './generated/kubevirt.js';
import { LABEL_IMAGE, LABEL_IMAGE_SCOPE } from './image-objects.js';
import type { KubeKind } from './kube-kind.js';
import { formatCpu, formatGi } from './quantity.js';
import { LABEL_MANAGED_BY, LABEL_TENANT, MANAGED_BY } from './tenant-objects.js';

export const KUBEVIRT_GROUP = 'kubevirt.io';
export const KUBEVIRT_VERSION = 'v1';
export const VMS = 'virtualmachines';
export const VMIS = 'virtualmachineinstances';
export const VMIMS = 'virtualmachineinstancemigrations';

export const LABEL_OWNER = 'labplane.io/owner';
export const LABEL_LAB = 'labplane.io/lab';
export const LABEL_VM_ID = 'labplane.io/vm-id';
export const LABEL_VM = 'labplane.io/vm';
/** Nodes of the KubeVirt pool (the seeded and the real ones carry it). */
export const NODE_SELECTOR = 'workload=kubevirt';
export const LABEL_ARC = 'labplane.io/arc';
export const LABEL_COMPONENT = 'app.kubernetes.io/component';
/** On disks kept after their VM was deleted (storage class `kv-premium-retain`): the VM's name. */
export const LABEL_RETAINED_FROM = 'labplane.io/retained-from';
/** The real owner id (label values cannot hold every principal id; the label holds a hash). */
export const ANN_OWNER_ID = 'labplane.io/owner-id';
export const ANN_INSTANCE_TYPE = 'labplane.io/instance-type';
export const ANN_OPERATION_ID = 'labplane.io/operation-id';

export const CLOUD_INIT_KEY = 'userdata';
/** The user-data without the onboarding token, kept beside it until the machine is connected. */
export const CLOUD_INIT_SCRUBBED_KEY = 'userdata-scrubbed';
export const ANN_ARC_STATUS = 'labplane.io/arc-status';
export const ANN_ARC_RESOURCE_ID = 'labplane.io/arc-resource-id';
export const ANN_ARC_EXTENSION = 'labplane.io/arc-extension';
export const ANN_IDENTITY_READY = 'labplane.io/identity-ready';
/** When the VM's student left the lab roster (ISO 8601). */
export const ANN_DROPPED_AT = 'labplane.io/dropped-at';
export const ROOT_VOLUME = 'root';
export const CLOUD_INIT_VOLUME = 'cloudinit';

/** Quantities as KubeVirt objects carry them (`requests`, `limits`). */
export type ResourceList = NonNullable<kubevirt.Schemas['v1.ResourceRequirements']['requests']>;

/** A VM or VMI condition, as far as the mapping reads it. */
export type KubeCondition = Pick<kubevirt.Schemas['v1.VirtualMachineCondition'], 'type' | 'status' | 'reason' | 'message'>;

export type MigrationState = kubevirt.Schemas['v1.VirtualMachineInstanceMigrationState'];

/** A KubeVirt VirtualMachine (`kubevirt.io/v1`). */
export type VirtualMachine = KubeKind<kubevirt.VirtualMachine>;

/** A KubeVirt VirtualMachineInstance (`kubevirt.io/v1`). */
export type VirtualMachineInstance = KubeKind<kubevirt.VirtualMachineInstance>;

/** A KubeVirt VirtualMachineInstanceMigration (`kubevirt.io/v1`). */
export type VirtualMachineInstanceMigration = KubeKind<kubevirt.VirtualMachineInstanceMigration>;

/** Label value standing for a principal id (ids may hold characters label values may not). */
export function ownerLabel(ownerId: string): string {
  return createHash('sha256').update(ownerId, 'utf8').digest('hex').slice(0, 40);
}

export const cloudInitSecretName = (vm: string): string => `${vm}-cloudinit`;

export { rootDiskName } from '../../domain/vms/vm-disk-name.js';

function commonLabels(tenant: string): Record<string, string> {
  return { [LABEL_MANAGED_BY]: MANAGED_BY, [LABEL_TENANT]: tenant };
}

/** Labels the VM carries: the caller's, then ours (ours win). */
export function vmLabels(spec: VmSpec): Record<string, string> {
  return {
    ...spec.labels,
    ...commonLabels(spec.tenant),
    [LABEL_VM_ID]: spec.id,
    [LABEL_OWNER]: ownerLabel(spec.ownerId),
    [LABEL_IMAGE_SCOPE]: spec.image.scope,
    [LABEL_IMAGE]: spec.image.name,
    [LABEL_ARC]: spec.arc ? 'true' : 'false',
    ...(spec.lab === undefined ? {} : { [LABEL_LAB]: spec.lab }),
  };
}

export function computeResources(cpu: number, memoryGi: number): { requests: ResourceList; limits: ResourceList } {
  const figures = { cpu: formatCpu(cpu), memory: formatGi(memoryGi) };
  return { requests: { ...figures }, limits: { ...figures } };
}

/**
 * The VirtualMachine of a spec: runStrategy Always/Halted; the root disk cloned from the image PVC
 * through `dataVolumeTemplates` (owned by the VM, so it goes with it); cloud-init from the
 * `<vm>-cloudinit` Secret; virtio disks; masquerade pod network; the `kubevirt.io/dedicated`
 * toleration and `workload=kubevirt` node selector; requests equal to limits; evicted by live
 * migration when possible. The template's labels go to the VMI (so the VMI informer sees it).
 */
export function virtualMachineObject(spec: VmSpec): VirtualMachine {
  const disk = rootDiskName(spec);
  const labels = vmLabels(spec);
  return {
    apiVersion: `${KUBEVIRT_GROUP}/${KUBEVIRT_VERSION}`,
    kind: 'VirtualMachine',
    metadata: {
      name: spec.name,
      namespace: spec.tenant,
      labels,
      annotations: {
        [ANN_OWNER_ID]: spec.ownerId,
        ...(spec.instanceType === undefined ? {} : { [ANN_INSTANCE_TYPE]: spec.instanceType }),
        ...(spec.operationId === undefined ? {} : { [ANN_OPERATION_ID]: spec.operationId }),
      },
    },
    spec: {
      runStrategy: spec.running ? 'Always' : 'Halted',
      dataVolumeTemplates: [
        {
          metadata: {
            name: disk,
            labels: { ...commonLabels(spec.tenant), [LABEL_COMPONENT]: 'vm-disk', [LABEL_VM]: spec.name, [LABEL_VM_ID]: spec.id },
          },
          spec: {
            source: { pvc: { namespace: spec.source.namespace, name: spec.source.pvcName } },
            storage: { storageClassName: spec.storageClass, resources: { requests: { storage: formatGi(spec.diskGi) } } },
          },
        },
      ],
      template: {
        metadata: {
          labels: {
            ...commonLabels(spec.tenant),
            [LABEL_VM]: spec.name,
            [LABEL_VM_ID]: spec.id,
            [LABEL_OWNER]: labels[LABEL_OWNER] ?? '',
            'kubevirt.io/domain': spec.name,
          },
        },
        spec: {
          nodeSelector: { workload: 'kubevirt' },
          tolerations: [{ key: 'kubevirt.io/dedicated', operator: 'Equal', value: 'true', effect: 'NoSchedule' }],
          evictionStrategy: 'LiveMigrateIfPossible',
          domain: {
            cpu: { cores: spec.cpu },
            resources: computeResources(spec.cpu, spec.memoryGi),
            devices: {
              disks: [
                { name: ROOT_VOLUME, disk: { bus: 'virtio' } },
                { name: CLOUD_INIT_VOLUME, disk: { bus: 'virtio' } },
              ],
              interfaces: [{ name: 'default', masquerade: {} }],
            },
          },
          networks: [{ name: 'default', pod: {} }],
          volumes: [
            { name: ROOT_VOLUME, dataVolume: { name: disk } },
            { name: CLOUD_INIT_VOLUME, cloudInitNoCloud: { secretRef: { name: cloudInitSecretName(spec.name) } } },
          ],
        },
      },
    },
  };
}

/** The cloud-init Secret of a VM (user-data under `userdata`, the key KubeVirt reads). */
export function cloudInitSecretObject(tenant: string, vm: string, userData: string, scrubbedUserData?: string): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: cloudInitSecretName(vm), namespace: tenant, labels: { ...commonLabels(tenant), [LABEL_VM]: vm } },
    type: 'Opaque',
    data: {
      [CLOUD_INIT_KEY]: Buffer.from(userData, 'utf8').toString('base64'),
      ...(scrubbedUserData === undefined ? {} : { [CLOUD_INIT_SCRUBBED_KEY]: Buffer.from(scrubbedUserData, 'utf8').toString('base64') }),
    },
  };
}

/** A live migration of the VM's VMI, named deterministically by the caller (idempotent create). */
export function migrationObject(tenant: string, vm: string, name: string): VirtualMachineInstanceMigration {
  return {
    apiVersion: `${KUBEVIRT_GROUP}/${KUBEVIRT_VERSION}`,
    kind: 'VirtualMachineInstanceMigration',
    metadata: { name, namespace: tenant, labels: { ...commonLabels(tenant), [LABEL_VM]: vm } },
    spec: { vmiName: vm },
  };
}
