import { CLONE_PHASES, type ClonePhase, type CloneRecord, type CloneSpec, type PublishSpec } from '../../domain/vms/vm-copy.js';
import type * as kubevirt from './generated/kubevirt.js';
import { ANN_GENERALIZE, ANN_IMAGE_VERSION, ANN_SOURCE_VM, dataVolumeObject, type DataVolume } from './image-objects.js';
import type { KubeKind } from './kube-kind.js';
import { LABEL_MANAGED_BY, LABEL_TENANT, MANAGED_BY } from './tenant-objects.js';
import {
  ANN_ARC_EXTENSION,
  ANN_ARC_RESOURCE_ID,
  ANN_ARC_STATUS,
  ANN_DROPPED_AT,
  ANN_IDENTITY_READY,
  ANN_OPERATION_ID,
  ANN_OWNER_ID,
  CLOUD_INIT_VOLUME,
  cloudInitSecretName,
  KUBEVIRT_GROUP,
  LABEL_LAB,
  LABEL_OWNER,
  LABEL_VM,
  LABEL_VM_ID,
  ownerLabel,
  type VirtualMachine,
} from './vm-objects.js';

export type VirtualMachineClone = KubeKind<kubevirt.VirtualMachineClone>;

export const CLONE_GROUP = 'clone.kubevirt.io';
export const CLONE_VERSION = 'v1beta1';
export const VM_CLONES = 'virtualmachineclones';

