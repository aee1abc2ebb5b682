import { randomUUID } from 'node:crypto';
import { systemScheduler, type Scheduler } from '../../../domain/shared/scheduler.js';
import type { Controller, KubeEmulator } from './emulator-types.js';
import { KubeStatusError } from './errors.js';
import { generateNameFrom, timestamp } from './store.js';
import type { KubeObject } from './types.js';
import { clone } from './types.js';
import { asMigration, asVmi, isMigrating, pickNode, VMI, VMIM, type MigrationState } from './vm-sim-objects.js';

/** VMI annotation that makes its next migrations fail; the value is the failure reason. */
export const FAIL_MIGRATION_ANNOTATION = 'sim.labplane.io/fail-migration';

/** Options of {@link createMigrationController}. */
export interface MigrationControllerOptions {
  /** Time spent in each phase, ms (default 0: the next macrotask). */
  phaseMs?: number;
  /**
   * Why a migration fails, or undefined for success. Default: the VMI's
   * {@link FAIL_MIGRATION_ANNOTATION} annotation.
   */
  failure?: (migration: KubeObject, vmi: KubeObject) => string | undefined;
  /** Timers (default real time). */
  scheduler?: Scheduler;
}

const PHASES = ['Pending', 'Scheduling', 'Scheduled', 'PreparingTarget', 'TargetReady', 'Running'] as const;
const TERMINAL = new Set(['Succeeded', 'Failed']);
const defaultFailure = (_m: KubeObject, vmi: KubeObject): string | undefined => vmi.metadata.annotations?.[FAIL_MIGRATION_ANNOTATION];

/**
 * A minimal KubeVirt migration controller. A VirtualMachineInstanceMigration goes Pending →
 * Scheduling → Scheduled → PreparingTarget → TargetReady → Running → Succeeded (or Failed), one
 * phase per `phaseMs`. At Scheduling it creates the target pod (a Pod of the VMI's size that counts
 * against the namespace ResourceQuota like the real one: a full quota fails the migration) and sets
 * the VMI's `status.migrationState`; on success the VMI moves to the target node (the least loaded
 * other `workload=kubevirt` node). A VMI that is not running, not live-migratable
 * (`LiveMigratable=False`) or already migrating fails the migration at once.
 */
