import { UpstreamRejectedError } from '../../domain/shared/errors.js';
import { VM_SNAPSHOT_KIND } from '../../domain/vms/snapshot.js';
import type { SnapshotRepository } from '../../domain/vms/snapshot-repository.js';
import { snapshotOfInput } from '../../domain/vms/vm-job-input.js';
import type { JobKind } from '../job-kind.js';
import { refuseTimeout, settings, VM_RETRY, type VmJobDeps } from './vm-job-support.js';

export interface SnapshotJobDeps extends VmJobDeps {
  readonly snapshots: SnapshotRepository;
}

/**
 * `vm.snapshot`: writes the VirtualMachineSnapshot (idempotent: one carrying this operation's id
 * is ours) and re-checks until KubeVirt says it is ready to use (done; the result names the
 * snapshot, its indications and whether the VM was online) or Failed (the operation fails with
 * `SNAPSHOT_FAILED` and KubeVirt's error). Its success is the `vm.snapshot-ready` webhook event.
 */
export function vmSnapshotJob(deps: SnapshotJobDeps): JobKind {
  const { recheckMs } = settings(deps);
  return {
    kind: VM_SNAPSHOT_KIND,
    firstStep: 'create-snapshot',
    retry: VM_RETRY,
    steps: {
      'create-snapshot': async ({ operation }) => {
        const { tenant, name, snapshot, sizeGi } = snapshotOfInput(operation.input);
        await deps.snapshots.create({ tenant, vm: name, name: snapshot, sizeGi, operationId: operation.id });
        return { type: 'next', step: 'wait', progress: 20 };
      },
      wait: async ({ operation }) => {
        const { tenant, name, snapshot } = snapshotOfInput(operation.input);
        const s = await deps.snapshots.get(tenant, snapshot);
        if (s?.readyToUse === true) {
          return {
            type: 'done',
            result: { tenant, name, snapshot, phase: s.phase, online: s.online, indications: [...s.indications], sizeGi: s.sizeGi },
          };
        }
        if (s === undefined || s.phase === 'Failed') {
          const why = s === undefined ? 'the snapshot was deleted meanwhile' : (s.error ?? 'no error given');
          throw new UpstreamRejectedError('SNAPSHOT_FAILED', `The snapshot '${snapshot}' of VM '${name}' failed: ${why}.`, {
            details: { snapshot },
          });
        }
        refuseTimeout(deps, operation, `the snapshot '${snapshot}' of VM '${name}'`);
        return { type: 'recheck', delayMs: recheckMs, progress: s.phase === 'InProgress' ? 50 : 30 };
      },
    },
  };
}
