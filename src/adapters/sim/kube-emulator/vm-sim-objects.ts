import type * as cdi from '../../kubernetes/generated/cdi.js';
import type * as kubevirt from '../../kubernetes/generated/kubevirt.js';
import type { ObjectStore } from './store.js';
import { timestamp } from './store.js';
import type { KubeObject, ObjectMeta } from './types.js';
import { clone, isObject } from './types.js';

export const VM = 'virtualmachines.kubevirt.io';
export const VMI = 'virtualmachineinstances.kubevirt.io';
export const VMIM = 'virtualmachineinstancemigrations.kubevirt.io';
export const DV = 'datavolumes.cdi.kubevirt.io';
export const PVC = 'persistentvolumeclaims';

/** A KubeVirt or CDI kind (generated from the vendored schemas) with the metadata the store keeps. */
export type Stored<T> = Omit<T, 'metadata'> & { metadata: ObjectMeta };
export type StoredVm = Stored<kubevirt.VirtualMachine>;
export type StoredVmi = Stored<kubevirt.VirtualMachineInstance>;
export type StoredMigration = Stored<kubevirt.VirtualMachineInstanceMigration>;
export type StoredDataVolume = Stored<cdi.DataVolume>;
export type VmStatus = NonNullable<kubevirt.Schemas['v1.VirtualMachineStatus']>;
export type VmCondition = kubevirt.Schemas['v1.VirtualMachineCondition'];
export type VmiCondition = kubevirt.Schemas['v1.VirtualMachineInstanceCondition'];
export type MigrationState = kubevirt.Schemas['v1.VirtualMachineInstanceMigrationState'];

/**
 * A stored object seen as its kind. The API admits KubeVirt and CDI objects only when they pass
 * that kind's schema (strictly), and the simulated controllers build theirs with these types; objects
 * a test puts straight into the store may still lack required fields, so readers keep `?.`.
 */
export const asVm = (o: KubeObject): StoredVm => o as unknown as StoredVm;
export const asVmi = (o: KubeObject): StoredVmi => o as unknown as StoredVmi;
export const asMigration = (o: KubeObject): StoredMigration => o as unknown as StoredMigration;
export const asDataVolume = (o: KubeObject): StoredDataVolume => o as unknown as StoredDataVolume;
/** A typed object as the store holds it. */
export const stored = (o: Stored<unknown>): KubeObject => o as KubeObject;

export const record = (v: unknown): Record<string, unknown> => (isObject(v) ? v : {});
export const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** A VM/VMI condition as KubeVirt writes it. */
export function condition(type: string, status: 'True' | 'False', reason?: string, message?: string): VmCondition & VmiCondition {
  return {
    type,
    status,
    ...(reason === undefined ? {} : { reason }),
    ...(message === undefined ? {} : { message }),
    lastProbeTime: null,
    lastTransitionTime: timestamp(),
  };
}