export function createMigrationController(opts: MigrationControllerOptions = {}): Controller {
  let emulator: KubeEmulator | undefined;
  let unsubscribe: (() => void) | undefined;
  const timers = new Set<() => void>();
  const phaseMs = opts.phaseMs ?? 0;
  const failureOf = opts.failure ?? defaultFailure;
  const scheduler = opts.scheduler ?? systemScheduler;

  const later = (fn: () => void): void => {
    const cancel = scheduler.after(phaseMs, () => {
      timers.delete(cancel);
      fn();
    });
    timers.add(cancel);
  };

  const update = (resource: string, obj: KubeObject, change: (o: KubeObject) => void): void => {
    const next = clone(obj);
    change(next);
    delete next.metadata.resourceVersion;
    emulator?.store.update(resource, next);
  };

  const setPhase = (m: KubeObject, phase: string, migrationState?: MigrationState): void => {
    update(VMIM, m, (o) => {
      const status = asMigration(o).status ?? {};
      o.status = {
        ...status,
        phase,
        phaseTransitionTimestamps: [...(status.phaseTransitionTimestamps ?? []), { phase, phaseTransitionTimestamp: timestamp() }],
        ...(migrationState === undefined ? {} : { migrationState }),
      } satisfies typeof status;
    });
  };

  const targetPodOf = (vmi: KubeObject, m: KubeObject): KubeObject => {
    const resources = asVmi(vmi).spec?.domain?.resources ?? {};
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: generateNameFrom(`virt-launcher-${vmi.metadata.name ?? ''}-`),
        namespace: vmi.metadata.namespace ?? '',
        // Not `kubevirt.io=virt-launcher`: the emulator counts a VMI for its source pod, this one is extra.
        labels: {
          'kubevirt.io': 'migration-target',
          'kubevirt.io/created-by': vmi.metadata.uid ?? '',
          'kubevirt.io/migrationJobUID': m.metadata.uid ?? '',
        },
      },
      spec: { containers: [{ name: 'compute', image: 'quay.io/kubevirt/virt-launcher', resources: clone(resources) }] },
      status: { phase: 'Pending' },
    };
  };

  /** Ends the migration: the VMI's migrationState is closed, the target pod goes. */
  const finish = (m: KubeObject, vmi: KubeObject | undefined, failureReason?: string): void => {
    const e = emulator;
    if (!e) return;
    const state: MigrationState = {
      ...asMigration(m).status?.migrationState,
      endTimestamp: timestamp(),
      completed: failureReason === undefined,
      failed: failureReason !== undefined,
      ...(failureReason === undefined ? {} : { failureReason }),
    };
    const targetPod = state.targetPod;
    if (typeof targetPod === 'string') e.store.delete('pods', m.metadata.namespace, targetPod);
    if (vmi && asVmi(vmi).status?.migrationState?.migrationUid === m.metadata.uid) {
      update(VMI, vmi, (o) => {
        const target = failureReason === undefined ? state.targetNode : undefined;
        o.status = { ...asVmi(o).status, migrationState: state, ...(typeof target === 'string' ? { nodeName: target } : {}) };
        if (typeof target === 'string') o.metadata.labels = { ...o.metadata.labels, 'kubevirt.io/nodeName': target };
      });
    }
    setPhase(m, failureReason === undefined ? 'Succeeded' : 'Failed', state);
  };

  const step = (ns: string, name: string): void => {
    const e = emulator;
    const m = e?.store.get(VMIM, ns, name);
    if (!e || !m) return;
    const phase = asMigration(m).status?.phase ?? '';
    if (TERMINAL.has(phase)) return;
    const vmiName = asMigration(m).spec?.vmiName ?? '';
    const vmi = e.store.get(VMI, ns, vmiName);
    if (!vmi || asVmi(vmi).status?.phase !== 'Running') return finish(m, vmi, `VMI ${vmiName} is not running`);
    const state = asMigration(m).status?.migrationState ?? {};
    if (phase === '') {
      const notMigratable = (asVmi(vmi).status?.conditions ?? []).find((c) => c.type === 'LiveMigratable' && c.status === 'False');
      if (notMigratable)
        return finish(m, vmi, `Cannot migrate VMI, Reason: ${String(notMigratable.reason)}, Message: ${String(notMigratable.message ?? '')}`);
      if (isMigrating(vmi)) return finish(m, vmi, 'in-flight migration detected');
      setPhase(m, 'Pending');
    } else if (phase === 'Pending') {
      const sourceNode = asVmi(vmi).status?.nodeName ?? '';
      const targetNode = pickNode(e.store, sourceNode);
      if (targetNode === undefined) return finish(m, vmi, 'no node to migrate to');
      const pod = targetPodOf(vmi, m);
      try {
        e.checkQuota('pods', pod);
      } catch (err) {
        if (!(err instanceof KubeStatusError)) throw err;
        return finish(m, vmi, `failed to create the target pod: ${err.message}`);
      }
      e.store.create('pods', pod);
      const migrationState: MigrationState = {
        migrationUid: m.metadata.uid ?? randomUUID(),
        sourceNode,
        targetNode,
        targetPod: pod.metadata.name ?? '',
        sourcePod: `virt-launcher-${vmiName}`,
        mode: 'PreCopy',
        startTimestamp: timestamp(),
      };
      update(VMI, vmi, (o) => {
        o.status = { ...asVmi(o).status, migrationState };
      });
      setPhase(m, 'Scheduling', migrationState);
    } else if (phase === 'Running') {
      const why = failureOf(m, vmi);
      return finish(m, e.store.get(VMI, ns, vmiName), why);
    } else {
      const next = PHASES[PHASES.indexOf(phase as (typeof PHASES)[number]) + 1] ?? 'Running';
      setPhase(m, next, state);
    }
    later(() => step(ns, name));
  };

  return {
    start(e) {
      emulator = e;
      unsubscribe = e.store.subscribe(VMIM, (ev) => {
        if (ev.type !== 'ADDED') return;
        const { namespace, name } = ev.object.metadata;
        if (namespace && name) later(() => step(namespace, name));
      });
      for (const m of e.store.list(VMIM))
        if (!TERMINAL.has(asMigration(m).status?.phase ?? '')) later(() => step(m.metadata.namespace ?? '', m.metadata.name ?? ''));
    },
    stop() {
      unsubscribe?.();
      for (const cancel of timers) cancel();
      timers.clear();
      emulator = undefined;
    },
  };
}
