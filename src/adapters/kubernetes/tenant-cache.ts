import type { V1Namespace, V1ResourceQuota, V1RoleBinding } from '@kubernetes/client-node';
import { isNotFound } from './errors.js';
import { createInformedStore, listAllPages, waitForSync, type InformedStore, type InformerHealth, type ListPage } from './informed-store.js';
import type { KubeClient } from './kube-client.js';
import { MANAGED_SELECTOR, QUOTA_NAME } from './tenant-objects.js';

const PAGE = 500;

/**
 * Watch-backed copies of the namespaces, ResourceQuotas and RoleBindings we manage. Reads are served
 * from them once synced (no API request); before that, or when `start` timed out, they go to the API
 * server directly. Our own writes are put in with `remember*` so a read right after a write sees it.
 */
export interface TenantCache {
  /** Starts the informers; resolves true when all listed, false after `timeoutMs` (direct reads until then). */
  start(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
  synced(): boolean;
  /** Each informer's state, for readiness. */
  informers(): readonly InformerHealth[];
  namespace(id: string): Promise<V1Namespace | undefined>;
  /** Reads the namespace from the API server, bypassing the cache (and refreshing it). */
  freshNamespace(id: string): Promise<V1Namespace | undefined>;
  namespaces(): Promise<readonly V1Namespace[]>;
  quota(id: string): Promise<V1ResourceQuota | undefined>;
  /** Our RoleBindings in one namespace, or in all. */
  bindings(id?: string): Promise<readonly V1RoleBinding[]>;
  rememberNamespace(ns: V1Namespace): void;
  forgetNamespace(ns: V1Namespace): void;
  rememberQuota(rq: V1ResourceQuota): void;
  rememberBinding(rb: V1RoleBinding): void;
  forgetBinding(rb: V1RoleBinding): void;
}

export interface TenantCacheOptions {
  readonly restartDelayMs?: { readonly min: number; readonly max: number };
}

async function orUndefined<T>(read: Promise<T>): Promise<T | undefined> {
  try {
    return await read;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

export function createTenantCache(client: KubeClient, options: TenantCacheOptions = {}): TenantCache {
  const { core, rbac } = client;
  const labelSelector = MANAGED_SELECTOR;
  const page = (cont: string | undefined) => ({ labelSelector, limit: PAGE, ...(cont === undefined ? {} : { _continue: cont }) });
  const common = { client, labelSelector, ...(options.restartDelayMs === undefined ? {} : { restartDelayMs: options.restartDelayMs }) };

  const namespaces: InformedStore<V1Namespace> = createInformedStore({
    ...common,
    name: 'namespaces',
    path: '/api/v1/namespaces',
    listPage: (cont) => core.listNamespace(page(cont)),
  });
  const quotas: InformedStore<V1ResourceQuota> = createInformedStore({
    ...common,
    name: 'resourcequotas',
    path: '/api/v1/resourcequotas',
    listPage: (cont) => core.listResourceQuotaForAllNamespaces(page(cont)),
  });
  const bindings: InformedStore<V1RoleBinding> = createInformedStore({
    ...common,
    name: 'rolebindings',
    path: '/apis/rbac.authorization.k8s.io/v1/rolebindings',
    listPage: (cont) => rbac.listRoleBindingForAllNamespaces(page(cont)),
  });
  const all = [namespaces, quotas, bindings];

  const listAll = async <T>(what: string, listPage: (cont: string | undefined) => Promise<ListPage<T>>): Promise<T[]> =>
    (await listAllPages(client, what, listPage)).items;

  async function freshNamespace(id: string): Promise<V1Namespace | undefined> {
    const ns = await orUndefined(
      client.request({ what: `read Namespace ${id}`, write: false }, () => core.readNamespace({ name: id })),
    );
    if (ns !== undefined) namespaces.store.upsert(ns);
    return ns;
  }

  return {
    async start(timeoutMs) {
      for (const s of all) s.start();
      const outcome = await waitForSync(all, timeoutMs);
      if (outcome === 'timeout') {
        client.logger.warn({ timeoutMs }, 'kubernetes informers did not sync in time; reading from the API server until they do');
      }
      return outcome === 'synced';
    },
    async close() {
      await Promise.all(all.map((s) => s.stop()));
    },
    synced: () => all.every((s) => s.synced()),
    informers: () => all.map((s) => s.health()),
    async namespace(id) {
      return namespaces.synced() ? namespaces.store.get(id) : freshNamespace(id);
    },
    freshNamespace,
    async namespaces() {
      if (namespaces.synced()) return namespaces.store.list();
      return listAll('list Namespaces', (cont) => core.listNamespace(page(cont)));
    },
    async quota(id) {
      if (quotas.synced()) return quotas.store.get(QUOTA_NAME, id);
      return orUndefined(
        client.request({ what: `read ResourceQuota ${id}/${QUOTA_NAME}`, write: false }, () =>
          core.readNamespacedResourceQuota({ name: QUOTA_NAME, namespace: id }),
        ),
      );
    },
    async bindings(id) {
      if (bindings.synced()) return bindings.store.list(id);
      if (id === undefined) return listAll('list RoleBindings', (cont) => rbac.listRoleBindingForAllNamespaces(page(cont)));
      return listAll(`list RoleBindings in ${id}`, (cont) => rbac.listNamespacedRoleBinding({ namespace: id, ...page(cont) }));
    },
    rememberNamespace: (ns) => namespaces.store.upsert(ns),
    forgetNamespace: (ns) => namespaces.store.remove(ns),
    rememberQuota: (rq) => quotas.store.upsert(rq),
    rememberBinding: (rb) => bindings.store.upsert(rb),
    forgetBinding: (rb) => bindings.store.remove(rb),
  };
}
