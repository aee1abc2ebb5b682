import type { V1Namespace, V1NetworkPolicy, V1Role, V1RoleBinding } from '@kubernetes/client-node';
import {
  PLATFORM_IMAGE_NAMESPACE,
  STORAGE_CLASSES,
  type Image,
  type ImageOwner,
  type ImageSource,
  type ImageSpec,
  type PublishedSource,
  type StorageClass,
} from '../../domain/images/image.js';
import { deriveImport } from '../../domain/images/image-rules.js';
import type * as cdi from './generated/cdi.js';
import { giFromQuantity } from './quantity.js';
import type { KubeKind } from './kube-kind.js';
import { egressPolicyObject, LABEL_MANAGED_BY, LABEL_TENANT, MANAGED_BY } from './tenant-objects.js';

export const CDI_GROUP = 'cdi.kubevirt.io';
export const CDI_VERSION = 'v1beta1';
export const DATAVOLUMES = 'datavolumes';
export const DATAVOLUME_PATH = `/apis/${CDI_GROUP}/${CDI_VERSION}/${DATAVOLUMES}`;

/** Marks the DataVolumes that are images (VM disks, which are DataVolumes too, do not carry it). */
export const LABEL_COMPONENT = 'app.kubernetes.io/component';
export const COMPONENT_IMAGE = 'golden-image';
export const IMAGE_SELECTOR = `${LABEL_MANAGED_BY}=${MANAGED_BY},${LABEL_COMPONENT}=${COMPONENT_IMAGE}`;
/** On images and on VMs built from one (set by the VM side): which image. */
export const LABEL_IMAGE = 'labplane.io/image';
/** On images and on VMs built from one: `platform` or `tenant`. */
export const LABEL_IMAGE_SCOPE = 'labplane.io/image-scope';
export const ANN_IMAGE_DISPLAY_NAME = 'labplane.io/display-name';
export const ANN_IMAGE_OS = 'labplane.io/os';
/** The import operation that created the DataVolume: a retried create recognises its own object. */
export const ANN_OPERATION_ID = 'labplane.io/operation-id';
/** Published images: the VM whose root disk the image is a copy of. */
export const ANN_SOURCE_VM = 'labplane.io/source-vm';
/** Published images: the version (1, 2, ...) of the image name. */
export const ANN_IMAGE_VERSION = 'labplane.io/image-version';
/** `true`: VMs created from the image generalise their copy of the disk on first boot. */
export const ANN_GENERALIZE = 'labplane.io/generalize';
/** Golden images bind at once (storage classes with WaitForFirstConsumer would wait for a pod forever). */
export const ANN_BIND_IMMEDIATE = 'cdi.kubevirt.io/storage.bind.immediate.requested';

/** A CDI DataVolume (`cdi.kubevirt.io/v1beta1`). */
export type DataVolume = KubeKind<cdi.DataVolume>;

export function imageNamespaceOf(owner: ImageOwner): string {
  return owner.scope === 'platform' ? PLATFORM_IMAGE_NAMESPACE : owner.tenant;
}

function sourceObject(source: ImageSource): cdi.Schemas['v1beta1.DataVolumeSource'] {
  switch (source.type) {
    case 'http':
      return { http: { url: source.url } };
    case 'registry':
      return { registry: { url: source.url } };
    case 's3':
      return { s3: { url: source.url, secretRef: source.secretRef.name } };
  }
}

/** The DataVolume of an image: named after it, in its owner's namespace, labelled as ours. */
export function dataVolumeObject(spec: ImageSpec): DataVolume {
  const namespace = imageNamespaceOf(spec.owner);
  const labels: Record<string, string> = {
    [LABEL_MANAGED_BY]: MANAGED_BY,
    [LABEL_COMPONENT]: COMPONENT_IMAGE,
    [LABEL_IMAGE]: spec.name,
    [LABEL_IMAGE_SCOPE]: spec.owner.scope,
  };
  if (spec.owner.scope === 'tenant') labels[LABEL_TENANT] = spec.owner.tenant;
  const annotations: Record<string, string> = {
    [ANN_IMAGE_DISPLAY_NAME]: spec.displayName,
    [ANN_BIND_IMMEDIATE]: 'true',
  };
  if (spec.os !== undefined) annotations[ANN_IMAGE_OS] = spec.os;
  if (spec.operationId !== undefined) annotations[ANN_OPERATION_ID] = spec.operationId;
  return {
    apiVersion: `${CDI_GROUP}/${CDI_VERSION}`,
    kind: 'DataVolume',
    metadata: { name: spec.name, namespace, labels, annotations },
    spec: {
      source: sourceObject(spec.source),
      storage: {
        resources: { requests: { storage: `${spec.sizeGi}Gi` } },
        storageClassName: spec.storageClass,
      },
    },
  };
}

