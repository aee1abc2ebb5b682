import { NotFoundError } from '../../domain/shared/errors.js';
import type { DiskSource, RootDiskState, VmDisks } from '../../domain/vms/reimage.js';
import { isNotFound } from './errors.js';
import { CDI_GROUP, CDI_VERSION, DATAVOLUMES, LABEL_IMAGE, LABEL_IMAGE_SCOPE, type DataVolume } from './image-objects.js';
import type { KubeClient } from './kube-client.js';
import { orUndefined } from './kube-reads.js';
import { modify } from './kube-writes.js';
import { LABEL_VM, ROOT_VOLUME, type VirtualMachine } from './vm-objects.js';
import { vmApi } from './vm-writes.js';

const dvApi = (namespace: string) => ({ group: CDI_GROUP, version: CDI_VERSION, plural: DATAVOLUMES, namespace });

/** The DataVolume the VM's root volume names. */
export function rootDiskOf(vm: VirtualMachine): string | undefined {
  return vm.spec?.template?.spec?.volumes?.find((v) => v.name === ROOT_VOLUME)?.dataVolume?.name;
}

/**
 * The VM with its root disk pointed at a new DataVolume `disk` cloned from `source`: the root
 * template is replaced (same labels, size, storage class and access modes, a new name and source),
 * the `root` volume names it, and the VM's image labels follow. KubeVirt creates the DataVolume
 * from the template; the old one stays, owned by the VM, until it is pruned. Undefined when the VM
 * already uses `disk`.
 */
export function withNewRootDisk(vm: VirtualMachine, disk: string, source: DiskSource): VirtualMachine | undefined {
  const current = rootDiskOf(vm);
  if (current === disk) return undefined;
  const next = structuredClone(vm);
  const templates = next.spec.dataVolumeTemplates ?? [];
  const i = templates.findIndex((t) => t.metadata?.name === current);
  const old = templates[i];
  if (old === undefined) throw new TypeError(`VirtualMachine ${vm.metadata?.name ?? ''} has no template for its root disk`);
  templates[i] = {
    ...old,
    metadata: { ...old.metadata, name: disk },
    spec: { ...old.spec, source: { pvc: { namespace: source.namespace, name: source.pvcName } } },
  };
  for (const v of next.spec.template.spec?.volumes ?? [])
    if (v.name === ROOT_VOLUME && v.dataVolume !== undefined) v.dataVolume = { ...v.dataVolume, name: disk };
  next.metadata = {
    ...next.metadata,
    labels: { ...next.metadata?.labels, [LABEL_IMAGE_SCOPE]: source.image.scope, [LABEL_IMAGE]: source.image.name },
  };
  return next;
}

/** A DataVolume's phase and, when it failed, the message of its failing condition. */
function stateOf(dv: DataVolume): RootDiskState {
  const phase = dv.status?.phase ?? 'Pending';
  const failure = phase === 'Failed' ? dv.status?.conditions?.find((c) => c.status === 'False' && typeof c.message === 'string')?.message : undefined;
  return { name: dv.metadata?.name ?? '', phase, ...(failure === undefined || failure === null ? {} : { failure }) };
}

/** VM root disks over the API server (direct reads: a reimage polls one DataVolume, briefly). */
export function createKubeVmDisks(client: KubeClient): VmDisks {
  const readVm = (ns: string, name: string) =>
    orUndefined(
      client.request(
        { what: `read VirtualMachine ${ns}/${name}`, write: false },
        async () => (await client.custom.getNamespacedCustomObject({ ...vmApi(ns), name })) as VirtualMachine,
      ),
    );
  const readDv = (ns: string, name: string) =>
    orUndefined(
      client.request(
        { what: `read DataVolume ${ns}/${name}`, write: false },
        async () => (await client.custom.getNamespacedCustomObject({ ...dvApi(ns), name })) as DataVolume,
      ),
    );

  return {
    async replaceRootDisk(tenant, vm, disk, source) {
      const written = await modify<VirtualMachine>(
        `VirtualMachine ${tenant}/${vm}`,
        () => readVm(tenant, vm),
        undefined,
        (current) => withNewRootDisk(current, disk, source),
        async (next) =>
          (await client.request({ what: `replace the root disk of VirtualMachine ${tenant}/${vm}`, write: true, resource: 'vm', name: vm }, () =>
            client.custom.replaceNamespacedCustomObject({ ...vmApi(tenant), name: vm, body: next }),
          )) as VirtualMachine,
      );
      if (written === undefined) throw new NotFoundError('vm', vm);
    },

    async rootDisk(tenant, disk) {
      const dv = await readDv(tenant, disk);
      return dv === undefined ? undefined : stateOf(dv);
    },

    async pruneDisks(tenant, vm) {
      const current = await readVm(tenant, vm);
      if (current === undefined) return [];
      const uid = current.metadata?.uid;
      const wanted = new Set((current.spec?.dataVolumeTemplates ?? []).map((t) => t.metadata?.name));
      const list = (await client.request({ what: `list DataVolumes of VirtualMachine ${tenant}/${vm}`, write: false }, () =>
        client.custom.listNamespacedCustomObject({ ...dvApi(tenant), labelSelector: `${LABEL_VM}=${vm}` }),
      )) as { items?: DataVolume[] };
      // Only the VM's own disks: a disk retained from an earlier VM of the same name is not owned by this one.
      const stale = (list.items ?? []).filter(
        (dv) => dv.metadata?.ownerReferences?.some((r) => r.uid === uid) === true && !wanted.has(dv.metadata?.name ?? ''),
      );
      const deleted: string[] = [];
      for (const dv of stale) {
        const name = dv.metadata?.name ?? '';
        try {
          await client.request({ what: `delete DataVolume ${tenant}/${name}`, write: true }, () =>
            client.custom.deleteNamespacedCustomObject({ ...dvApi(tenant), name, propagationPolicy: 'Background' }),
          );
          deleted.push(name);
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      }
      return deleted;
    },
  };
}
