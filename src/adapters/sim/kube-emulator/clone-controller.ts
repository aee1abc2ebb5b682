import { createHash, randomUUID } from 'node:crypto';
import type * as kubevirt from '../../kubernetes/generated/kubevirt.js';
import { systemScheduler, type Scheduler } from '../../../domain/shared/scheduler.js';
import type { Controller, KubeEmulator } from './emulator-types.js';
import { jsonPatch } from './patch.js';
import { timestamp } from './store.js';
import type { KubeObject } from './types.js';
import { clone } from './types.js';
import { asVm, DISK_CONTENT_ANNOTATION, DV, VM, type Stored } from './vm-sim-objects.js';

/** Store key of `clone.kubevirt.io/v1beta1` VirtualMachineClones. */
export const CLONE_RESOURCE = 'virtualmachineclones.clone.kubevirt.io';
/** Source VM annotation that makes its next clones fail; the value is the failure message. */
export const FAIL_CLONE_ANNOTATION = 'sim.labplane.io/fail-clone';

type StoredClone = Stored<kubevirt.VirtualMachineClone>;
type CloneStatus = NonNullable<StoredClone['status']>;
type Condition = kubevirt.Schemas['v1beta1.Condition'];

const asClone = (o: KubeObject): StoredClone => o as unknown as StoredClone;

/** Options of {@link createCloneController}. */
export interface CloneControllerOptions {
  /** Time a clone spends in each phase, ms (default 0: the next macrotask). */
  phaseMs?: number;
  scheduler?: Scheduler;
}

function cond(type: string, status: 'True' | 'False', reason: string, message?: string): Condition {
  return { type, status, reason, ...(message === undefined ? {} : { message }), lastProbeTime: null, lastTransitionTime: timestamp() };
}

