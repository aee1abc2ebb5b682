import type { V1OwnerReference, V1Secret } from '@kubernetes/client-node';
import { isConflict, isNotFound } from './errors.js';
import type { KubeClient } from './kube-client.js';
import { readOrUndefined, type NamespacedOps } from './kube-writes.js';
import { LABEL_MANAGED_BY, LABEL_TENANT, MANAGED_BY } from './tenant-objects.js';
import {
  CLOUD_INIT_KEY,
  CLOUD_INIT_SCRUBBED_KEY,
  cloudInitSecretName,
  cloudInitSecretObject,
  KUBEVIRT_GROUP,
  KUBEVIRT_VERSION,
  LABEL_VM,
} from './vm-objects.js';

/** Marks a staged cloud-init Secret in the control plane's namespace. */
export const LABEL_CLOUD_INIT_STAGED = 'labplane.io/cloud-init-staged';

/** Name of the staged cloud-init of VM `vm` of `tenant` (both DNS labels: the name is a valid DNS subdomain). */
export const stagedCloudInitName = (tenant: string, vm: string): string => `labplane-cloudinit.${tenant}.${vm}`;

/** The VM that owns a cloud-init Secret (its uid pins this very VM, not a later one of the same name). */
export interface CloudInitOwner {
  readonly name: string;
  readonly uid: string;
}

/**
 * VM cloud-init Secrets with least privilege. The control plane never reads or updates a Secret
 * in a tenant namespace (RBAC grants it only `create` and `delete` there): the user-data is
 * staged in its own namespace (`stage`), then `place`d next to the VM once the VM exists, created
 * with the VM as owner (so Kubernetes deletes it with the VM; `blockOwnerDeletion: false`, which
 * needs no permission on the VM's finalizers). A Secret found in the way is deleted and created
 * again instead of read: its content is the staged one, deterministic for this VM. `scrub`
 * replaces the user-data with its scrubbed version the same way. KubeVirt waits for a missing
 * cloud-init Secret (the launcher pod retries the mount), so the short gap is harmless.
 */
export interface CloudInitSecrets {
  stage(tenant: string, vm: string, userData: string, scrubbedUserData?: string): Promise<void>;
  /** Creates the tenant's Secret from the staged one; no-op when nothing is staged (placed already). */
  place(tenant: string, owner: CloudInitOwner): Promise<void>;
  /** Puts the scrubbed user-data in place and drops the staged copy; false when nothing was left to scrub. */
  scrub(tenant: string, owner: CloudInitOwner): Promise<boolean>;
  /** Deletes the tenant's Secret and any staged copy; absent ones are fine. */
  remove(tenant: string, vm: string): Promise<void>;
  /** The staged copies in the control namespace (labels only are used, never the data), oldest first. */
  listStaged(): Promise<Array<{ tenant: string; name: string; stagedAt: string }>>;
  /** Deletes one staged copy; absent is fine. */
  removeStaged(tenant: string, vm: string): Promise<void>;
}

const MAX_RECREATE = 3;

