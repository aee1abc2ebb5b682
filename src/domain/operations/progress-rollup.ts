import type { Operation, OperationStatus } from './operation.js';

export interface ChildrenRollup {
  /** Mean progress of the children, 0..100 (finished children count as 100). */
  readonly percent: number;
  readonly total: number;
  readonly byStatus: Readonly<Record<OperationStatus, number>>;
  /** True when every child has finished (whatever the outcome). */
  readonly finished: boolean;
}

/** Rolls up the progress of a parent's children (e.g. a lab provisioning and its VMs). */
export function rollUpChildren(children: readonly Operation[]): ChildrenRollup {
  const byStatus: Record<OperationStatus, number> = { queued: 0, running: 0, succeeded: 0, failed: 0, canceled: 0 };
  let sum = 0;
  for (const c of children) {
    byStatus[c.status] += 1;
    sum += c.status === 'queued' || c.status === 'running' ? c.progress.percent : 100;
  }
  const total = children.length;
  const open = byStatus.queued + byStatus.running;
  return { percent: total === 0 ? 100 : sum / total, total, byStatus, finished: open === 0 };
}
