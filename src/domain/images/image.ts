/** Where an image lives: the platform-wide catalog or one tenant's private images. */
export type ImageScope = 'platform' | 'tenant';

export const IMAGE_SCOPES: readonly ImageScope[] = ['platform', 'tenant'];

/** The owner of an image: the platform catalog, or a tenant (its namespace). */
export type ImageOwner = { readonly scope: 'platform' } | { readonly scope: 'tenant'; readonly tenant: string };

export const PLATFORM: ImageOwner = { scope: 'platform' };

/** How a VM names the image it is built from; `tenant` images are those of the VM's own tenant. */
export interface ImageRef {
  readonly scope: ImageScope;
  readonly name: string;
}

/** Namespace holding the platform catalog's DataVolumes (created on demand, labelled as ours). */
export const PLATFORM_IMAGE_NAMESPACE = 'labplane-images';

/** Storage classes an image (and a VM disk) may use. */
export const STORAGE_CLASSES = ['kv-premium-retain', 'kv-standard'] as const;
export type StorageClass = (typeof STORAGE_CLASSES)[number];

export type ImageSourceType = 'http' | 'registry' | 's3';

/**
 * Where an image is imported from. `http` covers https (and http for allow-listed hosts);
 * `registry` is a `docker://` reference; `s3` names a Secret in the target namespace holding the
 * credentials (`accessKeyId`, `secretKey`). The Secret's name is stored, never its content.
 */
export type ImageSource =
  | { readonly type: 'http'; readonly url: string }
  | { readonly type: 'registry'; readonly url: string }
  | { readonly type: 's3'; readonly url: string; readonly secretRef: { readonly name: string } };

/**
 * Where a published image comes from: the tenant VM whose root disk it is a copy of, and which
 * version of the image this is (1 for the first publish to the name, +1 for every later one).
 */
export interface PublishedSource {
  readonly type: 'vm';
  readonly vm: string;
  readonly version: number;
}

/** Importing until CDI reports Succeeded (Ready) or Failed (or the importer keeps crashing). */
export type ImagePhase = 'Importing' | 'Ready' | 'Failed';

/** A golden image: a CDI DataVolume (and, once imported, its PVC) named after the image. */
export interface Image {
  readonly scope: ImageScope;
  /** Present for tenant images. */
  readonly tenant?: string;
  /** DNS label of at most 54 characters; also the DataVolume and PVC name. */
  readonly name: string;
  readonly displayName: string;
  /** Free-form operating system hint, e.g. `ubuntu-24.04`. */
  readonly os?: string;
  /** Imported from a URL, or published from one of the tenant's VMs. */
  readonly source: ImageSource | PublishedSource;
  /**
   * VMs created from it must generalise their copy of the disk on first boot (cloud-init again
   * with their own instance id, a new machine id, new SSH host keys, the Arc agent disconnected):
   * true for images published from a VM.
   */
  readonly generalize?: boolean;
  /** Size of the disk, whole GiB. */
  readonly sizeGi: number;
  readonly storageClass: StorageClass;
  readonly phase: ImagePhase;
  /** Import progress in percent (0..100), 100 once Ready. */
  readonly progress: number;
  /** Why the import failed (phase Failed), from CDI's conditions. */
  readonly failureReason?: string;
  /** Restarts of the importer pod so far (CDI `status.restartCount`). */
  readonly importRestarts: number;
  /** Id of the operation that imports it, when known. */
  readonly operationId?: string;
  /** ISO 8601. */
  readonly createdAt: string;
}

/** What the repository writes to start an import. */
export interface ImageSpec {
  readonly owner: ImageOwner;
  readonly name: string;
  readonly displayName: string;
  readonly os?: string;
  readonly source: ImageSource;
  readonly sizeGi: number;
  readonly storageClass: StorageClass;
  /** The import operation, recorded on the DataVolume so a retried create recognises its own object. */
  readonly operationId?: string;
}

/** Where a VM clones its root disk from (see `ImageLocator`). */
export interface ImageLocation {
  readonly namespace: string;
  /** The PVC (and DataVolume) holding the image; same as the image name. */
  readonly pvcName: string;
  readonly sizeGi: number;
  readonly storageClass: StorageClass;
  /** False until the import succeeded: cloning from it would wait or fail. */
  readonly ready: boolean;
  /** The disk is a copy of another VM's (a published image): VMs from it generalise it on first boot. */
  readonly generalize: boolean;
}

export function ownerOf(image: Pick<Image, 'scope' | 'tenant'>): ImageOwner {
  return image.scope === 'tenant' && image.tenant !== undefined ? { scope: 'tenant', tenant: image.tenant } : PLATFORM;
}

/** Namespace of an owner's images. */
export function imageNamespace(owner: ImageOwner): string {
  return owner.scope === 'platform' ? PLATFORM_IMAGE_NAMESPACE : owner.tenant;
}

/** Stable id of an image for operation targets and logs, like its REST path: `images/ubuntu`, `tenants/t1/images/ubuntu`. */
export function imageId(owner: ImageOwner, name: string): string {
  return owner.scope === 'platform' ? `images/${name}` : `tenants/${owner.tenant}/images/${name}`;
}
