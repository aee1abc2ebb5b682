import { systemScheduler, type Scheduler } from '../../../domain/shared/scheduler.js';
import type { Controller, KubeEmulator } from './emulator-types.js';
import { KubeStatusError } from './errors.js';
import { timestamp } from './store.js';
import type { KubeObject } from './types.js';
import { clone } from './types.js';
import { provisionDisks } from './vm-disks.js';
import { AGENT_CONNECTED } from './guest-agent.js';
import {
  asVm,
  asVmi,
  condition,
  DV,
  isMigrating,
  liveMigratable,
  pickNode,
  VM,
  VMI,
  vmiFor,
  type VmCondition,
  type VmStatus,
} from './vm-sim-objects.js';

/** Options of {@link createVmLifecycleController}. Every duration defaults to 0 (the next macrotask). */
export interface VmLifecycleOptions {
  /** Delay before a change is reconciled, in ms (default 0: next macrotask). */
  reconcileDelayMs?: number;
  /** Time a root-disk clone takes (DataVolume CloneInProgress → Succeeded; the VM is Provisioning), ms. */
  provisionMs?: number;
  /** Time from VMI creation (Scheduling; the VM is Starting) to Running, ms. */
  startMs?: number;
  /** Time a stop takes (the VM is Stopping) before the VMI goes, ms. */
  stopMs?: number;
  /**
   * Storage classes whose volumes count as ReadWriteMany when a DataVolume names no access modes
   * (the emulator's stand-in for CDI StorageProfiles); default `['kv-standard']`. A VMI with a disk
   * that is not shared gets `LiveMigratable=False` (reason `DisksNotLiveMigratable`).
   */
  rwxStorageClasses?: readonly string[];
  /**
   * Whether guests run the QEMU guest agent (default true): a VMI that reaches Running gets
   * `AgentConnected=True` as virt-handler writes it once the agent answers; `emulator.guestAgents`
   * connects and disconnects it per VMI.
   */
  guestAgent?: boolean;
  /** Time and timers (default real time); a test's manual scheduler makes every step explicit. */
  scheduler?: Scheduler;
}

/** Whether the VM should have a running VMI, from runStrategy (and Manual start/stop requests). */
function wantsRunning(vm: KubeObject, hasVmi: boolean): boolean {
  const { spec, status } = asVm(vm);
  const strategy = spec?.runStrategy ?? (spec?.running === true ? 'Always' : 'Halted');
  if (strategy === 'Manual') {
    const last = status?.stateChangeRequests?.at(-1)?.action;
    return last === 'Start' ? true : last === 'Stop' ? false : hasVmi;
  }
  return strategy !== 'Halted';
}

/**
 * A minimal virt-controller. For each VirtualMachine it creates the DataVolumes of its
 * `dataVolumeTemplates` (owned by the VM; clones progress over `provisionMs`: the VM is
 * Provisioning), then, when runStrategy asks for it, a VMI (owned by the VM, on the least loaded
 * `workload=kubevirt` node, Scheduling for `startMs`: Starting, then Running); when runStrategy no
 * longer asks for it, the VM is Stopping for `stopMs` and the VMI is deleted. `status.printableStatus`,
 * `ready`, `created` and conditions follow (Migrating while the VMI migrates). A VMI or disk the
 * namespace quota cannot admit is not created: the VM shows ErrorUnschedulable (or DataVolumeError)
 * with a `Failure` condition (reason `FailedCreate`) carrying the quota message, and is retried when
 * the namespace's quota changes.
 */
