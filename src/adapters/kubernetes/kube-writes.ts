import type { KubernetesObject, V1ConfigMap, V1LimitRange, V1NetworkPolicy, V1ResourceQuota, V1Role, V1RoleBinding } from '@kubernetes/client-node';
import { ConflictError } from '../../domain/shared/errors.js';
import { isConflict, isNotFound } from './errors.js';
import type { KubeClient } from './kube-client.js';
import { orUndefined } from './kube-reads.js';

/** How to create, read and replace one namespaced kind through the typed client. */
export interface NamespacedOps<T extends KubernetesObject> {
  readonly kind: string;
  create(namespace: string, body: T): Promise<T>;
  read(namespace: string, name: string): Promise<T>;
  replace(namespace: string, name: string, body: T): Promise<T>;
}

/** Attempts at a write that keeps meeting resourceVersion conflicts before giving up. */
export const MAX_CONFLICT_ATTEMPTS = 4;

export function withVersion<T extends KubernetesObject>(obj: T, resourceVersion: string | undefined): T {
  const metadata = { ...obj.metadata };
  if (resourceVersion === undefined) delete metadata.resourceVersion;
  else metadata.resourceVersion = resourceVersion;
  return { ...obj, metadata };
}

/**
 * Create-or-replace, so a retry converges: POST, and when the object exists, PUT over the version
 * read back; a PUT that meets a newer version re-reads and tries again (bounded). `known` (e.g. from
 * the cache) skips the first POST when we already know the object exists.
 */
export async function createOrReplace<T extends KubernetesObject>(client: KubeClient, ops: NamespacedOps<T>, desired: T, known?: T): Promise<T> {
  const namespace = desired.metadata?.namespace ?? '';
  const name = desired.metadata?.name ?? '';
  const what = `${ops.kind} ${namespace}/${name}`;
  let current = known;
  for (let attempt = 0; attempt < MAX_CONFLICT_ATTEMPTS; attempt++) {
    try {
      if (current === undefined) {
        return await client.request({ what: `create ${what}`, write: true, resource: ops.kind, name }, () =>
          ops.create(namespace, withVersion(desired, undefined)),
        );
      }
      const body = withVersion(desired, current.metadata?.resourceVersion);
      return await client.request({ what: `replace ${what}`, write: true, resource: ops.kind, name }, () => ops.replace(namespace, name, body));
    } catch (err) {
      if (isConflict(err, 'ALREADY_EXISTS') || isConflict(err, 'VERSION_CONFLICT')) {
        current = await readOrUndefined(client, ops, namespace, name);
        continue;
      }
      if (isNotFound(err) && current !== undefined) {
        current = undefined;
        continue;
      }
      throw err;
    }
  }
  throw new ConflictError('VERSION_CONFLICT', `${what} kept changing while it was being written; try again.`);
}

export function readOrUndefined<T extends KubernetesObject>(
  client: KubeClient,
  ops: NamespacedOps<T>,
  namespace: string,
  name: string,
): Promise<T | undefined> {
  return orUndefined(
    client.request({ what: `read ${ops.kind} ${namespace}/${name}`, write: false, resource: ops.kind, name }, () => ops.read(namespace, name)),
  );
}

/**
 * Read-modify-write of one object with optimistic concurrency: `change` is applied to the current
 * object and PUT with its resourceVersion; on a conflict the object is read again (bounded).
 * `change` returning undefined means nothing to write.
 */
export async function modify<T extends { metadata?: { resourceVersion?: string } }>(
  what: string,
  read: () => Promise<T | undefined>,
  first: T | undefined,
  change: (current: T) => T | undefined,
  write: (next: T) => Promise<T>,
): Promise<T | undefined> {
  let current = first ?? (await read());
  for (let attempt = 0; attempt < MAX_CONFLICT_ATTEMPTS; attempt++) {
    if (current === undefined) return undefined;
    const next = change(current);
    if (next === undefined) return current;
    try {
      return await write(next);
    } catch (err) {
      if (!isConflict(err, 'VERSION_CONFLICT')) throw err;
      current = await read();
    }
  }
  throw new ConflictError('VERSION_CONFLICT', `${what} kept changing while it was being written; try again.`);
}

