import { UpstreamRejectedError } from '../../domain/shared/errors.js';
import { restoreName, VM_RESTORE_KIND } from '../../domain/vms/snapshot.js';
import { snapshotOfInput } from '../../domain/vms/vm-job-input.js';
import type { JobKind } from '../job-kind.js';
import { refuseTimeout, settings, stopFirstSteps, VM_RETRY } from './vm-job-support.js';
import type { SnapshotJobDeps } from './vm-snapshot.js';

/**
 * `vm.restore`, in steps the operation's progress shows: `stop` (asks KubeVirt to stop the VM
 * when `stopFirst` and it is not stopped; without `stopFirst` a VM started meanwhile fails the
 * operation with `ACTION_NOT_ALLOWED`), `wait-stopped` (until the VM has no instance),
 * `create-restore` (the VirtualMachineRestore, named after the operation so a re-run finds its
 * own) and `wait` (until KubeVirt sets `status.complete`; a `Failure` condition fails it with
 * `RESTORE_FAILED`). The VM stays stopped.
 */
export function vmRestoreJob(deps: SnapshotJobDeps): JobKind {
  const { recheckMs } = settings(deps);
  return {
    kind: VM_RESTORE_KIND,
    firstStep: 'stop',
    retry: VM_RETRY,
    steps: {
      ...stopFirstSteps(deps, { action: 'restore', next: 'create-restore', stopFirst: (op) => snapshotOfInput(op.input).stopFirst }),
      'create-restore': async ({ operation }) => {
        const { tenant, name, snapshot } = snapshotOfInput(operation.input);
        await deps.snapshots.restore(tenant, restoreName(name, operation.id), name, snapshot);
        return { type: 'next', step: 'wait', progress: 50 };
      },
      wait: async ({ operation }) => {
        const { tenant, name, snapshot } = snapshotOfInput(operation.input);
        const restore = restoreName(name, operation.id);
        const r = await deps.snapshots.restoreStatus(tenant, restore);
        if (r?.complete === true) return { type: 'done', result: { tenant, name, snapshot, restore } };
        if (r?.failure !== undefined) {
          throw new UpstreamRejectedError('RESTORE_FAILED', `Restoring VM '${name}' from snapshot '${snapshot}' failed: ${r.failure}.`, {
            details: { snapshot, restore },
          });
        }
        refuseTimeout(deps, operation, `the restore of VM '${name}' from snapshot '${snapshot}'`);
        return { type: 'recheck', delayMs: recheckMs, progress: 70 };
      },
    },
  };
}
