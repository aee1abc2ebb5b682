import { VM_DELETE_KIND } from '../../domain/vms/vm.js';
import { vmOfInput } from '../../domain/vms/vm-job-input.js';
import { arcMachineName } from '../../domain/identity/arc-machine.js';
import type { ArcMachinesPort } from '../../domain/identity/arc-machines-port.js';
import type { SnapshotRepository } from '../../domain/vms/snapshot-repository.js';
import type { JobKind } from '../job-kind.js';
import { refuseTimeout, settings, VM_RETRY, type VmJobDeps } from './vm-job-support.js';

/**
 * `vm.delete`: deletes the cloud-init Secret (first, so a VM created again under the same name
 * right after never loses its new Secret to this job), then the VM's snapshots (KubeVirt does not
 * tie them to the VM; left, they would hold storage no route reaches), then the VirtualMachine (KubeVirt removes
 * its VMI; Kubernetes garbage-collects its DataVolumes, unless `retainDisks` released them
 * first), then waits until the VM is gone. Every step is a no-op when its object is already gone.
 */
export function vmDeleteJob(
  deps: VmJobDeps & {
    readonly arcMachines?: Pick<ArcMachinesPort, 'deleteMachine'>;
    readonly snapshots?: Pick<SnapshotRepository, 'support' | 'list' | 'delete'>;
  },
): JobKind {
  const { recheckMs } = settings(deps);
  return {
    kind: VM_DELETE_KIND,
    firstStep: 'delete-cloud-init',
    retry: VM_RETRY,
    steps: {
      'delete-vm': async ({ operation }) => {
        const { tenant, name } = vmOfInput(operation.input);
        await deps.repo.delete(tenant, name, { retainDisks: operation.input['retainDisks'] === true });
        return { type: 'next', step: 'wait-until-gone', progress: 60 };
      },
      'delete-cloud-init': async ({ operation }) => {
        const { tenant, name } = vmOfInput(operation.input);
        await deps.repo.deleteCloudInit(tenant, name);
        return { type: 'next', step: 'delete-snapshots', progress: 20 };
      },
      /** Skipped on a cluster that cannot snapshot (there can be none). */
      'delete-snapshots': async ({ operation }) => {
        const { tenant, name } = vmOfInput(operation.input);
        const snapshots = deps.snapshots;
        if (snapshots !== undefined && (await snapshots.support()).supported) {
          for (const s of await snapshots.list(tenant, name)) await snapshots.delete(tenant, s.name);
        }
        return { type: 'next', step: 'delete-vm', progress: 30 };
      },
      /** A VM with Arc on: its Arc machine goes too (role assignments on it go with it); idempotent. */
      'delete-arc-machine': async ({ operation }) => {
        const { tenant, name } = vmOfInput(operation.input);
        await deps.arcMachines?.deleteMachine(arcMachineName(tenant, name));
        return {
          type: 'done',
          result: { tenant, name, deleted: true, disksRetained: operation.input['retainDisks'] === true, arcMachineDeleted: true },
        };
      },
      'wait-until-gone': async ({ operation }) => {
        const { tenant, name } = vmOfInput(operation.input);
        if ((await deps.repo.get(tenant, name)) === undefined) {
          if (operation.input['arc'] === true && deps.arcMachines !== undefined) return { type: 'next', step: 'delete-arc-machine', progress: 90 };
          return { type: 'done', result: { tenant, name, deleted: true, disksRetained: operation.input['retainDisks'] === true } };
        }
        refuseTimeout(deps, operation, `VM '${name}' to be gone`);
        return { type: 'recheck', delayMs: recheckMs, progress: 80 };
      },
    },
  };
}
