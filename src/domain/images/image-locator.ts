import { NotFoundError } from '../shared/errors.js';
import { imageNamespace, PLATFORM, type ImageOwner } from './image.js';
import type { ImageLocator, ImageRepository } from './image-repository.js';

/** The `ImageLocator` over the image repository (reads its cache: costs the API server nothing). */
export function createImageLocator(deps: { readonly repo: Pick<ImageRepository, 'get'> }): ImageLocator {
  return {
    async resolve(tenant, ref) {
      const owner: ImageOwner = ref.scope === 'platform' ? PLATFORM : { scope: 'tenant', tenant };
      const image = await deps.repo.get(owner, ref.name);
      if (image === undefined) throw new NotFoundError('image', ref.name);
      return {
        namespace: imageNamespace(owner),
        pvcName: image.name,
        sizeGi: image.sizeGi,
        storageClass: image.storageClass,
        ready: image.phase === 'Ready',
        generalize: image.generalize === true,
      };
    },
  };
}
