import { isNotFound } from './errors.js';
import { createInformedStore, listAllPages, waitForSync, type InformerHealth, type ListPage } from './informed-store.js';
import type { KubeClient } from './kube-client.js';
import { labApi, LABS, LABS_GROUP, LABS_PATH, LABS_VERSION, type LabObject } from './lab-objects.js';
import { isNewer, keyOf } from './object-store.js';

const PAGE = 500;

/** Told of each new version of a lab (`changed`) and of its removal (`deleted`, with the last known object). */
export type LabCacheListener = (type: 'changed' | 'deleted', obj: LabObject) => void;

/**
 * Watch-backed copies of every Lab object, in every namespace. Once synced, reads cost the API
 * server nothing; before that they go to it directly. Our writes are put in with `remember` /
 * `forget` (read-your-writes). Listeners hear of each version of a lab once, whether it came from
 * the watch, a relist or our own write.
 *
 * No label selector: unlike VirtualMachines (a kind others create too, so ours carry
 * `app.kubernetes.io/managed-by=labplane`), every `labs.labplane.io` object is a lab of the platform
 * by its kind, including those GitOps or kubectl wrote without our label. Objects the API creates
 * still carry the label (and `labplane.io/tenant`), so `kubectl get labs -l ...` can tell them apart.
 */
export interface LabCache {
  /** Starts the watch; resolves true once synced, false when `timeoutMs` passed first. */
  start(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
  synced(): boolean;
  /** The informer's state, for readiness. */
  informers(): readonly InformerHealth[];
  /** From the cache once synced, else from the server. */
  lab(namespace: string, name: string): Promise<LabObject | undefined>;
  /** Labs of one namespace, or of all (unsorted). */
  labs(namespace?: string): Promise<readonly LabObject[]>;
  /** Always from the server; the answer is remembered. */
  read(namespace: string, name: string): Promise<LabObject | undefined>;
  remember(obj: LabObject): void;
  forget(obj: LabObject): void;
  subscribe(listener: LabCacheListener): () => void;
}

function asPage(raw: unknown): ListPage<LabObject> {
  const r = (typeof raw === 'object' && raw !== null ? raw : {}) as { items?: unknown; metadata?: ListPage<LabObject>['metadata'] & { continue?: string } };
  const items = Array.isArray(r.items) ? (r.items as LabObject[]) : [];
  // Custom-object lists come back as plain JSON: `continue`, not the typed client's `_continue`.
  const cont = r.metadata?._continue ?? r.metadata?.continue;
  return { items, metadata: { ...r.metadata, ...(cont === undefined || cont === '' ? {} : { _continue: cont }) } };
}

export function createLabCache(client: KubeClient, options: { readonly restartDelayMs?: { min: number; max: number } } = {}): LabCache {
  const { custom, logger } = client;
  const listeners = new Set<LabCacheListener>();
  /** Last version told to listeners per lab, so a write we remembered is not told again by the watch. */
  const told = new Map<string, { rv: string | undefined; deleted: boolean }>();
  const cursor = (cont: string | undefined) => (cont === undefined ? {} : { _continue: cont });
  const api = { group: LABS_GROUP, version: LABS_VERSION, plural: LABS };

  function tell(type: 'changed' | 'deleted', obj: LabObject): void {
    const key = keyOf(obj);
    const rv = obj.metadata?.resourceVersion;
    const last = told.get(key);
    if (type === 'deleted' ? last?.deleted === true : last !== undefined && !isNewer(rv, last.rv)) return;
    told.set(key, { rv: rv ?? last?.rv, deleted: type === 'deleted' });
    for (const l of listeners) {
      try {
        l(type, obj);
      } catch (err) {
        logger.error({ lab: key, err: err instanceof Error ? err.message : String(err) }, 'a lab listener threw');
      }
    }
  }

  const informed = createInformedStore<LabObject>({
    client,
    name: LABS,
    path: LABS_PATH,
    listPage: async (cont) => asPage(await custom.listClusterCustomObject({ ...api, limit: PAGE, ...cursor(cont) })),
    onChange: (type, obj) => tell(type === 'delete' ? 'deleted' : 'changed', obj),
    ...(options.restartDelayMs === undefined ? {} : { restartDelayMs: options.restartDelayMs }),
  });
  const { store } = informed;

  async function read(namespace: string, name: string): Promise<LabObject | undefined> {
    try {
      const obj = (await client.request({ what: `read Lab ${namespace}/${name}`, write: false, resource: 'lab', name }, () =>
        custom.getNamespacedCustomObject({ ...labApi(namespace), name }),
      )) as LabObject;
      store.upsert(obj);
      return obj;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  return {
    async start(timeoutMs) {
      informed.start();
      const outcome = await waitForSync([informed], timeoutMs);
      if (outcome === 'timeout') logger.warn({ timeoutMs }, 'Lab informer did not sync in time; reading from the API server until it does');
      return outcome === 'synced';
    },
    close: () => informed.stop(),
    synced: () => informed.synced(),
    informers: () => [informed.health()],
    async lab(namespace, name) {
      return informed.synced() ? store.get(name, namespace) : read(namespace, name);
    },
    async labs(namespace) {
      if (informed.synced()) return store.list(namespace);
      const { items } = await listAllPages(client, `list Labs in ${namespace ?? 'all namespaces'}`, async (cont) =>
        asPage(
          namespace === undefined
            ? await custom.listClusterCustomObject({ ...api, limit: PAGE, ...cursor(cont) })
            : await custom.listNamespacedCustomObject({ ...labApi(namespace), limit: PAGE, ...cursor(cont) }),
        ),
      );
      return items;
    },
    read,
    remember(obj) {
      store.upsert(obj);
      const held = store.get(obj.metadata?.name ?? '', obj.metadata?.namespace);
      if (held !== undefined) tell('changed', held);
    },
    forget(obj) {
      store.remove(obj);
      if (store.get(obj.metadata?.name ?? '', obj.metadata?.namespace) === undefined) tell('deleted', obj);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
  };
}