/** JSON Pointer escaping of one path segment (RFC 6901). */
const seg = (s: string): string => s.replace(/~/g, '~0').replace(/\//g, '~1');
const add = (path: string, value: unknown): string => JSON.stringify({ op: 'add', path, value });
const remove = (path: string): string => JSON.stringify({ op: 'remove', path });

/** The source VM's identity annotations: its Arc machine and onboarding state, never the clone's. */
const SOURCE_ONLY_ANNOTATIONS = [ANN_ARC_STATUS, ANN_ARC_RESOURCE_ID, ANN_ARC_EXTENSION, ANN_IDENTITY_READY, ANN_DROPPED_AT];

/**
 * The JSON patches KubeVirt applies to the clone (`spec.patches`): the clone's own id, owner and
 * operation; none of the source's Arc identity annotations or lab membership; its own cloud-init
 * Secret `<clone>-cloudinit` (never the source's: its SSH keys, user-data and onboarding are the
 * source's); the run strategy asked for; its disks labelled as the clone's.
 */
export function clonePatches(source: VirtualMachine, spec: CloneSpec): string[] {
  const meta = source.metadata ?? {};
  const labels = meta.labels ?? {};
  const annotations = meta.annotations ?? {};
  const owner = ownerLabel(spec.ownerId);
  const patches = [
    add(`/metadata/labels/${seg(LABEL_VM_ID)}`, spec.targetId),
    add(`/metadata/labels/${seg(LABEL_OWNER)}`, owner),
    add(`/metadata/annotations/${seg(ANN_OWNER_ID)}`, spec.ownerId),
    add(`/metadata/annotations/${seg(ANN_OPERATION_ID)}`, spec.operationId),
    ...SOURCE_ONLY_ANNOTATIONS.filter((a) => annotations[a] !== undefined).map((a) => remove(`/metadata/annotations/${seg(a)}`)),
    ...(labels[LABEL_LAB] === undefined ? [] : [remove(`/metadata/labels/${seg(LABEL_LAB)}`)]),
    add('/spec/runStrategy', spec.running ? 'Always' : 'Halted'),
    add(`/spec/template/metadata/labels/${seg(LABEL_VM)}`, spec.target),
    add(`/spec/template/metadata/labels/${seg(LABEL_VM_ID)}`, spec.targetId),
    add(`/spec/template/metadata/labels/${seg(LABEL_OWNER)}`, owner),
    add(`/spec/template/metadata/labels/${seg('kubevirt.io/domain')}`, spec.target),
  ];
  (source.spec?.template?.spec?.volumes ?? []).forEach((v, i) => {
    if (v.name === CLOUD_INIT_VOLUME && v.cloudInitNoCloud?.secretRef !== undefined) {
      patches.push(add(`/spec/template/spec/volumes/${i}/cloudInitNoCloud/secretRef/name`, cloudInitSecretName(spec.target)));
    }
  });
  (source.spec?.dataVolumeTemplates ?? []).forEach((t, i) => {
    if (t.metadata?.labels?.[LABEL_VM] !== undefined)
      patches.push(add(`/spec/dataVolumeTemplates/${i}/metadata/labels/${seg(LABEL_VM)}`, spec.target));
    if (t.metadata?.labels?.[LABEL_VM_ID] !== undefined)
      patches.push(add(`/spec/dataVolumeTemplates/${i}/metadata/labels/${seg(LABEL_VM_ID)}`, spec.targetId));
  });
  return patches;
}

/**
 * The VirtualMachineClone of `source` into `spec.target`: new MAC addresses (`newMacAddresses`
 * left empty: KubeVirt generates a new one for every interface) and the SMBIOS serial of the spec
 * (`newSMBiosSerial`), the patches of {@link clonePatches}.
 */
export function cloneObject(source: VirtualMachine, spec: CloneSpec): VirtualMachineClone {
  return {
    apiVersion: `${CLONE_GROUP}/${CLONE_VERSION}`,
    kind: 'VirtualMachineClone',
    metadata: {
      name: spec.name,
      namespace: spec.tenant,
      labels: { [LABEL_MANAGED_BY]: MANAGED_BY, [LABEL_TENANT]: spec.tenant, [LABEL_VM]: spec.target },
      annotations: { [ANN_OPERATION_ID]: spec.operationId },
    },
    spec: {
      source: { apiGroup: KUBEVIRT_GROUP, kind: 'VirtualMachine', name: spec.source },
      target: { apiGroup: KUBEVIRT_GROUP, kind: 'VirtualMachine', name: spec.target },
      newSMBiosSerial: spec.serial,
      patches: clonePatches(source, spec),
    },
  };
}

export function cloneRecordOf(c: VirtualMachineClone): CloneRecord {
  const meta = c.metadata ?? {};
  const phase = c.status?.phase ?? '';
  const known = (CLONE_PHASES as readonly string[]).includes(phase);
  const failed = (c.status?.conditions ?? []).find((x) => x.status === 'False' && x.reason === 'Failed' && x.message !== undefined);
  return {
    tenant: meta.namespace ?? '',
    name: meta.name ?? '',
    source: c.spec?.source.name ?? '',
    target: c.spec?.target?.name ?? c.status?.targetName ?? '',
    phase: known ? (phase as ClonePhase) : 'Unknown',
    ...(phase === 'Failed' ? { failure: failed?.message ?? 'no reason given' } : {}),
  };
}

/**
 * The DataVolume of a published image: an image DataVolume like an import's (named after the image,
 * in the tenant namespace, labelled as a golden image) whose source is the VM's root disk
 * (`source.pvc`, a CDI clone in the same namespace), with its source VM, version and the
 * `generalize` mark as annotations.
 */
export function publishedImageObject(spec: PublishSpec): DataVolume {
  const dv = dataVolumeObject({
    owner: { scope: 'tenant', tenant: spec.tenant },
    name: spec.image,
    displayName: spec.displayName,
    source: { type: 'http', url: '' },
    sizeGi: spec.sizeGi,
    storageClass: spec.storageClass === 'kv-premium-retain' ? 'kv-premium-retain' : 'kv-standard',
    operationId: spec.operationId,
  });
  return {
    ...dv,
    metadata: {
      ...dv.metadata,
      annotations: {
        ...dv.metadata?.annotations,
        [ANN_SOURCE_VM]: spec.vm,
        [ANN_IMAGE_VERSION]: String(spec.version),
        [ANN_GENERALIZE]: 'true',
      },
    },
    spec: { ...dv.spec, source: { pvc: { namespace: spec.tenant, name: spec.sourcePvc } } },
  };
}
