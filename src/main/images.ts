import { createKubeImageRepository } from '../adapters/kubernetes/image-repository.js';
import { imagesModule } from '../api/modules/index.js';
import type { ImageLocator, ImageRepository } from '../domain/images/image-repository.js';
import { createImageLocator } from '../domain/images/image-locator.js';
import { createImageService, type ImageService } from '../domain/images/image-service.js';
import { imageImportJob } from '../jobs/kinds/image-import.js';
import { defineArea, type Platform } from './area.js';

export interface ImagesExports {
  readonly repo: ImageRepository;
  /** For the VM side: where a VM clones its root disk from. */
  readonly locator: ImageLocator;
  readonly service: ImageService;
}

/** Image repository (watch-backed), use cases, the `image.import` job kind and the API module. */
export const imagesArea = defineArea({
  name: 'images',
  needs: [],
  async build(ctx: Pick<Platform, 'config' | 'world' | 'kube' | 'tenantRepo' | 'operations'>) {
    const { config } = ctx;
    const repo = createKubeImageRepository({ client: ctx.kube, clusterPrivateCidrs: [...config.clusterPrivateCidrs] });
    await repo.start();
    const service = createImageService({
      repo,
      usage: repo,
      tenants: ctx.tenantRepo,
      operations: ctx.operations,
      resolver: ctx.world.network.imageResolver,
      policy: {
        httpAllowedHosts: config.images.httpAllowedHosts,
        ...(config.images.s3Endpoint === undefined ? {} : { s3Endpoint: config.images.s3Endpoint }),
      },
    });
    return {
      exports: { repo, locator: createImageLocator({ repo }), service } satisfies ImagesExports,
      jobKinds: [imageImportJob({ repo, followIntervalMs: config.images.importPollMs })],
      api: [imagesModule(service)],
      informers: () => repo.informers(),
      close: () => repo.close(),
    };
  },
});
