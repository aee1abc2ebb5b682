import { PLATFORM_IMAGE_NAMESPACE, type Image, type ImageOwner } from '../../domain/images/image.js';
import type { ImageRepository, ImageUsage } from '../../domain/images/image-repository.js';
import { ConflictError, NotFoundError } from '../../domain/shared/errors.js';
import { validateCidrs } from './cidrs.js';
import { isConflict, isNotFound } from './errors.js';
import {
  ANN_OPERATION_ID,
  CDI_GROUP,
  CDI_VERSION,
  DATAVOLUME_PATH,
  DATAVOLUMES,
  IMAGE_SELECTOR,
  dataVolumeObject,
  imageFromDataVolume,
  imageNamespaceOf,
  platformCloneBindingObject,
  platformCloneRoleObject,
  platformEgressPolicyObject,
  platformNamespaceObject,
  type DataVolume,
} from './image-objects.js';
import { createKubeImageUsage } from './image-usage.js';
import type { KubeClient } from './kube-client.js';
import { orUndefined } from './kube-reads.js';
import { createOrReplace, tenantKinds } from './kube-writes.js';
import { cacheGroup, createResourceCache, customResource, lifecycleOf, type CacheOptions, type WatchedLifecycle } from './resource-cache.js';

export interface KubeImageRepositoryDeps extends CacheOptions {
  /** Shared with the other Kubernetes adapters, so writes share one rate limiter. */
  readonly client: KubeClient;
  /** Ranges the catalog's importer pods must not reach besides the defaults (node, pod, service CIDRs). */
  readonly clusterPrivateCidrs?: readonly string[];
}

/** Images as CDI DataVolumes (see `image-objects.ts`); `start` before serving, `close` on shutdown. */
export interface KubeImageRepository extends ImageRepository, ImageUsage, WatchedLifecycle {}

function imageOf(dv: DataVolume): Image {
  const image = imageFromDataVolume(dv);
  if (image === undefined) throw new Error(`DataVolume ${dv.metadata?.namespace}/${dv.metadata?.name} is not an image`);
  return image;
}

function byName(a: Image, b: Image): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** Nothing is sent before `start` or a method call. */
export function createKubeImageRepository(deps: KubeImageRepositoryDeps): KubeImageRepository {
  const { client } = deps;
  const { custom } = client;
  const blocked = validateCidrs(deps.clusterPrivateCidrs ?? []);
  /** The image DataVolumes of every namespace (label selector `IMAGE_SELECTOR`). */
  const cache = createResourceCache<DataVolume>({
    client,
    name: 'datavolumes',
    kind: 'DataVolume',
    resource: 'image',
    path: DATAVOLUME_PATH,
    labelSelector: IMAGE_SELECTOR,
    readsMatchSelector: true,
    api: customResource(client, CDI_GROUP, CDI_VERSION, DATAVOLUMES),
    ...(deps.watchRestartDelayMs === undefined ? {} : { restartDelayMs: deps.watchRestartDelayMs }),
  });
  const group = cacheGroup(client.logger, [cache]);
  const usage = createKubeImageUsage(client);
  const kinds = tenantKinds(client);
  const dvApi = { group: CDI_GROUP, version: CDI_VERSION, plural: DATAVOLUMES };
  let platformReady: Promise<void> | undefined;

  /** Creates the catalog namespace, its egress policy and clone permission once per process (all idempotent). */
  function ensurePlatformNamespace(): Promise<void> {
    platformReady ??= (async () => {
      try {
        await client.request({ what: `create Namespace ${PLATFORM_IMAGE_NAMESPACE}`, write: true }, () =>
          client.core.createNamespace({ body: platformNamespaceObject() }),
        );
      } catch (err) {
        if (!isConflict(err, 'ALREADY_EXISTS')) throw err;
      }
      await Promise.all([
        createOrReplace(client, kinds.networkPolicy, platformEgressPolicyObject(blocked)),
        createOrReplace(client, kinds.role, platformCloneRoleObject()),
        createOrReplace(client, kinds.roleBinding, platformCloneBindingObject()),
      ]);
    })().catch((err: unknown) => {
      platformReady = undefined;
      throw err;
    });
    return platformReady;
  }

  return {
    ...lifecycleOf(group, deps),

    async create(spec) {
      if (spec.owner.scope === 'platform') await ensurePlatformNamespace();
      const body = dataVolumeObject(spec);
      const namespace = imageNamespaceOf(spec.owner);
      const ctx = { what: `create DataVolume ${namespace}/${spec.name}`, write: true, resource: 'image', name: spec.name };
      try {
        const dv = (await client.request(ctx, () => custom.createNamespacedCustomObject({ ...dvApi, namespace, body }))) as DataVolume;
        cache.remember(dv);
        return imageOf(dv);
      } catch (err) {
        if (isConflict(err, 'ALREADY_EXISTS')) {
          const existing = await cache.fresh(namespace, spec.name);
          const ours = spec.operationId !== undefined && existing?.metadata?.annotations?.[ANN_OPERATION_ID] === spec.operationId;
          if (existing !== undefined && ours) return imageOf(existing);
          throw new ConflictError('IMAGE_EXISTS', `An image (or another DataVolume) named '${spec.name}' already exists.`, { cause: err });
        }
        if (isNotFound(err) && spec.owner.scope === 'tenant') throw new NotFoundError('tenant', spec.owner.tenant, { cause: err });
        throw err;
      }
    },

    async get(owner, name) {
      const dv = await cache.get(imageNamespaceOf(owner), name);
      return dv === undefined ? undefined : imageFromDataVolume(dv);
    },

    async list(owner: ImageOwner) {
      // A namespace that does not exist (yet) holds no images.
      const dvs = (await orUndefined(cache.list(imageNamespaceOf(owner)))) ?? [];
      return dvs.flatMap((dv) => imageFromDataVolume(dv) ?? []).sort(byName);
    },

    async delete(owner, name) {
      const namespace = imageNamespaceOf(owner);
      const dv = await cache.get(namespace, name);
      if (dv === undefined) return false;
      const ctx = { what: `delete DataVolume ${namespace}/${name}`, write: true, resource: 'image', name };
      let answer: unknown;
      try {
        answer = await client.request(ctx, () => custom.deleteNamespacedCustomObject({ ...dvApi, namespace, name, propagationPolicy: 'Background' }));
      } catch (err) {
        if (!isNotFound(err)) throw err;
        cache.forget(dv);
        return false;
      }
      const last = answer as DataVolume | undefined;
      cache.forget(last?.kind === 'DataVolume' && last.metadata?.resourceVersion !== undefined ? last : dv);
      return true;
    },

    vmsUsing: (owner, name) => usage.vmsUsing(owner, name),
  };
}
