import type * as kubevirt from '../../kubernetes/generated/kubevirt.js';
import { systemScheduler, type Scheduler } from '../../../domain/shared/scheduler.js';
import type { Controller, KubeEmulator } from './emulator-types.js';
import { agentConnected } from './guest-agent.js';
import { timestamp } from './store.js';
import type { KubeObject } from './types.js';
import { clone } from './types.js';
import { asVm, asVmi, DISK_CONTENT_ANNOTATION, DV, VM, VMI, type Stored } from './vm-sim-objects.js';

/** Store keys of the snapshot kinds (`snapshot.kubevirt.io/v1beta1`) and of the KubeVirt CR. */
export const SNAPSHOT_RESOURCES = {
  snapshots: 'virtualmachinesnapshots.snapshot.kubevirt.io',
  contents: 'virtualmachinesnapshotcontents.snapshot.kubevirt.io',
  restores: 'virtualmachinerestores.snapshot.kubevirt.io',
  kubevirts: 'kubevirts.kubevirt.io',
} as const;

/** Where the simulated KubeVirt install keeps its CR (`kubevirt/kubevirt`, as the operator's manifests name it). */
export const KUBEVIRT_CR = { namespace: 'kubevirt', name: 'kubevirt' } as const;

/** Simulation only: the "content" of a simulated disk (see `vm-sim-objects.ts`). */
export { DISK_CONTENT_ANNOTATION };
/** VM annotation that makes its next snapshots fail; the value is KubeVirt's error message. */
export const FAIL_SNAPSHOT_ANNOTATION = 'sim.labplane.io/fail-snapshot';
/** VM annotation that makes its next restores fail; the value is the failure message. */
export const FAIL_RESTORE_ANNOTATION = 'sim.labplane.io/fail-restore';

type StoredSnapshot = Stored<kubevirt.VirtualMachineSnapshot>;
type StoredRestore = Stored<kubevirt.VirtualMachineRestore>;
type SnapshotStatus = NonNullable<StoredSnapshot['status']>;
type RestoreStatus = NonNullable<StoredRestore['status']>;
type Condition = kubevirt.Schemas['v1beta1.Condition'];

const asSnapshot = (o: KubeObject): StoredSnapshot => o as unknown as StoredSnapshot;
const asRestore = (o: KubeObject): StoredRestore => o as unknown as StoredRestore;

/** Options of {@link createSnapshotController}. */
export interface SnapshotControllerOptions {
  /** Time a snapshot spends InProgress and a restore before it completes, ms (default 0: the next macrotask). */
  phaseMs?: number;
  /**
   * Feature gates of the KubeVirt CR the controller installs at start (default `['Snapshot']`);
   * `false`: no KubeVirt CR is written (a test writes its own).
   */
  featureGates?: readonly string[] | false;
  /** Timers (default real time). */
  scheduler?: Scheduler;
}

function cond(type: string, status: 'True' | 'False', reason: string, message?: string): Condition {
  return { type, status, reason, ...(message === undefined ? {} : { message }), lastProbeTime: null, lastTransitionTime: timestamp() };
}

/** The VM's volumes backed by a DataVolume or PVC: volume name → claim (DataVolume) name. */
function diskVolumes(vm: KubeObject): { volume: string; claim: string }[] {
  const out: { volume: string; claim: string }[] = [];
  for (const v of asVm(vm).spec?.template?.spec?.volumes ?? []) {
    const claim = v.dataVolume?.name ?? v.persistentVolumeClaim?.claimName;
    if (claim !== undefined) out.push({ volume: v.name, claim });
  }
  return out;
}

/**
 * A minimal KubeVirt snapshot and restore controller (`snapshot.kubevirt.io/v1beta1`).
 *
 * - At start it installs the KubeVirt CR `kubevirt/kubevirt` with the `Snapshot` feature gate.
 * - A VirtualMachineSnapshot goes InProgress (with `indications`: `Online` when the VM's VMI runs,
 *   then `GuestAgent` or `NoGuestAgent`), then Succeeded with `readyToUse: true`, `creationTime`
 *   and its included volumes; the disks' simulated content ({@link DISK_CONTENT_ANNOTATION}) is
 *   recorded. A source VM that does not exist, or carries {@link FAIL_SNAPSHOT_ANNOTATION}, fails it
 *   (`phase: Failed`, `status.error.message`). No VirtualMachineSnapshotContent is written.
 * - A VirtualMachineRestore waits while the target VM's VMI exists (KubeVirt restores stopped VMs),
 *   then writes the recorded content back onto the VM's disks (in place: real KubeVirt creates new
 *   PVCs from the volume snapshots and repoints the VM) and sets `complete: true`. A missing or
 *   unready snapshot, a missing VM or {@link FAIL_RESTORE_ANNOTATION} set a `Failure` condition.
 */