/** A locally administered unicast MAC address, derived from `seed`. */
export function simulatedMac(seed: string): string {
  const h = createHash('sha256').update(seed).digest();
  const bytes = [0x02, h[0] ?? 0, h[1] ?? 0, h[2] ?? 0, h[3] ?? 0, h[4] ?? 0];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/**
 * The target VM KubeVirt's clone creates from `source`: the source's spec, then the clone's
 * `patches`; every interface with a new MAC address (`newMacAddresses[interface]` or a generated
 * one), the SMBIOS serial `newSMBiosSerial` (or a generated one); its disks new DataVolumes cloned
 * from the source's (what a restore of the clone's snapshot gives), carrying their simulated content.
 */
function targetVm(e: KubeEmulator, source: KubeObject, c: StoredClone, uid: string): KubeObject {
  const ns = source.metadata.namespace ?? '';
  const target = c.spec?.target?.name ?? `clone-${uid.slice(0, 8)}`;
  const base: KubeObject = {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: {
      name: target,
      namespace: ns,
      ...(source.metadata.labels === undefined ? {} : { labels: clone(source.metadata.labels) }),
      ...(source.metadata.annotations === undefined ? {} : { annotations: clone(source.metadata.annotations) }),
    },
    spec: clone(source.spec ?? {}),
  };
  const patched = jsonPatch(
    base,
    (c.spec?.patches ?? []).map((p) => JSON.parse(p) as unknown),
  ) as KubeObject;
  const vm = asVm(patched);
  const tmpl = vm.spec?.template?.spec;
  if (tmpl !== undefined) {
    for (const i of tmpl.domain.devices.interfaces ?? []) i.macAddress = c.spec?.newMacAddresses?.[i.name] ?? simulatedMac(`${uid}/${i.name}`);
    tmpl.domain.firmware = { ...tmpl.domain.firmware, serial: c.spec?.newSMBiosSerial ?? randomUUID() };
    const renamed = new Map<string, string>();
    for (const t of vm.spec?.dataVolumeTemplates ?? []) {
      const old = t.metadata?.name ?? '';
      const name = `restore-${uid.slice(0, 8)}-${old}`.slice(0, 63).replace(/-+$/, '');
      renamed.set(old, name);
      const content = e.store.get(DV, ns, old)?.metadata.annotations?.[DISK_CONTENT_ANNOTATION];
      t.metadata = {
        ...t.metadata,
        name,
        ...(content === undefined ? {} : { annotations: { ...t.metadata?.annotations, [DISK_CONTENT_ANNOTATION]: content } }),
      };
      if (t.spec !== undefined) t.spec = { ...t.spec, source: { pvc: { namespace: ns, name: old } } };
    }
    for (const v of tmpl.volumes ?? [])
      if (v.dataVolume !== undefined && renamed.has(v.dataVolume.name)) v.dataVolume.name = renamed.get(v.dataVolume.name) ?? '';
  }
  return patched;
}

/**
 * A minimal KubeVirt clone controller (`clone.kubevirt.io/v1beta1`): a VirtualMachineClone goes
 * SnapshotInProgress, CreatingTargetVM (the target VM is created, see {@link targetVm}),
 * RestoreInProgress, then Succeeded with `targetName`. A missing source, a taken target name, a
 * patch that does not apply or {@link FAIL_CLONE_ANNOTATION} on the source fail it (`phase: Failed`
 * with a `Ready` condition False/Failed carrying the message).
 */
export function createCloneController(opts: CloneControllerOptions = {}): Controller {
  let emulator: KubeEmulator | undefined;
  const unsubscribe: (() => void)[] = [];
  const timers = new Set<() => void>();
  const phaseMs = opts.phaseMs ?? 0;
  const scheduler = opts.scheduler ?? systemScheduler;

  const later = (fn: () => void): void => {
    const cancel = scheduler.after(phaseMs, () => {
      timers.delete(cancel);
      fn();
    });
    timers.add(cancel);
  };

  const setStatus = (c: KubeObject, status: CloneStatus): void => {
    const next = clone(c);
    next.status = status;
    delete next.metadata.resourceVersion;
    emulator?.store.update(CLONE_RESOURCE, next);
  };

  const fail = (c: KubeObject, message: string): void =>
    setStatus(c, {
      ...asClone(c).status,
      phase: 'Failed',
      conditions: [cond('Progressing', 'False', 'Failed', message), cond('Ready', 'False', 'Failed', message)],
    });

  const step = (ns: string, name: string): void => {
    const e = emulator;
    const c = e?.store.get(CLONE_RESOURCE, ns, name);
    if (!e || !c) return;
    const spec = asClone(c).spec;
    const status = asClone(c).status;
    const uid = c.metadata.uid ?? name;
    const source = e.store.get(VM, ns, spec?.source.name ?? '');
    switch (status?.phase) {
      case 'Succeeded':
      case 'Failed':
        return;
      case undefined:
      case '':
        if (!source) return fail(c, `VirtualMachine ${ns}/${spec?.source.name ?? ''} does not exist`);
        setStatus(c, {
          phase: 'SnapshotInProgress',
          snapshotName: `tmp-snapshot-${uid}`,
          conditions: [cond('Progressing', 'True', 'InProgress', 'Taking a snapshot of the source'), cond('Ready', 'False', 'InProgress')],
        });
        return later(() => step(ns, name));
      case 'SnapshotInProgress': {
        if (!source) return fail(c, `VirtualMachine ${ns}/${spec?.source.name ?? ''} does not exist`);
        const failure = source.metadata.annotations?.[FAIL_CLONE_ANNOTATION];
        if (failure !== undefined) return fail(c, failure);
        setStatus(c, { ...status, phase: 'CreatingTargetVM' });
        return later(() => step(ns, name));
      }
      case 'CreatingTargetVM': {
        if (!source) return fail(c, `VirtualMachine ${ns}/${spec?.source.name ?? ''} does not exist`);
        let target: KubeObject;
        try {
          target = targetVm(e, source, asClone(c), uid);
        } catch (err) {
          return fail(c, `the patches do not apply to the target: ${err instanceof Error ? err.message : String(err)}`);
        }
        if (e.store.get(VM, ns, target.metadata.name ?? '')) return fail(c, `VirtualMachine ${ns}/${target.metadata.name ?? ''} already exists`);
        e.store.create(VM, target);
        setStatus(c, { ...status, phase: 'RestoreInProgress', restoreName: `tmp-restore-${uid}`, targetName: target.metadata.name ?? '' });
        return later(() => step(ns, name));
      }
      case 'RestoreInProgress':
        setStatus(c, {
          ...status,
          phase: 'Succeeded',
          conditions: [cond('Progressing', 'False', 'Succeeded', 'Clone succeeded'), cond('Ready', 'True', 'Succeeded', 'Clone succeeded')],
        });
        return;
      default:
        return;
    }
  };

  return {
    start(e) {
      emulator = e;
      unsubscribe.push(
        e.store.subscribe(CLONE_RESOURCE, (ev) => {
          const { namespace, name } = ev.object.metadata;
          if (ev.type === 'ADDED' && namespace && name) later(() => step(namespace, name));
        }),
      );
      for (const o of e.store.list(CLONE_RESOURCE)) later(() => step(o.metadata.namespace ?? '', o.metadata.name ?? ''));
    },
    stop() {
      for (const u of unsubscribe.splice(0)) u();
      for (const cancel of timers) cancel();
      timers.clear();
      emulator = undefined;
    },
  };
}
