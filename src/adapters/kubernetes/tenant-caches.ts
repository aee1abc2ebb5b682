import type { V1Namespace, V1ResourceQuota, V1RoleBinding } from '@kubernetes/client-node';
import type { KubeClient } from './kube-client.js';
import { listOptions } from './kube-reads.js';
import { createResourceCache, type ResourceApi, type ResourceCache, type RestartDelay } from './resource-cache.js';
import { MANAGED_SELECTOR } from './tenant-objects.js';

/** Watch-backed copies of the namespaces, ResourceQuotas and RoleBindings we manage (label `MANAGED_SELECTOR`). */
export interface TenantCaches {
  readonly namespaces: ResourceCache<V1Namespace>;
  readonly quotas: ResourceCache<V1ResourceQuota>;
  readonly bindings: ResourceCache<V1RoleBinding>;
}

type ListOptions = ReturnType<typeof listOptions>;

/** A namespaced kind of the typed client: listed in every namespace or in one, read in one. */
function namespaced(
  listAll: (o: ListOptions) => Promise<unknown>,
  listIn: (o: ListOptions & { namespace: string }) => Promise<unknown>,
  read: (o: { namespace: string; name: string }) => Promise<unknown>,
): ResourceApi {
  return {
    list: (q) => (q.namespace === undefined ? listAll(listOptions(q)) : listIn({ namespace: q.namespace, ...listOptions(q) })),
    read: (namespace, name) => read({ namespace, name }),
  };
}

export function createTenantCaches(client: KubeClient, restartDelayMs?: RestartDelay): TenantCaches {
  const { core, rbac } = client;
  const common = { client, labelSelector: MANAGED_SELECTOR, ...(restartDelayMs === undefined ? {} : { restartDelayMs }) };
  return {
    namespaces: createResourceCache<V1Namespace>({
      ...common,
      name: 'namespaces',
      kind: 'Namespace',
      path: '/api/v1/namespaces',
      api: { list: (q) => core.listNamespace(listOptions(q)), read: (_, name) => core.readNamespace({ name }) },
    }),
    quotas: createResourceCache<V1ResourceQuota>({
      ...common,
      name: 'resourcequotas',
      kind: 'ResourceQuota',
      path: '/api/v1/resourcequotas',
      api: namespaced(
        (o) => core.listResourceQuotaForAllNamespaces(o),
        (o) => core.listNamespacedResourceQuota(o),
        (o) => core.readNamespacedResourceQuota(o),
      ),
    }),
    bindings: createResourceCache<V1RoleBinding>({
      ...common,
      name: 'rolebindings',
      kind: 'RoleBinding',
      path: '/apis/rbac.authorization.k8s.io/v1/rolebindings',
      api: namespaced(
        (o) => rbac.listRoleBindingForAllNamespaces(o),
        (o) => rbac.listNamespacedRoleBinding(o),
        (o) => rbac.readNamespacedRoleBinding(o),
      ),
    }),
  };
}
