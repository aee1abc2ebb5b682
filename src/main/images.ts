import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { KubeClient } from '../adapters/kubernetes/kube-client.js';
import { createKubeImageRepository } from '../adapters/kubernetes/image-repository.js';
import type { InformerHealth } from '../adapters/kubernetes/resource-cache.js';
import { createDnsResolver } from '../adapters/net/dns-resolver.js';
import { createSimulatedResolver } from '../adapters/sim/sim-resolver.js';
import { createDataVolumeController } from '../adapters/sim/kube-emulator/datavolume-controller.js';
import type { Controller } from '../adapters/sim/kube-emulator/index.js';
import { imagesModule } from '../api/modules/index.js';
import type { ApiModule } from '../api/module.js';
import { PLATFORM, PLATFORM_IMAGE_NAMESPACE, type ImageSpec } from '../domain/images/image.js';
import type { ImageLocator, ImageRepository } from '../domain/images/image-repository.js';
import { createImageLocator } from '../domain/images/image-locator.js';
import { createImageService, type ImageService } from '../domain/images/image-service.js';
import type { OperationService } from '../domain/operations/operation-service.js';
import { ConflictError } from '../domain/shared/errors.js';
import { PROFILE_DEFAULTS } from '../domain/tenants/tenant.js';
import type { TenantRepository } from '../domain/tenants/tenant-repository.js';
import type { JobKind } from '../jobs/job-kind.js';
import { imageImportJob } from '../jobs/kinds/image-import.js';
import type { Config } from './config.js';

/** The golden image every simulated cluster starts with (already imported). */
export const SEEDED_IMAGE: ImageSpec = {
  owner: PLATFORM,
  name: 'ubuntu-24-04',
  displayName: 'Ubuntu 24.04 LTS (Noble Numbat)',
  os: 'ubuntu-24.04',
  source: { type: 'http', url: 'https://cloud-images.ubuntu.com/noble/current/noble-server-cloudimg-amd64.img' },
  sizeGi: 10,
  storageClass: 'kv-standard',
};
export const DEMO_TENANT = 'demo';
export const DEMO_OWNER = 'demo-owner';

/** The simulated CDI for the embedded default: imports take `SIM_IMPORT_DURATION_MS`; the seeded image is there at once. */
export function imageEmulatorControllers(config: Config): Controller[] {
  return [
    createDataVolumeController({
      importDurationMs: config.images.simImportDurationMs,
      preImported: [`${PLATFORM_IMAGE_NAMESPACE}/${SEEDED_IMAGE.name}`],
    }),
  ];
}

export interface Images {
  readonly repo: ImageRepository;
  /** For the VM side: where a VM clones its root disk from. */
  readonly locator: ImageLocator;
  readonly service: ImageService;
  readonly jobKinds: readonly JobKind[];
  readonly module: ApiModule;
  /** The DataVolume informer's state, for readiness. */
  informers(): readonly InformerHealth[];
  close(): Promise<void>;
}

export interface ImagesDeps {
  /** The one Kubernetes client of the process (one request budget: KUBE_QPS / KUBE_BURST). */
  readonly kube: KubeClient;
  readonly config: Config;
  readonly logger: Logger;
  readonly tenantRepo: TenantRepository;
  readonly operations: OperationService;
}

/** Image repository (watch-backed), use cases, the `image.import` job kind and the API module. */
export async function buildImages(deps: ImagesDeps): Promise<Images> {
  const { config } = deps;
  const repo = createKubeImageRepository({ client: deps.kube, clusterPrivateCidrs: [...config.clusterPrivateCidrs] });
  await repo.start();
  // The simulated cluster fetches nothing: its guard answers from a fixed table, the same everywhere.
  const resolver = config.kube.mode === 'simulated' ? createSimulatedResolver() : createDnsResolver();
  const service = createImageService({
    repo,
    usage: repo,
    tenants: deps.tenantRepo,
    operations: deps.operations,
    resolver,
    policy: {
      httpAllowedHosts: config.images.httpAllowedHosts,
      ...(config.images.s3Endpoint === undefined ? {} : { s3Endpoint: config.images.s3Endpoint }),
    },
  });
  return {
    repo,
    locator: createImageLocator({ repo }),
    service,
    jobKinds: [imageImportJob({ repo, followIntervalMs: config.images.importPollMs })],
    module: imagesModule(service),
    informers: () => repo.informers(),
    close: () => repo.close(),
  };
}

/**
 * Seeds the simulated cluster through the real adapters: the `demo` tenant (faculty, owned by
 * `demo-owner`) and the platform image `ubuntu-24-04`, waiting (briefly) until it is Ready.
 */
export async function seedSimulatedCluster(tenantRepo: TenantRepository, images: ImageRepository, logger: Logger): Promise<void> {
  const faculty = PROFILE_DEFAULTS.faculty;
  await tenantRepo
    .create({
      id: DEMO_TENANT,
      displayName: 'Demo tenant',
      profile: 'faculty',
      quota: faculty.quota,
      vmCaps: faculty.vmCaps,
      members: [{ principalId: DEMO_OWNER, principalType: 'User', role: 'owner', displayName: 'Demo owner' }],
    })
    .catch((err: unknown) => {
      if (!(err instanceof ConflictError)) throw err;
    });
  await images.create(SEEDED_IMAGE).catch((err: unknown) => {
    if (!(err instanceof ConflictError)) throw err;
  });
  for (let i = 0; i < 100; i++) {
    if ((await images.get(PLATFORM, SEEDED_IMAGE.name))?.phase === 'Ready') return;
    await sleep(20);
  }
  logger.warn({ image: SEEDED_IMAGE.name }, 'the seeded image is not Ready yet');
}