/** The DataVolumes a VM's `dataVolumeTemplates` ask for, as CDI objects owned by the VM (no status yet). */
export function dataVolumesOf(vm: KubeObject): KubeObject[] {
  const { metadata, spec } = asVm(vm);
  const ns = metadata.namespace ?? '';
  return (spec?.dataVolumeTemplates ?? []).map((t) => {
    const dv: StoredDataVolume = {
      apiVersion: 'cdi.kubevirt.io/v1beta1',
      kind: 'DataVolume',
      metadata: {
        name: t.metadata?.name ?? '',
        namespace: ns,
        ...(t.metadata?.labels === undefined ? {} : { labels: clone(t.metadata.labels) }),
        ...(t.metadata?.annotations === undefined ? {} : { annotations: clone(t.metadata.annotations) }),
        ownerReferences: [
          {
            apiVersion: 'kubevirt.io/v1',
            kind: 'VirtualMachine',
            name: metadata.name ?? '',
            uid: metadata.uid ?? '',
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      // KubeVirt's copy of CDI's DataVolumeSpec types a Quantity as string or number (both parse), CDI's as the string it stores.
      spec: clone(t.spec ?? {}) as cdi.Schemas['v1beta1.DataVolumeSpec'],
    };
    return stored(dv);
  });
}

/**
 * Whether a clone's source is there: a PVC, or a DataVolume of that name that finished importing.
 * `sourceRef` (DataSource) sources count as present: the emulator has no DataSources.
 */
export function cloneSource(store: ObjectStore, dv: KubeObject): 'ready' | 'pending' | 'missing' {
  const pvc = asDataVolume(dv).spec?.source?.pvc;
  if (typeof pvc?.name !== 'string') return 'ready';
  const ns = typeof pvc.namespace === 'string' ? pvc.namespace : (dv.metadata.namespace ?? '');
  if (store.peek(PVC, ns, pvc.name)) return 'ready';
  const image = store.peek(DV, ns, pvc.name);
  if (!image) return 'missing';
  const phase = asDataVolume(image).status?.phase;
  return phase === 'Succeeded' ? 'ready' : phase === 'Failed' ? 'missing' : 'pending';
}

/**
 * Simulation only: the "content" of a simulated disk, an annotation of its DataVolume. Nothing in a
 * real cluster reads it; tests change it to "break" a VM's disk and see a restore bring it back, or
 * follow it through clones (a clone of a disk carries its source's content).
 */
export const DISK_CONTENT_ANNOTATION = 'sim.labplane.io/disk-content';

/** The simulated content of a clone's source disk (`source.pvc`, the DataVolume of that name), if any. */
export function sourceContent(store: ObjectStore, dv: KubeObject): string | undefined {
  const pvc = asDataVolume(dv).spec?.source?.pvc;
  if (typeof pvc?.name !== 'string') return undefined;
  const ns = typeof pvc.namespace === 'string' ? pvc.namespace : (dv.metadata.namespace ?? '');
  return store.peek(DV, ns, pvc.name)?.metadata.annotations?.[DISK_CONTENT_ANNOTATION];
}

/** `dv` with its clone source's simulated content, unless it has content of its own already. */
export function withSourceContent(store: ObjectStore, dv: KubeObject): KubeObject {
  const content = sourceContent(store, dv);
  if (content === undefined || dv.metadata.annotations?.[DISK_CONTENT_ANNOTATION] !== undefined) return dv;
  return { ...dv, metadata: { ...dv.metadata, annotations: { ...dv.metadata.annotations, [DISK_CONTENT_ANNOTATION]: content } } };
}

/** Nodes VMs may run on (label `workload=kubevirt`, not cordoned), the least loaded first, `exclude` left out. */
export function pickNode(store: ObjectStore, exclude?: string): string | undefined {
  const load = new Map<string, number>();
  for (const vmi of store.scan(VMI)) {
    const node = asVmi(vmi).status?.nodeName;
    if (typeof node === 'string') load.set(node, (load.get(node) ?? 0) + 1);
  }
  const candidates = [...store.scan('nodes')]
    .filter((n) => n.metadata.labels?.['workload'] === 'kubevirt' && record(n.spec).unschedulable !== true && n.metadata.name !== exclude)
    .map((n) => n.metadata.name ?? '')
    .sort((a, b) => (load.get(a) ?? 0) - (load.get(b) ?? 0) || a.localeCompare(b));
  return candidates[0];
}

/**
 * The LiveMigratable condition KubeVirt puts on a VMI: False when a disk's volume is not shared.
 * A DataVolume counts as shared when its access modes say ReadWriteMany or, with none given (CDI's
 * storage API picks them from the StorageProfile), when its storage class is in `rwxStorageClasses`.
 */
export function liveMigratable(vm: KubeObject, rwxStorageClasses: ReadonlySet<string>): VmiCondition {
  for (const t of asVm(vm).spec?.dataVolumeTemplates ?? []) {
    const storage = t.spec?.storage ?? t.spec?.pvc;
    const modes: readonly string[] = storage?.accessModes ?? [];
    const shared = modes.length > 0 ? modes.includes('ReadWriteMany') : rwxStorageClasses.has(storage?.storageClassName ?? '');
    if (!shared) {
      const name = t.metadata?.name ?? '';
      return condition(
        'LiveMigratable',
        'False',
        'DisksNotLiveMigratable',
        `cannot migrate VMI: PVC ${name} is not shared, live migration requires that all PVCs must be shared (using ReadWriteMany access mode)`,
      );
    }
  }
  return condition('LiveMigratable', 'True');
}

/** A VMI for `vm` on `node`: owned by the VM, its template's labels and spec, phase as given. */
export function vmiFor(vm: KubeObject, node: string, phase: 'Scheduling' | 'Running', migratable: VmiCondition): KubeObject {
  const { metadata, spec } = asVm(vm);
  const template = spec?.template;
  const name = metadata.name ?? '';
  const vmi: StoredVmi = {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachineInstance',
    metadata: {
      name,
      namespace: metadata.namespace ?? '',
      labels: { ...template?.metadata?.labels, 'kubevirt.io/nodeName': node },
      ownerReferences: [
        { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', name, uid: metadata.uid ?? '', controller: true, blockOwnerDeletion: true },
      ],
    },
    // A VM the API admitted has a template spec (its schema requires the domain); one put straight into the store may not.
    spec: clone(template?.spec ?? ({} as kubevirt.Schemas['v1.VirtualMachineInstanceSpec'])),
    status: {
      phase,
      nodeName: node,
      conditions: [condition('Ready', phase === 'Running' ? 'True' : 'False'), migratable],
    },
  };
  return stored(vmi);
}

/** Whether a VMI is in the middle of a live migration. */
export function isMigrating(vmi: KubeObject | undefined): boolean {
  const state = vmi === undefined ? undefined : asVmi(vmi).status?.migrationState;
  return state !== undefined && Object.keys(state).length > 0 && state.completed !== true && state.failed !== true;
}
