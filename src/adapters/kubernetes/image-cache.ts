import { isNotFound } from './errors.js';
import { CDI_GROUP, CDI_VERSION, DATAVOLUME_PATH, DATAVOLUMES, IMAGE_SELECTOR, type DataVolume } from './image-objects.js';
import { createInformedStore, waitForSync, type InformedStore, type InformerHealth, type ListPage } from './informed-store.js';
import type { KubeClient } from './kube-client.js';

const PAGE = 500;

/**
 * A watch-backed copy of the image DataVolumes in every namespace (label selector
 * `IMAGE_SELECTOR`). Once synced, reads cost the API server nothing; before that they go to it
 * directly. Our own writes are put in with `remember`/`forget` (read-your-writes).
 */
export interface ImageCache {
  /** Starts the informer; resolves true once listed, false after `timeoutMs` (direct reads until then). */
  start(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
  synced(): boolean;
  /** The informer's state, for readiness. */
  informers(): readonly InformerHealth[];
  get(namespace: string, name: string): Promise<DataVolume | undefined>;
  list(namespace: string): Promise<readonly DataVolume[]>;
  /** Reads from the API server, bypassing (and refreshing) the cache. */
  fresh(namespace: string, name: string): Promise<DataVolume | undefined>;
  remember(dv: DataVolume): void;
  forget(dv: DataVolume): void;
}

export interface ImageCacheOptions {
  readonly restartDelayMs?: { readonly min: number; readonly max: number };
}

function asPage(raw: unknown): ListPage<DataVolume> {
  const r = (typeof raw === 'object' && raw !== null ? raw : {}) as { items?: unknown; metadata?: ListPage<DataVolume>['metadata'] & { continue?: string } };
  const items = Array.isArray(r.items) ? (r.items as DataVolume[]) : [];
  // Custom-object lists come back as plain JSON: `continue`, not the typed client's `_continue`.
  const cont = r.metadata?._continue ?? r.metadata?.continue;
  return { items, metadata: { ...r.metadata, ...(cont === undefined ? {} : { _continue: cont }) } };
}

export function createImageCache(client: KubeClient, options: ImageCacheOptions = {}): ImageCache {
  const { custom } = client;
  const base = { group: CDI_GROUP, version: CDI_VERSION, plural: DATAVOLUMES, labelSelector: IMAGE_SELECTOR, limit: PAGE };
  const cursor = (cont: string | undefined) => (cont === undefined ? {} : { _continue: cont });

  const informer: InformedStore<DataVolume> = createInformedStore<DataVolume>({
    client,
    name: 'datavolumes',
    path: DATAVOLUME_PATH,
    labelSelector: IMAGE_SELECTOR,
    listPage: async (cont) => asPage(await custom.listClusterCustomObject({ ...base, ...cursor(cont) })),
    ...(options.restartDelayMs === undefined ? {} : { restartDelayMs: options.restartDelayMs }),
  });

  async function fresh(namespace: string, name: string): Promise<DataVolume | undefined> {
    try {
      const dv = (await client.request({ what: `read DataVolume ${namespace}/${name}`, write: false, resource: 'image', name }, () =>
        custom.getNamespacedCustomObject({ group: CDI_GROUP, version: CDI_VERSION, plural: DATAVOLUMES, namespace, name }),
      )) as DataVolume;
      const labels = dv.metadata?.labels ?? {};
      if (!IMAGE_SELECTOR.split(',').every((kv) => labels[kv.split('=')[0] ?? ''] === kv.split('=')[1])) return undefined;
      informer.store.upsert(dv);
      return dv;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async function listDirect(namespace: string): Promise<DataVolume[]> {
    const items: DataVolume[] = [];
    let cont: string | undefined;
    do {
      const page = asPage(
        await client.request({ what: `list DataVolumes in ${namespace}`, write: false }, () =>
          custom.listNamespacedCustomObject({ ...base, namespace, ...cursor(cont) }),
        ),
      );
      items.push(...page.items);
      cont = page.metadata?._continue === '' ? undefined : page.metadata?._continue;
    } while (cont !== undefined);
    return items;
  }

  return {
    async start(timeoutMs) {
      informer.start();
      const outcome = await waitForSync([informer], timeoutMs);
      if (outcome === 'timeout') {
        client.logger.warn({ timeoutMs }, 'the DataVolume informer did not sync in time; reading from the API server until it does');
      }
      return outcome === 'synced';
    },
    close: () => informer.stop(),
    synced: () => informer.synced(),
    informers: () => [informer.health()],
    async get(namespace, name) {
      return informer.synced() ? informer.store.get(name, namespace) : fresh(namespace, name);
    },
    async list(namespace) {
      if (informer.synced()) return informer.store.list(namespace);
      try {
        return await listDirect(namespace);
      } catch (err) {
        if (isNotFound(err)) return [];
        throw err;
      }
    },
    fresh,
    remember: (dv) => informer.store.upsert(dv),
    forget: (dv) => informer.store.remove(dv),
  };
}
