import { systemScheduler, type Scheduler } from '../../../domain/shared/scheduler.js';
import type { Controller, KubeEmulator } from './emulator-types.js';
import { KubeStatusError } from './errors.js';
import { timestamp } from './store.js';
import type { KubeObject } from './types.js';
import { clone } from './types.js';
import { asDataVolume, withSourceContent, type StoredDataVolume } from './vm-sim-objects.js';

const DV = 'datavolumes.cdi.kubevirt.io';
const PVC = 'persistentvolumeclaims';

/** What a simulated import does. */
export type ImportOutcome =
  | { readonly type: 'succeed' }
  /** CDI gives up: phase Failed with this condition reason and message, once progress reaches `atPercent`. */
  | { readonly type: 'fail'; readonly reason: string; readonly message: string; readonly atPercent?: number }
  /** The importer pod crashes over and over: `status.restartCount` rises every tick, the import never ends. */
  | { readonly type: 'crash'; readonly message: string };

/** Options of {@link createDataVolumeController}. */
export interface DataVolumeControllerOptions {
  /** Time from ImportInProgress to Succeeded, ms (default 5000). */
  importDurationMs?: number;
  /** Time spent in each of Pending and ImportScheduled, ms (default a tenth of the import, at most 500). */
  phaseDelayMs?: number;
  /** Interval of progress updates, ms (default a tenth of the import, 20 to 1000). */
  tickMs?: number;
  /** Outcome of each import; default {@link outcomeFromUrl}. */
  outcome?: (dv: KubeObject) => ImportOutcome;
  /** `namespace/name` of DataVolumes that are already imported when they appear (seeded golden images). */
  preImported?: readonly string[];
  /** Time and timers (default real time). */
  scheduler?: Scheduler;
}

type DataVolumeStatus = NonNullable<StoredDataVolume['status']>;
type DataVolumeCondition = NonNullable<DataVolumeStatus['conditions']>[number];

/**
 * The default knobs, read from the source URL so they work over the API too: a URL containing
 * `sim-fail` fails (like a 404 at the source), one containing `sim-crash` crash-loops the importer.
 */
export function outcomeFromUrl(dv: KubeObject): ImportOutcome {
  const source = asDataVolume(dv).spec?.source;
  const url = [source?.http, source?.registry, source?.s3, source?.gcs].map((s) => s?.url).find((u) => typeof u === 'string');
  const text = typeof url === 'string' ? url : '';
  if (text.includes('sim-fail')) {
    return {
      type: 'fail',
      reason: 'Error',
      message: 'Unable to connect to http data source: expected status code 200, got 404. Status: 404 Not Found',
      atPercent: 30,
    };
  }
  if (text.includes('sim-crash'))
    return { type: 'crash', message: 'Unable to process data: qemu-img: Could not open /data/disk.img: Image is not in qcow2 format' };
  return { type: 'succeed' };
}

type Stage = { kind: 'import' | 'clone'; scheduled: string; running: string };

function stageOf(dv: KubeObject): Stage | 'blank' | 'upload' {
  const source = asDataVolume(dv).spec?.source ?? {};
  if (source.blank !== undefined) return 'blank';
  if (source.upload !== undefined) return 'upload';
  if (source.pvc !== undefined || source.snapshot !== undefined) return { kind: 'clone', scheduled: 'CloneScheduled', running: 'CloneInProgress' };
  return { kind: 'import', scheduled: 'ImportScheduled', running: 'ImportInProgress' };
}

function condition(type: string, status: 'True' | 'False', reason: string, message = ''): DataVolumeCondition {
  const now = timestamp();
  return { type, status, reason, ...(message === '' ? {} : { message }), lastHeartbeatTime: now, lastTransitionTime: now };
}

/**
 * A minimal CDI: every DataVolume goes Pending → ImportScheduled (CloneScheduled) →
 * ImportInProgress with `status.progress` rising over `importDurationMs` → Succeeded, and then gets
 * its PVC (same namespace and name, requested size and class, Bound, owned by the DataVolume).
 * Outcomes can be steered (see {@link outcomeFromUrl}); a PVC the namespace quota cannot admit
 * fails the DataVolume with the quota message.
 */
