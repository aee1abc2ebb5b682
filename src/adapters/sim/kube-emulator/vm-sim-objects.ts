import type { ObjectStore } from './store.js';
import { timestamp } from './store.js';
import type { KubeObject } from './types.js';
import { clone, isObject } from './types.js';

export const VM = 'virtualmachines.kubevirt.io';
export const VMI = 'virtualmachineinstances.kubevirt.io';
export const VMIM = 'virtualmachineinstancemigrations.kubevirt.io';
export const DV = 'datavolumes.cdi.kubevirt.io';
export const PVC = 'persistentvolumeclaims';

export const record = (v: unknown): Record<string, unknown> => (isObject(v) ? v : {});
export const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** A VM/VMI condition as KubeVirt writes it. */
export function condition(type: string, status: 'True' | 'False', reason?: string, message?: string): Record<string, unknown> {
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
  const ns = vm.metadata.namespace ?? '';
  return list(record(vm.spec).dataVolumeTemplates).map((raw) => {
    const t = record(raw);
    const meta = record(t.metadata);
    return {
      apiVersion: 'cdi.kubevirt.io/v1beta1',
      kind: 'DataVolume',
      metadata: {
        name: String(meta.name ?? ''),
        namespace: ns,
        ...(isObject(meta.labels) ? { labels: clone(meta.labels as Record<string, string>) } : {}),
        ...(isObject(meta.annotations) ? { annotations: clone(meta.annotations as Record<string, string>) } : {}),
        ownerReferences: [
          {
            apiVersion: 'kubevirt.io/v1',
            kind: 'VirtualMachine',
            name: vm.metadata.name ?? '',
            uid: vm.metadata.uid ?? '',
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: clone(record(t.spec)),
    };
  });
}

/**
 * Whether a clone's source is there: a PVC, or a DataVolume of that name that finished importing.
 * `sourceRef` (DataSource) sources count as present: the emulator has no DataSources.
 */
export function cloneSource(store: ObjectStore, dv: KubeObject): 'ready' | 'pending' | 'missing' {
  const source = record(record(dv.spec).source);
  const pvc = record(source.pvc);
  if (typeof pvc.name !== 'string') return 'ready';
  const ns = typeof pvc.namespace === 'string' ? pvc.namespace : (dv.metadata.namespace ?? '');
  if (store.peek(PVC, ns, pvc.name)) return 'ready';
  const image = store.peek(DV, ns, pvc.name);
  if (!image) return 'missing';
  const phase = record(image.status).phase;
  return phase === 'Succeeded' ? 'ready' : phase === 'Failed' ? 'missing' : 'pending';
}

/** Nodes VMs may run on (label `workload=kubevirt`, not cordoned), the least loaded first, `exclude` left out. */
export function pickNode(store: ObjectStore, exclude?: string): string | undefined {
  const load = new Map<string, number>();
  for (const vmi of store.scan(VMI)) {
    const node = record(vmi.status).nodeName;
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
export function liveMigratable(vm: KubeObject, rwxStorageClasses: ReadonlySet<string>): Record<string, unknown> {
  for (const raw of list(record(vm.spec).dataVolumeTemplates)) {
    const t = record(raw);
    const storage = record(record(t.spec).storage ?? record(t.spec).pvc);
    const modes = list(storage.accessModes);
    const shared = modes.length > 0 ? modes.includes('ReadWriteMany') : rwxStorageClasses.has(String(storage.storageClassName ?? ''));
    if (!shared) {
      const name = String(record(t.metadata).name ?? '');
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
export function vmiFor(vm: KubeObject, node: string, phase: 'Scheduling' | 'Running', migratable: Record<string, unknown>): KubeObject {
  const template = record(record(vm.spec).template);
  const name = vm.metadata.name ?? '';
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachineInstance',
    metadata: {
      name,
      namespace: vm.metadata.namespace ?? '',
      labels: { ...(record(template.metadata).labels as Record<string, string> | undefined), 'kubevirt.io/nodeName': node },
      ownerReferences: [
        { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', name, uid: vm.metadata.uid ?? '', controller: true, blockOwnerDeletion: true },
      ],
    },
    spec: clone(record(template.spec)),
    status: {
      phase,
      nodeName: node,
      conditions: [condition('Ready', phase === 'Running' ? 'True' : 'False'), migratable],
    },
  };
}

/** Whether a VMI is in the middle of a live migration. */
export function isMigrating(vmi: KubeObject | undefined): boolean {
  const state = record(record(vmi?.status).migrationState);
  return Object.keys(state).length > 0 && state.completed !== true && state.failed !== true;
}