export function createVmLifecycleController(opts: VmLifecycleOptions = {}): Controller {
  let emulator: KubeEmulator | undefined;
  const unsubscribers: (() => void)[] = [];
  const scheduler = opts.scheduler ?? systemScheduler;
  const now = (): number => scheduler.now().getTime();
  const stamp = (): string => timestamp(scheduler.now());
  const timers = new Map<string, { cancel: () => void; due: number }>();
  const stoppingSince = new Map<string, number>();
  const startedAt = new Map<string, number>();
  const dvStartedAt = new Map<string, number>();
  const rwx = new Set(opts.rwxStorageClasses ?? ['kv-standard']);
  const startMs = opts.startMs ?? 0;
  const stopMs = opts.stopMs ?? 0;
  const guestAgent = opts.guestAgent ?? true;

  const schedule = (ns: string | undefined, name: string | undefined, delayMs = opts.reconcileDelayMs ?? 0): void => {
    if (!ns || !name) return;
    const key = `${ns}/${name}`;
    const due = now() + delayMs;
    const pending = timers.get(key);
    if (pending && pending.due <= due) return;
    pending?.cancel();
    timers.set(key, {
      due,
      cancel: scheduler.after(delayMs, () => {
        timers.delete(key);
        reconcile(ns, name);
      }),
    });
  };

  const summary = (s: VmStatus): string => {
    const conditions = (s.conditions ?? []).map((c) => [c.type, c.status, c.reason, c.message]);
    return JSON.stringify([s.printableStatus, s.ready, s.created, conditions]);
  };

  /** Writes the VM status unless it already says the same (timestamps aside); consumes state change requests. */
  const writeStatus = (vm: KubeObject, status: VmStatus): void => {
    const current = asVm(vm).status ?? {};
    if (current.stateChangeRequests === undefined && summary(current) === summary(status)) return;
    const next = clone(vm);
    const { stateChangeRequests: _done, ...kept } = asVm(next).status ?? {};
    next.status = { ...kept, ...status };
    delete next.metadata.resourceVersion;
    emulator?.store.update(VM, next);
  };

  const stopped = (vm: KubeObject, printableStatus: string, conditions: VmCondition[] = []) =>
    writeStatus(vm, { printableStatus, ready: false, created: false, conditions });

  /** Creates the VMI, or explains why the quota does not admit it. */
  const createVmi = (e: KubeEmulator, vm: KubeObject): KubeObject | undefined => {
    const node = pickNode(e.store) ?? e.store.list('nodes')[0]?.metadata.name ?? 'node-0';
    const phase = startMs > 0 ? 'Scheduling' : 'Running';
    const vmi = vmiFor(vm, node, phase, liveMigratable(vm, rwx));
    // virt-controller stamps every phase the VMI enters (metav1.Time: seconds).
    const status = asVmi(vmi).status;
    if (status != null) status.phaseTransitionTimestamps = [{ phase, phaseTransitionTimestamp: stamp() }];
    if (startMs <= 0 && guestAgent) asVmi(vmi).status?.conditions?.push(condition(AGENT_CONNECTED, 'True'));
    try {
      e.checkQuota(VMI, vmi);
    } catch (err) {
      if (!(err instanceof KubeStatusError)) throw err;
      stopped(vm, 'ErrorUnschedulable', [condition('Failure', 'True', 'FailedCreate', err.message)]);
      return undefined;
    }
    const created = e.store.create(VMI, vmi);
    startedAt.set(created.metadata.uid ?? '', now());
    return created;
  };

  const reconcile = (ns: string, name: string): void => {
    const e = emulator;
    const vm = e?.store.get(VM, ns, name);
    if (!e || !vm || vm.metadata.deletionTimestamp) return;
    const key = `${ns}/${name}`;
    const disks = provisionDisks(e, vm, { provisionMs: opts.provisionMs ?? 0, startedAt: dvStartedAt, now });
    if (disks.state === 'failed')
      return stopped(vm, 'DataVolumeError', [
        condition('DataVolumesReady', 'False', 'DataVolumeError', disks.message),
        condition('Failure', 'True', 'FailedCreate', disks.message),
      ]);
    if (disks.state === 'provisioning') {
      schedule(ns, name, disks.recheckMs);
      return stopped(vm, 'Provisioning', [
        condition('DataVolumesReady', 'False', 'DataVolumeProvisioning', 'The root disk is being cloned from its image.'),
      ]);
    }
    let vmi = e.store.peek(VMI, ns, name);
    if (!wantsRunning(vm, vmi !== undefined)) {
      if (!vmi) {
        stoppingSince.delete(key);
        return stopped(vm, 'Stopped');
      }
      const since = stoppingSince.get(key) ?? now();
      stoppingSince.set(key, since);
      const left = since + stopMs - now();
      if (left > 0) {
        schedule(ns, name, left);
        return writeStatus(vm, { printableStatus: 'Stopping', ready: false, created: true, conditions: [condition('Ready', 'False', 'Stopping')] });
      }
      e.store.delete(VMI, ns, name);
      stoppingSince.delete(key);
      return stopped(vm, 'Stopped');
    }
    stoppingSince.delete(key);
    if (!vmi) vmi = createVmi(e, vm);
    if (!vmi) return;
    const phase = asVmi(vmi).status?.phase;
    if (phase === 'Scheduling') {
      const left = (startedAt.get(vmi.metadata.uid ?? '') ?? 0) + startMs - now();
      if (left > 0) {
        schedule(ns, name, left);
        return writeStatus(vm, { printableStatus: 'Starting', ready: false, created: true, conditions: [condition('Ready', 'False', 'Starting')] });
      }
      const next = clone(vmi);
      const status = asVmi(next).status ?? {};
      next.status = {
        ...status,
        phase: 'Running',
        phaseTransitionTimestamps: [...(status.phaseTransitionTimestamps ?? []), { phase: 'Running', phaseTransitionTimestamp: stamp() }],
        conditions: [
          condition('Ready', 'True'),
          ...(status.conditions ?? []).filter((c) => c.type !== 'Ready' && c.type !== AGENT_CONNECTED),
          ...(guestAgent ? [condition(AGENT_CONNECTED, 'True')] : []),
        ],
      } satisfies typeof status;
      delete next.metadata.resourceVersion;
      e.store.update(VMI, next);
      startedAt.delete(vmi.metadata.uid ?? '');
    }
    const printableStatus = isMigrating(e.store.peek(VMI, ns, name)) ? 'Migrating' : 'Running';
    writeStatus(vm, { printableStatus, ready: true, created: true, conditions: [condition('Ready', 'True')] });
  };

  /** The VM owning a DataVolume (or VMI), from its controller reference. */
  const ownerOf = (obj: KubeObject): string | undefined => obj.metadata.ownerReferences?.find((r) => r.kind === 'VirtualMachine')?.name;

  return {
    start(e) {
      emulator = e;
      unsubscribers.push(
        e.store.subscribe(VM, (ev) => {
          if (ev.type !== 'DELETED') schedule(ev.object.metadata.namespace, ev.object.metadata.name);
        }),
      );
      unsubscribers.push(
        e.store.subscribe(VMI, (ev) => {
          if (ev.type === 'DELETED') startedAt.delete(ev.object.metadata.uid ?? '');
          if (ev.type !== 'ADDED') schedule(ev.object.metadata.namespace, ev.object.metadata.name);
        }),
      );
      // Disk progress runs on this controller's timers; a deleted disk is created again.
      unsubscribers.push(
        e.store.subscribe(DV, (ev) => {
          if (ev.type !== 'DELETED') return;
          dvStartedAt.delete(`${ev.object.metadata.namespace ?? ''}/${ev.object.metadata.name ?? ''}`);
          schedule(ev.object.metadata.namespace, ownerOf(ev.object));
        }),
      );
      // A quota that changed may now admit what it refused: retry the VMs it blocked.
      unsubscribers.push(
        e.store.subscribe('resourcequotas', (ev) => {
          const ns = ev.object.metadata.namespace;
          for (const vm of e.store.scan(VM, ns)) {
            const ps = asVm(vm).status?.printableStatus;
            if (ps === 'ErrorUnschedulable' || ps === 'DataVolumeError') schedule(ns, vm.metadata.name);
          }
        }),
      );
      for (const vm of e.store.list(VM)) schedule(vm.metadata.namespace, vm.metadata.name);
    },
    stop() {
      unsubscribers.splice(0).forEach((u) => u());
      for (const t of timers.values()) t.cancel();
      timers.clear();
      emulator = undefined;
    },
  };
}
