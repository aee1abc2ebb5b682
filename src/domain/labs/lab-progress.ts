import type { Clock } from '../shared/ids.js';
import type { VmRepository } from '../vms/vm-repository.js';
import type { LabRepository } from './lab-repository.js';
import { phaseOf, studentViews, summaryOf } from './lab-status.js';
import type { LabProgressEvent, StudentView } from './lab-view.js';

/** Changes are gathered this long and sent as one event (a 500-student lab changes in bursts). */
export const PROGRESS_BATCH_MS = 250;

export interface LabProgressDeps {
  readonly labs: Pick<LabRepository, 'get' | 'watch'>;
  readonly vms: Pick<VmRepository, 'list' | 'watch'>;
  readonly clock: Clock;
  readonly batchMs?: number;
}

/**
 * Sends the lab's summary and the students whose status changed, at most once per batch window,
 * when the lab object or one of its VMs changes. The first event (the current state of every
 * student) is sent at once. Listeners must not throw.
 */
export async function watchLabProgress(
  deps: LabProgressDeps,
  tenant: string,
  name: string,
  listener: (e: LabProgressEvent) => void,
): Promise<{ unsubscribe(): void }> {
  const batchMs = deps.batchMs ?? PROGRESS_BATCH_MS;
  let last = new Map<string, string>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;

  const fingerprint = (s: StudentView) => `${s.status}|${s.vmState ?? ''}|${s.identityReady ?? ''}|${s.code ?? ''}`;

  async function emit(all: boolean): Promise<void> {
    if (closed) return;
    const lab = await deps.labs.get(tenant, name);
    if (lab === undefined) {
      // The lab is gone: one last event says so (phase Deleting, nothing left), then silence.
      if (last.get('') !== 'Gone')
        listener({
          tenant,
          lab: name,
          phase: 'Deleting',
          summary: { total: 0, pending: 0, provisioning: 0, ready: 0, failed: 0, dropped: 0 },
          students: [],
        });
      last.set('', 'Gone');
      return;
    }
    const students = studentViews(lab, await deps.vms.list(tenant));
    const summary = summaryOf(students);
    const next = new Map(students.map((s) => [s.id, fingerprint(s)]));
    const changed = all ? students : students.filter((s) => last.get(s.id) !== next.get(s.id));
    const phase = phaseOf(lab, summary, deps.clock.now());
    const phaseChanged = last.get('') !== phase;
    next.set('', phase);
    last = next;
    if (changed.length === 0 && !phaseChanged && !all) return;
    listener({ tenant, lab: name, phase, summary, students: changed });
  }

  const schedule = () => {
    if (closed || timer !== undefined) return;
    timer = setTimeout(() => {
      timer = undefined;
      void emit(false).catch(() => undefined);
    }, batchMs);
  };

  const offVms = deps.vms.watch((e) => {
    if (e.tenant === tenant && (e.vm?.lab === name || e.type === 'deleted')) schedule();
  });
  const offLabs = deps.labs.watch((e) => {
    if (e.tenant === tenant && e.name === name) schedule();
  });
  // Between the check of the caller and this subscription the lab may have gone: the first emit tells.
  const unsubscribe = () => {
    closed = true;
    if (timer !== undefined) clearTimeout(timer);
    offVms();
    offLabs();
  };
  try {
    await emit(true);
  } catch (err) {
    // The first look failed (a cache read): nobody will unsubscribe what was set up.
    unsubscribe();
    throw err;
  }
  return { unsubscribe };
}
