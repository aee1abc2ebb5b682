import type { KubeEmulator } from './emulator-types.js';
import { KubeStatusError } from './errors.js';
import { timestamp } from './store.js';
import type { KubeObject } from './types.js';
import { clone } from './types.js';
import { cloneSource, dataVolumesOf, DV, list, record, withSourceContent } from './vm-sim-objects.js';

/** Where a VM's disks are: all cloned, still cloning (look again after `recheckMs`), or failed. */
export type DiskState = { state: 'ready' } | { state: 'provisioning'; recheckMs: number } | { state: 'failed'; message: string };

function dvCondition(type: string, status: 'True' | 'False', reason: string, message?: string): Record<string, unknown> {
  const now = timestamp();
  return { type, status, reason, ...(message === undefined ? {} : { message }), lastHeartbeatTime: now, lastTransitionTime: now };
}

function dvStatus(phase: string, progress: string, message?: string): Record<string, unknown> {
  if (phase === 'Succeeded') {
    return {
      phase,
      progress,
      conditions: [dvCondition('Bound', 'True', 'Bound'), dvCondition('Ready', 'True', 'Ready'), dvCondition('Running', 'False', 'Completed')],
    };
  }
  if (phase === 'Failed') {
    return {
      phase,
      progress,
      conditions: [
        dvCondition('Bound', 'False', 'Failed'),
        dvCondition('Ready', 'False', 'Failed', message),
        dvCondition('Running', 'False', 'Error', message),
      ],
    };
  }
  return {
    phase,
    progress,
    conditions: [
      dvCondition('Bound', 'True', 'Bound'),
      dvCondition('Ready', 'False', phase),
      dvCondition('Running', phase === 'CloneInProgress' ? 'True' : 'False', phase),
    ],
  };
}

const MISSING = 'the clone source (the image PVC) does not exist or failed to import';

function writeDvStatus(e: KubeEmulator, dv: KubeObject, status: Record<string, unknown>): void {
  const next = clone(dv);
  next.status = status;
  delete next.metadata.resourceVersion;
  e.store.update(DV, next);
}

function failureMessage(dv: KubeObject): string {
  const c = list(record(dv.status).conditions)
    .map(record)
    .find((x) => x.status === 'False' && typeof x.message === 'string');
  return `DataVolume ${dv.metadata.name ?? ''} failed: ${String(c?.message ?? 'clone failed')}`;
}

/**
 * Creates and advances the DataVolumes of a VM's `dataVolumeTemplates`, like CDI cloning from the
 * image PVC: CloneScheduled while the source is not ready, CloneInProgress with `status.progress`
 * over `provisionMs`, then Succeeded. A missing source fails the DataVolume (the emulator's
 * choice: real CDI waits), a DataVolume the quota does not admit is not created. DataVolumes are
 * written with a phase at once, so other DataVolume controllers leave them alone.
 */
export function provisionDisks(
  e: KubeEmulator,
  vm: KubeObject,
  o: { provisionMs: number; startedAt: Map<string, number>; now: () => number },
): DiskState {
  const tick = Math.max(20, Math.min(500, Math.round(o.provisionMs / 10)));
  let waitMs: number | undefined;
  const wait = (ms: number) => (waitMs = Math.min(waitMs ?? ms, ms));
  for (const want of dataVolumesOf(vm)) {
    const ns = want.metadata.namespace ?? '';
    const name = want.metadata.name ?? '';
    const key = `${ns}/${name}`;
    const dv = e.store.peek(DV, ns, name);
    if (!dv) {
      const source = cloneSource(e.store, want);
      const fresh = source === 'ready' && o.provisionMs <= 0;
      const status =
        source === 'missing'
          ? dvStatus('Failed', 'N/A', MISSING)
          : fresh
            ? dvStatus('Succeeded', '100.0%')
            : dvStatus(source === 'ready' ? 'CloneInProgress' : 'CloneScheduled', source === 'ready' ? '0.00%' : 'N/A');
      const obj = { ...withSourceContent(e.store, want), status };
      try {
        e.checkQuota(DV, obj);
      } catch (err) {
        if (!(err instanceof KubeStatusError)) throw err;
        return { state: 'failed', message: err.message };
      }
      e.store.create(DV, obj);
      if (source === 'missing') return { state: 'failed', message: `DataVolume ${name} failed: ${MISSING}` };
      if (!fresh) {
        if (source === 'ready') o.startedAt.set(key, o.now());
        wait(tick);
      }
      continue;
    }
    if (!dv.metadata.ownerReferences?.some((r) => r.uid === vm.metadata.uid)) {
      return { state: 'failed', message: `DataVolume ${name} exists and is not owned by the VM` };
    }
    const phase = record(dv.status).phase;
    if (phase === 'Succeeded') continue;
    if (phase === 'Failed') return { state: 'failed', message: failureMessage(dv) };
    if (phase === 'CloneScheduled') {
      const source = cloneSource(e.store, dv);
      if (source === 'missing') {
        writeDvStatus(e, dv, dvStatus('Failed', 'N/A', MISSING));
        return { state: 'failed', message: `DataVolume ${name} failed: ${MISSING}` };
      }
      if (source === 'ready') {
        o.startedAt.set(key, o.now());
        writeDvStatus(e, dv, dvStatus('CloneInProgress', '0.00%'));
      }
      wait(tick);
      continue;
    }
    if (phase === 'CloneInProgress') {
      const since = o.startedAt.get(key) ?? o.now();
      o.startedAt.set(key, since);
      const percent = Math.min(100, ((o.now() - since) / Math.max(1, o.provisionMs)) * 100);
      if (percent >= 100) {
        o.startedAt.delete(key);
        writeDvStatus(e, dv, { ...dvStatus('Succeeded', '100.0%'), claimName: name });
        continue;
      }
      writeDvStatus(e, dv, dvStatus('CloneInProgress', `${percent.toFixed(2)}%`));
      wait(Math.min(tick, since + o.provisionMs - o.now()));
      continue;
    }
    wait(tick);
  }
  return waitMs === undefined ? { state: 'ready' } : { state: 'provisioning', recheckMs: Math.max(1, waitMs) };
}
