import type { Image, ImageLocation, ImageOwner, ImageRef, ImageSpec } from './image.js';

/**
 * Where images live: CDI DataVolumes (`src/adapters/kubernetes/image-repository.ts`), or memory
 * (`createMemoryImageRepository` in `src/adapters/memory/image-repository.ts`, for tests). Both
 * pass the contract suite `test/contracts/image-repository.contract.ts`.
 *
 * Invariants every implementation keeps:
 * - `get` and `list` are served from a watch-backed cache once it is synced (no API request);
 *   a write answered by the server is visible to the next read (read-your-writes);
 * - `create` writes the DataVolume only; an existing one of the same name throws ConflictError
 *   `IMAGE_EXISTS`, unless it carries the same `operationId` (a retried create: returns it);
 *   a tenant image of a tenant that does not exist throws NotFoundError `TENANT_NOT_FOUND`;
 * - the platform namespace is created (labelled as ours) on the first platform create;
 * - `delete` of an absent image returns false; deleting removes the DataVolume (and its PVC);
 * - upstream outages surface as UpstreamUnavailableError, refusals as UpstreamRejectedError,
 *   quota refusals as QuotaExceededError.
 */
export interface ImageRepository {
  create(spec: ImageSpec): Promise<Image>;
  get(owner: ImageOwner, name: string): Promise<Image | undefined>;
  /** Every image of the owner, sorted by name. */
  list(owner: ImageOwner): Promise<readonly Image[]>;
  delete(owner: ImageOwner, name: string): Promise<boolean>;
}

/**
 * Who uses an image. VMs record their image in labels (`labplane.io/image-scope`,
 * `labplane.io/image`), so a count costs no disk inspection.
 */
export interface ImageUsage {
  /**
   * Number of VMs built from the image: for a tenant image, VMs of that tenant; for a platform
   * image, VMs of every tenant.
   */
  vmsUsing(owner: ImageOwner, name: string): Promise<number>;
}

/**
 * What a VM clones its root disk from. Resolves `ref` as seen from `tenant` (platform images, or
 * that tenant's own); throws NotFoundError `IMAGE_NOT_FOUND` when there is no such image.
 * Does not authorize: the calling use case has.
 */
export interface ImageLocator {
  resolve(tenant: string, ref: ImageRef): Promise<ImageLocation>;
}