export function createCloudInitSecrets(client: KubeClient, controlNamespace: string): CloudInitSecrets {
  const staged: NamespacedOps<V1Secret> = {
    kind: 'Secret',
    create: (namespace, body) => client.core.createNamespacedSecret({ namespace, body }),
    read: (namespace, name) => client.core.readNamespacedSecret({ namespace, name }),
    replace: () => Promise.reject(new Error('staged cloud-init is never replaced')),
  };
  const readStaged = (tenant: string, vm: string) => readOrUndefined(client, staged, controlNamespace, stagedCloudInitName(tenant, vm));

  async function remove(namespace: string, name: string): Promise<void> {
    try {
      await client.request({ what: `delete Secret ${namespace}/${name}`, write: true }, () =>
        client.core.deleteNamespacedSecret({ namespace, name }),
      );
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /** Creates `body`; one in the way (an earlier attempt, or a Secret of a VM deleted meanwhile) is deleted first. */
  async function createFresh(body: V1Secret): Promise<void> {
    const namespace = body.metadata?.namespace ?? '';
    const name = body.metadata?.name ?? '';
    for (let attempt = 1; ; attempt++) {
      try {
        await client.request({ what: `create Secret ${namespace}/${name}`, write: true }, () =>
          client.core.createNamespacedSecret({ namespace, body }),
        );
        return;
      } catch (err) {
        if (!isConflict(err, 'ALREADY_EXISTS') || attempt >= MAX_RECREATE) throw err;
        await remove(namespace, name);
      }
    }
  }

  function tenantSecret(tenant: string, owner: CloudInitOwner, userDataB64: string): V1Secret {
    const ref: V1OwnerReference = {
      apiVersion: `${KUBEVIRT_GROUP}/${KUBEVIRT_VERSION}`,
      kind: 'VirtualMachine',
      name: owner.name,
      uid: owner.uid,
      controller: false,
      blockOwnerDeletion: false,
    };
    const base = cloudInitSecretObject(tenant, owner.name, '');
    return { ...base, metadata: { ...base.metadata, ownerReferences: [ref] }, data: { [CLOUD_INIT_KEY]: userDataB64 } };
  }

  return {
    async stage(tenant, vm, userData, scrubbedUserData) {
      const body = cloudInitSecretObject(tenant, vm, userData, scrubbedUserData);
      // A leftover (a create whose job never ran) is deleted and created again: no update right needed.
      await createFresh({
        ...body,
        metadata: {
          name: stagedCloudInitName(tenant, vm),
          namespace: controlNamespace,
          labels: { [LABEL_MANAGED_BY]: MANAGED_BY, [LABEL_TENANT]: tenant, [LABEL_VM]: vm, [LABEL_CLOUD_INIT_STAGED]: 'true' },
        },
      });
    },

    async place(tenant, owner) {
      const s = await readStaged(tenant, owner.name);
      const userData = s?.data?.[CLOUD_INIT_KEY];
      if (s === undefined || userData === undefined) return;
      await createFresh(tenantSecret(tenant, owner, userData));
      // Kept while a scrubbed version waits for `scrub`; otherwise its job is done.
      if (s.data?.[CLOUD_INIT_SCRUBBED_KEY] === undefined) await remove(controlNamespace, stagedCloudInitName(tenant, owner.name));
    },

    async scrub(tenant, owner) {
      const s = await readStaged(tenant, owner.name);
      const clean = s?.data?.[CLOUD_INIT_SCRUBBED_KEY];
      if (clean === undefined) return false;
      await remove(tenant, cloudInitSecretName(owner.name));
      await createFresh(tenantSecret(tenant, owner, clean));
      await remove(controlNamespace, stagedCloudInitName(tenant, owner.name));
      return true;
    },

    async remove(tenant, vm) {
      await remove(tenant, cloudInitSecretName(vm));
      await remove(controlNamespace, stagedCloudInitName(tenant, vm));
    },

    async listStaged() {
      const list = await client.request({ what: `list staged cloud-init Secrets in ${controlNamespace}`, write: false }, () =>
        client.core.listNamespacedSecret({ namespace: controlNamespace, labelSelector: `${LABEL_CLOUD_INIT_STAGED}=true` }),
      );
      return list.items
        .flatMap((s) => {
          const labels = s.metadata?.labels ?? {};
          const tenant = labels[LABEL_TENANT];
          const name = labels[LABEL_VM];
          const created = s.metadata?.creationTimestamp;
          if (tenant === undefined || name === undefined || created === undefined) return [];
          return [{ tenant, name, stagedAt: new Date(created).toISOString() }];
        })
        .sort((a, b) => a.stagedAt.localeCompare(b.stagedAt));
    },

    removeStaged: (tenant, vm) => remove(controlNamespace, stagedCloudInitName(tenant, vm)),
  };
}