export function createDataVolumeController(opts: DataVolumeControllerOptions = {}): Controller {
  const duration = opts.importDurationMs ?? 5000;
  const phaseDelay = opts.phaseDelayMs ?? Math.min(500, Math.round(duration / 10));
  const tick = opts.tickMs ?? Math.max(20, Math.min(1000, Math.round(duration / 10)));
  const outcomeOf = opts.outcome ?? outcomeFromUrl;
  const preImported = new Set(opts.preImported ?? []);
  let emulator: KubeEmulator | undefined;
  let unsubscribe: (() => void) | undefined;
  const timers = new Map<string, () => void>();
  const started = new Map<string, number>();
  const scheduler = opts.scheduler ?? systemScheduler;
  const now = (): number => scheduler.now().getTime();

  const later = (key: string, ms: number, fn: () => void): void => {
    timers.get(key)?.();
    timers.set(
      key,
      scheduler.after(ms, () => {
        timers.delete(key);
        fn();
      }),
    );
  };

  /** Merges `status` into the stored DataVolume; false when it is gone or being deleted. */
  const writeStatus = (ns: string, name: string, status: DataVolumeStatus): boolean => {
    const current = emulator?.store.get(DV, ns, name);
    if (!emulator || !current || current.metadata.deletionTimestamp) return false;
    const next = clone(current);
    next.status = { ...asDataVolume(current).status, ...status } satisfies DataVolumeStatus;
    delete next.metadata.resourceVersion;
    emulator.store.update(DV, next);
    return true;
  };

  const fail = (ns: string, name: string, reason: string, message: string, progress: string): void => {
    writeStatus(ns, name, {
      phase: 'Failed',
      progress,
      conditions: [condition('Bound', 'True', 'Bound'), condition('Ready', 'False', reason, message), condition('Running', 'False', reason, message)],
    });
  };

  const succeed = (ns: string, name: string): void => {
    const dv = emulator?.store.get(DV, ns, name);
    if (!emulator || !dv) return;
    const spec = asDataVolume(dv).spec;
    const storage = spec?.storage ?? spec?.pvc ?? {};
    const size = storage.resources?.requests?.['storage'] ?? '1Gi';
    const accessModes = storage.accessModes !== undefined && storage.accessModes.length > 0 ? storage.accessModes : ['ReadWriteOnce'];
    const pvc: KubeObject = {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: {
        name,
        namespace: ns,
        labels: { ...dv.metadata.labels, app: 'containerized-data-importer' },
        annotations: { 'cdi.kubevirt.io/storage.pod.phase': 'Succeeded', 'cdi.kubevirt.io/storage.populatedFor': name },
        ownerReferences: [
          { apiVersion: 'cdi.kubevirt.io/v1beta1', kind: 'DataVolume', name, uid: dv.metadata.uid ?? '', controller: true, blockOwnerDeletion: true },
        ],
      },
      spec: {
        accessModes,
        resources: { requests: { storage: size } },
        volumeMode: typeof storage.volumeMode === 'string' ? storage.volumeMode : 'Filesystem',
        volumeName: `pvc-${dv.metadata.uid ?? name}`,
        ...(typeof storage.storageClassName === 'string' ? { storageClassName: storage.storageClassName } : {}),
      },
      status: { phase: 'Bound', accessModes, capacity: { storage: size } },
    };
    if (!emulator.store.peek(PVC, ns, name)) {
      try {
        emulator.checkQuota(PVC, pvc);
        emulator.store.create(PVC, pvc);
      } catch (err) {
        if (!(err instanceof KubeStatusError)) throw err;
        fail(ns, name, 'ErrExceededQuota', err.message, 'N/A');
        return;
      }
    }
    // A clone of a disk carries its source's simulated content.
    const withContent = withSourceContent(emulator.store, dv);
    if (withContent !== dv) {
      const next = clone(withContent);
      delete next.metadata.resourceVersion;
      emulator.store.update(DV, next);
    }
    writeStatus(ns, name, {
      phase: 'Succeeded',
      progress: '100.0%',
      claimName: name,
      conditions: [condition('Bound', 'True', 'Bound'), condition('Ready', 'True', 'Ready'), condition('Running', 'False', 'Completed')],
    });
  };

  const advance = (key: string, ns: string, name: string, stage: Stage, outcome: ImportOutcome): void => {
    const dv = emulator?.store.peek(DV, ns, name);
    if (!dv || dv.metadata.deletionTimestamp) return;
    const since = started.get(key) ?? now();
    const percent = Math.min(100, ((now() - since) / Math.max(1, duration)) * 100);
    const progress = `${percent.toFixed(2)}%`;
    if (outcome.type === 'crash') {
      const restarts = (asDataVolume(dv).status?.restartCount ?? 0) + 1;
      writeStatus(ns, name, {
        phase: stage.running,
        progress: 'N/A',
        restartCount: restarts,
        conditions: [
          condition('Bound', 'True', 'Bound'),
          condition('Ready', 'False', 'TransferRunning'),
          condition('Running', 'False', 'Error', outcome.message),
        ],
      });
      later(key, tick, () => advance(key, ns, name, stage, outcome));
      return;
    }
    if (outcome.type === 'fail' && percent >= (outcome.atPercent ?? 0)) {
      fail(ns, name, outcome.reason, outcome.message, progress);
      return;
    }
    if (percent >= 100) {
      succeed(ns, name);
      return;
    }
    writeStatus(ns, name, {
      phase: stage.running,
      progress,
      conditions: [
        condition('Bound', 'True', 'Bound'),
        condition('Ready', 'False', 'TransferRunning'),
        condition('Running', 'True', 'Pod is running'),
      ],
    });
    later(key, tick, () => advance(key, ns, name, stage, outcome));
  };

  const begin = (dv: KubeObject): void => {
    const ns = dv.metadata.namespace ?? '';
    const name = dv.metadata.name ?? '';
    const key = `${ns}/${name}`;
    const phase = asDataVolume(dv).status?.phase;
    if (timers.has(key) || phase !== undefined) return;
    if (preImported.has(key)) {
      succeed(ns, name);
      return;
    }
    const stage = stageOf(dv);
    if (stage === 'blank') {
      succeed(ns, name);
      return;
    }
    if (stage === 'upload') {
      writeStatus(ns, name, {
        phase: 'UploadReady',
        progress: 'N/A',
        conditions: [condition('Bound', 'True', 'Bound'), condition('Ready', 'False', 'UploadReady')],
      });
      return;
    }
    const outcome = outcomeOf(dv);
    writeStatus(ns, name, {
      phase: 'Pending',
      progress: 'N/A',
      restartCount: 0,
      conditions: [condition('Bound', 'False', 'Pending'), condition('Ready', 'False', 'Pending'), condition('Running', 'False', 'Pending')],
    });
    later(key, phaseDelay, () => {
      if (
        !writeStatus(ns, name, {
          phase: stage.scheduled,
          conditions: [condition('Bound', 'True', 'Bound'), condition('Ready', 'False', stage.scheduled), condition('Running', 'False', 'Pending')],
        })
      )
        return;
      later(key, phaseDelay, () => {
        started.set(key, now());
        advance(key, ns, name, stage, outcome);
      });
    });
  };

  const forget = (key: string): void => {
    timers.get(key)?.();
    timers.delete(key);
    started.delete(key);
  };

  return {
    start(e) {
      emulator = e;
      unsubscribe = e.store.subscribe(DV, (ev) => {
        const key = `${ev.object.metadata.namespace ?? ''}/${ev.object.metadata.name ?? ''}`;
        if (ev.type === 'DELETED') forget(key);
        else if (ev.type === 'ADDED') {
          // After the create's answer, like a real controller reacting to the watch.
          scheduler.after(0, () => {
            const current = emulator?.store.get(DV, ev.object.metadata.namespace, ev.object.metadata.name ?? '');
            if (current) begin(current);
          });
        }
      });
      for (const dv of e.store.list(DV)) begin(dv);
    },
    stop() {
      unsubscribe?.();
      for (const cancel of timers.values()) cancel();
      timers.clear();
      started.clear();
      emulator = undefined;
    },
  };
}