/** The kinds a tenant is made of, bound to one client. */
export interface TenantKinds {
  readonly resourceQuota: NamespacedOps<V1ResourceQuota>;
  readonly limitRange: NamespacedOps<V1LimitRange>;
  readonly networkPolicy: NamespacedOps<V1NetworkPolicy>;
  readonly role: NamespacedOps<V1Role>;
  readonly roleBinding: NamespacedOps<V1RoleBinding>;
}

export function tenantKinds(client: KubeClient): TenantKinds {
  const { core, networking, rbac } = client;
  return {
    resourceQuota: {
      kind: 'ResourceQuota',
      create: (namespace, body) => core.createNamespacedResourceQuota({ namespace, body }),
      read: (namespace, name) => core.readNamespacedResourceQuota({ namespace, name }),
      replace: (namespace, name, body) => core.replaceNamespacedResourceQuota({ namespace, name, body }),
    },
    limitRange: {
      kind: 'LimitRange',
      create: (namespace, body) => core.createNamespacedLimitRange({ namespace, body }),
      read: (namespace, name) => core.readNamespacedLimitRange({ namespace, name }),
      replace: (namespace, name, body) => core.replaceNamespacedLimitRange({ namespace, name, body }),
    },
    networkPolicy: {
      kind: 'NetworkPolicy',
      create: (namespace, body) => networking.createNamespacedNetworkPolicy({ namespace, body }),
      read: (namespace, name) => networking.readNamespacedNetworkPolicy({ namespace, name }),
      replace: (namespace, name, body) => networking.replaceNamespacedNetworkPolicy({ namespace, name, body }),
    },
    role: {
      kind: 'Role',
      create: (namespace, body) => rbac.createNamespacedRole({ namespace, body }),
      read: (namespace, name) => rbac.readNamespacedRole({ namespace, name }),
      replace: (namespace, name, body) => rbac.replaceNamespacedRole({ namespace, name, body }),
    },
    roleBinding: {
      kind: 'RoleBinding',
      create: (namespace, body) => rbac.createNamespacedRoleBinding({ namespace, body }),
      read: (namespace, name) => rbac.readNamespacedRoleBinding({ namespace, name }),
      replace: (namespace, name, body) => rbac.replaceNamespacedRoleBinding({ namespace, name, body }),
    },
  };
}

/** ConfigMaps through the typed client (LTI registrations in the control namespace). */
export function configMapOps(client: KubeClient): NamespacedOps<V1ConfigMap> {
  const { core } = client;
  return {
    kind: 'ConfigMap',
    create: (namespace, body) => core.createNamespacedConfigMap({ namespace, body }),
    read: (namespace, name) => core.readNamespacedConfigMap({ namespace, name }),
    replace: (namespace, name, body) => core.replaceNamespacedConfigMap({ namespace, name, body }),
  };
}

/**
 * Deletes `obj` only while it is still that object at that version (uid and resourceVersion
 * preconditions, sent as DeleteOptions): false when it is gone, ConflictError `VERSION_CONFLICT` when it changed.
 */
export async function deleteExactly(
  client: KubeClient,
  kind: string,
  obj: KubernetesObject,
  send: (namespace: string, name: string, body: { preconditions: { uid?: string; resourceVersion?: string } }) => Promise<unknown>,
  options: { readonly resourceVersion: boolean },
): Promise<boolean> {
  const namespace = obj.metadata?.namespace ?? '';
  const name = obj.metadata?.name ?? '';
  const { uid, resourceVersion } = obj.metadata ?? {};
  const preconditions = {
    ...(uid === undefined ? {} : { uid }),
    ...(options.resourceVersion && resourceVersion !== undefined ? { resourceVersion } : {}),
  };
  try {
    await client.request({ what: `delete ${kind} ${namespace}/${name}`, write: true, resource: kind, name }, () =>
      send(namespace, name, { preconditions }),
    );
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}