function sourceFrom(dv: DataVolume): ImageSource | PublishedSource | undefined {
  const s = dv.spec?.source;
  const ann = dv.metadata?.annotations ?? {};
  if (s?.pvc?.name !== undefined && ann[ANN_SOURCE_VM] !== undefined) {
    const version = Number(ann[ANN_IMAGE_VERSION] ?? '1');
    return { type: 'vm', vm: ann[ANN_SOURCE_VM], version: Number.isInteger(version) && version > 0 ? version : 1 };
  }
  if (s?.http?.url !== undefined) return { type: 'http', url: s.http.url };
  if (s?.registry?.url !== undefined) return { type: 'registry', url: s.registry.url };
  if (s?.s3?.url !== undefined) return { type: 's3', url: s.s3.url, secretRef: { name: s.s3.secretRef ?? '' } };
  return undefined;
}

function timestamp(v: unknown): string {
  const d = v instanceof Date ? v : new Date(typeof v === 'string' ? v : 0);
  return Number.isNaN(d.getTime()) ? new Date(0).toISOString() : d.toISOString();
}

function sizeOf(dv: DataVolume): number {
  const q = dv.spec?.storage?.resources?.requests?.['storage'];
  if (q === undefined) return 0;
  try {
    return Math.ceil(giFromQuantity(q));
  } catch {
    return 0;
  }
}

/** The image a DataVolume of ours describes; undefined for one that is not an image we could have written. */
export function imageFromDataVolume(dv: DataVolume): Image | undefined {
  const meta = dv.metadata ?? {};
  const name = meta.name;
  const namespace = meta.namespace;
  const source = sourceFrom(dv);
  const storageClass = STORAGE_CLASSES.find((c) => c === dv.spec?.storage?.storageClassName);
  if (name === undefined || namespace === undefined || source === undefined || storageClass === undefined) return undefined;
  const ann = meta.annotations ?? {};
  const derived = deriveImport({
    ...(dv.status?.phase === undefined ? {} : { phase: dv.status.phase }),
    ...(dv.status?.progress === undefined ? {} : { progress: dv.status.progress }),
    ...(dv.status?.restartCount === undefined ? {} : { restartCount: dv.status.restartCount }),
    conditions: dv.status?.conditions ?? [],
  });
  const os = ann[ANN_IMAGE_OS];
  const operationId = ann[ANN_OPERATION_ID];
  const platform = namespace === PLATFORM_IMAGE_NAMESPACE;
  return {
    scope: platform ? 'platform' : 'tenant',
    ...(platform ? {} : { tenant: namespace }),
    name,
    displayName: ann[ANN_IMAGE_DISPLAY_NAME] ?? name,
    ...(os === undefined ? {} : { os }),
    source,
    ...(ann[ANN_GENERALIZE] === 'true' ? { generalize: true } : {}),
    sizeGi: sizeOf(dv),
    storageClass: storageClass satisfies StorageClass,
    phase: derived.phase,
    progress: derived.progress,
    ...(derived.failureReason === undefined ? {} : { failureReason: derived.failureReason }),
    importRestarts: dv.status?.restartCount ?? 0,
    ...(operationId === undefined ? {} : { operationId }),
    createdAt: timestamp(meta.creationTimestamp),
  };
}

const PLATFORM_LABELS = { [LABEL_MANAGED_BY]: MANAGED_BY, [LABEL_COMPONENT]: 'image-catalog' };

/** The namespace of the platform catalog: ours, but not a tenant (never `provisioned`). */
export function platformNamespaceObject(): V1Namespace {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name: PLATFORM_IMAGE_NAMESPACE, labels: { ...PLATFORM_LABELS } } };
}

/**
 * Egress of the catalog's importer pods: DNS and the internet only, like a tenant's. A second line
 * behind the SSRF guard, against names that resolve elsewhere by the time the importer connects.
 */
export function platformEgressPolicyObject(extraBlocked: readonly string[]): V1NetworkPolicy {
  const policy = egressPolicyObject(PLATFORM_IMAGE_NAMESPACE, extraBlocked);
  return { ...policy, metadata: { ...policy.metadata, labels: { ...PLATFORM_LABELS } } };
}

export const CLONE_ROLE_NAME = 'labplane-image-clone';

/**
 * Platform images are cloned into tenant namespaces. CDI authorizes a cross-namespace clone against
 * the VM namespace's ServiceAccount (`create` on `datavolumes/source` in the source namespace), so
 * every ServiceAccount may clone from the catalog (and from nothing else): the catalog is public.
 */
export function platformCloneRoleObject(): V1Role {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: CLONE_ROLE_NAME, namespace: PLATFORM_IMAGE_NAMESPACE, labels: { ...PLATFORM_LABELS } },
    rules: [{ apiGroups: [CDI_GROUP], resources: ['datavolumes/source'], verbs: ['create'] }],
  };
}

export function platformCloneBindingObject(): V1RoleBinding {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: CLONE_ROLE_NAME, namespace: PLATFORM_IMAGE_NAMESPACE, labels: { ...PLATFORM_LABELS } },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: CLONE_ROLE_NAME },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'system:serviceaccounts' }],
  };
}
