import { ConflictError } from '../../domain/shared/errors.js';
import { systemClock, type Clock } from '../../domain/shared/ids.js';
import type { VmCopyRepository } from '../../domain/vms/vm-copy-repository.js';
import { isConflict } from './errors.js';
import { ANN_OPERATION_ID as ANN_IMAGE_OPERATION_ID, CDI_GROUP, CDI_VERSION, DATAVOLUMES, type DataVolume } from './image-objects.js';
import type { KubeClient } from './kube-client.js';
import { orUndefined } from './kube-reads.js';
import { askKubeVirtSupport, cachedSupport } from './snapshot-repository.js';
import {
  CLONE_GROUP,
  CLONE_VERSION,
  cloneObject,
  cloneRecordOf,
  publishedImageObject,
  VM_CLONES,
  type VirtualMachineClone,
} from './vm-copy-objects.js';
import { KUBEVIRT_GROUP, KUBEVIRT_VERSION, ROOT_VOLUME, VMS, type VirtualMachine } from './vm-objects.js';

export interface KubeVmCopyRepositoryDeps {
  readonly client: KubeClient;
  /** How long an answer of `cloneSupport` is kept, ms (default 30 000; 0: asked every time). */
  readonly supportCacheMs?: number;
  readonly clock?: Clock;
}

/**
 * Clones (`clone.kubevirt.io/v1beta1` VirtualMachineClones) and published images (CDI DataVolumes
 * cloning a VM's root disk) in the tenant's namespace, read from the API server on demand (a clone
 * lives for the length of one operation: no informer). `cloneSupport` lists the clone CRD (a 404
 * means it is not served) and the KubeVirt CR (clones are made through snapshots: its `Snapshot`
 * feature gate).
 */
export function createKubeVmCopyRepository(deps: KubeVmCopyRepositoryDeps): VmCopyRepository {
  const { client } = deps;
  const clock = deps.clock ?? systemClock;
  const cacheMs = deps.supportCacheMs ?? 30_000;
  const api = (namespace: string) => ({ group: CLONE_GROUP, version: CLONE_VERSION, plural: VM_CLONES, namespace });

  const support = cachedSupport(
    () =>
      askKubeVirtSupport(
        client,
        { group: CLONE_GROUP, version: CLONE_VERSION, plural: VM_CLONES },
        `the API server does not serve ${VM_CLONES}.${CLONE_GROUP}; install KubeVirt's clone CRD (clone.kubevirt.io/v1beta1, shipped with KubeVirt) and enable its Snapshot feature gate`,
      ),
    clock,
    cacheMs,
  );

  const readVm = (tenant: string, name: string) =>
    orUndefined(
      client.request(
        { what: `read VirtualMachine ${tenant}/${name}`, write: false, resource: 'vm', name },
        async () =>
          (await client.custom.getNamespacedCustomObject({
            group: KUBEVIRT_GROUP,
            version: KUBEVIRT_VERSION,
            plural: VMS,
            namespace: tenant,
            name,
          })) as VirtualMachine,
      ),
    );

  return {
    cloneSupport: support,

    async createClone(spec) {
      const source = await readVm(spec.tenant, spec.source);
      if (source === undefined) throw new ConflictError('VM_GONE', `VM '${spec.source}' was deleted before it could be cloned.`);
      try {
        await client.request({ what: `create VirtualMachineClone ${spec.tenant}/${spec.name}`, write: true }, () =>
          client.custom.createNamespacedCustomObject({ ...api(spec.tenant), body: cloneObject(source, spec) }),
        );
      } catch (err) {
        if (!isConflict(err, 'ALREADY_EXISTS')) throw err;
      }
    },

    async cloneStatus(tenant, name) {
      const c = await orUndefined(
        client.request(
          { what: `read VirtualMachineClone ${tenant}/${name}`, write: false, name },
          async () => (await client.custom.getNamespacedCustomObject({ ...api(tenant), name })) as VirtualMachineClone,
        ),
      );
      return c === undefined ? undefined : cloneRecordOf(c);
    },

    async deleteClone(tenant, name) {
      await orUndefined(
        client.request({ what: `delete VirtualMachineClone ${tenant}/${name}`, write: true, name }, () =>
          client.custom.deleteNamespacedCustomObject({ ...api(tenant), name }),
        ),
      );
    },

    async rootDisk(tenant, vm) {
      const obj = await readVm(tenant, vm);
      const root = obj?.spec?.template?.spec?.volumes?.find((v) => v.name === ROOT_VOLUME);
      return root?.dataVolume?.name ?? root?.persistentVolumeClaim?.claimName;
    },

    async publish(spec) {
      const body = publishedImageObject(spec);
      const dvApi = { group: CDI_GROUP, version: CDI_VERSION, plural: DATAVOLUMES, namespace: spec.tenant };
      try {
        await client.request({ what: `create DataVolume ${spec.tenant}/${spec.image}`, write: true, resource: 'image', name: spec.image }, () =>
          client.custom.createNamespacedCustomObject({ ...dvApi, body }),
        );
      } catch (err) {
        if (!isConflict(err, 'ALREADY_EXISTS')) throw err;
        const existing = await orUndefined(
          client.request(
            { what: `read DataVolume ${spec.tenant}/${spec.image}`, write: false, resource: 'image', name: spec.image },
            async () => (await client.custom.getNamespacedCustomObject({ ...dvApi, name: spec.image })) as DataVolume,
          ),
        );
        if (existing?.metadata?.annotations?.[ANN_IMAGE_OPERATION_ID] === spec.operationId) return;
        throw new ConflictError('IMAGE_EXISTS', `An image named '${spec.image}' already exists.`, { cause: err });
      }
    },
  };
}