export function createSnapshotController(opts: SnapshotControllerOptions = {}): Controller {
  let emulator: KubeEmulator | undefined;
  const unsubscribe: (() => void)[] = [];
  const timers = new Set<() => void>();
  const phaseMs = opts.phaseMs ?? 0;
  const scheduler = opts.scheduler ?? systemScheduler;
  /** Simulated disk content per snapshot uid: claim name → content (undefined: none recorded). */
  const contents = new Map<string, Map<string, string | undefined>>();

  const later = (ms: number, fn: () => void): void => {
    const cancel = scheduler.after(ms, () => {
      timers.delete(cancel);
      fn();
    });
    timers.add(cancel);
  };

  const write = (resource: string, obj: KubeObject, change: (o: KubeObject) => void): void => {
    const next = clone(obj);
    change(next);
    delete next.metadata.resourceVersion;
    emulator?.store.update(resource, next);
  };

  const failSnapshot = (s: KubeObject, message: string): void =>
    write(SNAPSHOT_RESOURCES.snapshots, s, (o) => {
      o.status = {
        ...asSnapshot(o).status,
        phase: 'Failed',
        readyToUse: false,
        error: { message, time: timestamp() },
        conditions: [cond('Progressing', 'False', 'Failed', message), cond('Ready', 'False', 'Failed', message)],
      } satisfies SnapshotStatus;
    });

  const stepSnapshot = (ns: string, name: string): void => {
    const e = emulator;
    const s = e?.store.get(SNAPSHOT_RESOURCES.snapshots, ns, name);
    if (!e || !s) return;
    const status = asSnapshot(s).status;
    if (status?.phase === 'Succeeded' || status?.phase === 'Failed') return;
    const vmName = asSnapshot(s).spec?.source.name ?? '';
    const vm = e.store.get(VM, ns, vmName);
    if (!vm) return failSnapshot(s, `VirtualMachine ${ns}/${vmName} does not exist`);
    if (status?.phase !== 'InProgress') {
      const vmi = e.store.get(VMI, ns, vmName);
      const online = vmi !== undefined && asVmi(vmi).status?.phase === 'Running';
      const agent = online && agentConnected(vmi);
      const indications = online ? ['Online', agent ? 'GuestAgent' : 'NoGuestAgent'] : [];
      write(SNAPSHOT_RESOURCES.snapshots, s, (o) => {
        o.status = {
          phase: 'InProgress',
          readyToUse: false,
          sourceUID: vm.metadata.uid ?? '',
          indications,
          sourceIndications: indications.map((indication) => ({
            indication,
            message:
              indication === 'Online'
                ? 'Snapshot taken while the VM was running'
                : indication === 'GuestAgent'
                  ? 'The guest agent froze the file systems'
                  : 'No guest agent: the file systems were not frozen',
          })),
          conditions: [cond('Progressing', 'True', 'InProgress', 'Source locked and operation in progress'), cond('Ready', 'False', 'InProgress')],
        } satisfies SnapshotStatus;
      });
      return later(phaseMs, () => stepSnapshot(ns, name));
    }
    const failure = vm.metadata.annotations?.[FAIL_SNAPSHOT_ANNOTATION];
    if (failure !== undefined) return failSnapshot(s, failure);
    const volumes = diskVolumes(vm);
    const recorded = new Map<string, string | undefined>();
    for (const { claim } of volumes) recorded.set(claim, e.store.get(DV, ns, claim)?.metadata.annotations?.[DISK_CONTENT_ANNOTATION]);
    contents.set(s.metadata.uid ?? '', recorded);
    write(SNAPSHOT_RESOURCES.snapshots, s, (o) => {
      o.status = {
        ...asSnapshot(o).status,
        phase: 'Succeeded',
        readyToUse: true,
        creationTime: timestamp(),
        virtualMachineSnapshotContentName: `vmsnapshot-content-${s.metadata.uid ?? ''}`,
        snapshotVolumes: { includedVolumes: volumes.map((v) => v.volume) },
        conditions: [cond('Progressing', 'False', 'Operation complete'), cond('Ready', 'True', 'Operation complete')],
      } satisfies SnapshotStatus;
    });
  };

  const failRestore = (r: KubeObject, message: string): void =>
    write(SNAPSHOT_RESOURCES.restores, r, (o) => {
      o.status = {
        ...asRestore(o).status,
        complete: false,
        conditions: [
          cond('Progressing', 'False', 'Failed', message),
          cond('Ready', 'False', 'Failed', message),
          cond('Failure', 'True', 'Failed', message),
        ],
      } satisfies RestoreStatus;
    });

  const stepRestore = (ns: string, name: string): void => {
    const e = emulator;
    const r = e?.store.get(SNAPSHOT_RESOURCES.restores, ns, name);
    if (!e || !r) return;
    const status = asRestore(r).status;
    if (status?.complete === true || (status?.conditions ?? []).some((c) => c.type === 'Failure' && c.status === 'True')) return;
    const spec = asRestore(r).spec;
    const vmName = spec?.target.name ?? '';
    const vm = e.store.get(VM, ns, vmName);
    if (!vm) return failRestore(r, `VirtualMachine ${ns}/${vmName} does not exist`);
    const snap = e.store.get(SNAPSHOT_RESOURCES.snapshots, ns, spec?.virtualMachineSnapshotName ?? '');
    if (!snap || asSnapshot(snap).status?.readyToUse !== true) {
      return failRestore(r, `VirtualMachineSnapshot ${ns}/${spec?.virtualMachineSnapshotName ?? ''} does not exist or is not ready`);
    }
    const failure = vm.metadata.annotations?.[FAIL_RESTORE_ANNOTATION];
    if (failure !== undefined) return failRestore(r, failure);
    if (status === undefined) {
      write(SNAPSHOT_RESOURCES.restores, r, (o) => {
        o.status = {
          complete: false,
          conditions: [cond('Progressing', 'True', 'InProgress', 'Initializing VirtualMachineRestore'), cond('Ready', 'False', 'InProgress')],
        } satisfies RestoreStatus;
      });
      return later(phaseMs, () => stepRestore(ns, name));
    }
    if (e.store.get(VMI, ns, vmName) !== undefined) {
      // KubeVirt restores a stopped VM: wait until its instance is gone.
      return later(Math.max(phaseMs, 50), () => stepRestore(ns, name));
    }
    const recorded = contents.get(snap.metadata.uid ?? '') ?? new Map<string, string | undefined>();
    const restores: kubevirt.Schemas['v1beta1.VolumeRestore'][] = [];
    for (const { volume, claim } of diskVolumes(vm)) {
      const dv = e.store.get(DV, ns, claim);
      if (dv && recorded.has(claim)) {
        write(DV, dv, (o) => {
          const ann = { ...o.metadata.annotations };
          const content = recorded.get(claim);
          if (content === undefined) delete ann[DISK_CONTENT_ANNOTATION];
          else ann[DISK_CONTENT_ANNOTATION] = content;
          o.metadata.annotations = ann;
        });
      }
      restores.push({
        volumeName: volume,
        persistentVolumeClaim: claim,
        dataVolumeName: claim,
        volumeSnapshotName: `vmsnapshot-${snap.metadata.uid ?? ''}-volume-${volume}`,
      });
    }
    write(SNAPSHOT_RESOURCES.restores, r, (o) => {
      o.status = {
        complete: true,
        restoreTime: timestamp(),
        restores,
        conditions: [cond('Progressing', 'False', 'Operation complete'), cond('Ready', 'True', 'Operation complete')],
      } satisfies RestoreStatus;
    });
  };

  const installKubeVirt = (e: KubeEmulator, gates: readonly string[]): void => {
    if (!e.store.peek('namespaces', undefined, KUBEVIRT_CR.namespace)) {
      e.store.create('namespaces', {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: KUBEVIRT_CR.namespace, labels: { 'kubernetes.io/metadata.name': KUBEVIRT_CR.namespace } },
        spec: { finalizers: ['kubernetes'] },
        status: { phase: 'Active' },
      });
    }
    if (e.store.peek(SNAPSHOT_RESOURCES.kubevirts, KUBEVIRT_CR.namespace, KUBEVIRT_CR.name)) return;
    e.store.create(SNAPSHOT_RESOURCES.kubevirts, {
      apiVersion: 'kubevirt.io/v1',
      kind: 'KubeVirt',
      metadata: { name: KUBEVIRT_CR.name, namespace: KUBEVIRT_CR.namespace },
      spec: { configuration: { developerConfiguration: { featureGates: [...gates] } } },
      status: { phase: 'Deployed' },
    });
  };

  return {
    start(e) {
      emulator = e;
      if (opts.featureGates !== false) installKubeVirt(e, opts.featureGates ?? ['Snapshot']);
      const watch = (resource: string, step: (ns: string, name: string) => void) => {
        unsubscribe.push(
          e.store.subscribe(resource, (ev) => {
            const { namespace, name, uid } = ev.object.metadata;
            if (ev.type === 'DELETED' && resource === SNAPSHOT_RESOURCES.snapshots && uid !== undefined) contents.delete(uid);
            if (ev.type !== 'ADDED' || !namespace || !name) return;
            later(phaseMs, () => step(namespace, name));
          }),
        );
        for (const o of e.store.list(resource)) later(phaseMs, () => step(o.metadata.namespace ?? '', o.metadata.name ?? ''));
      };
      watch(SNAPSHOT_RESOURCES.snapshots, stepSnapshot);
      watch(SNAPSHOT_RESOURCES.restores, stepRestore);
    },
    stop() {
      for (const u of unsubscribe.splice(0)) u();
      for (const cancel of timers) cancel();
      timers.clear();
      emulator = undefined;
    },
  };
}
