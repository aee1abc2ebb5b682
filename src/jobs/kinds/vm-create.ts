import { VM_CREATE_KIND } from '../../domain/vms/vm.js';
import { specFromInput } from '../../domain/vms/vm-job-input.js';
import type { OperationRecord } from '../../domain/operations/operation.js';
import type { JobKind } from '../job-kind.js';
import { PROGRESS_BY_STATE, refuseError, refuseTimeout, settings, VM_RETRY, vmOf, type VmJobDeps } from './vm-job-support.js';

/**
 * `vm.create`: the use case has checked the quota and staged the cloud-init; this job creates the
 * VirtualMachine (idempotent: a VM carrying this operation's id is ours), then its cloud-init
 * Secret owned by it (so the Secret goes with it; KubeVirt waits for the Secret), then re-checks until the VM is Running (or
 * Stopped when created halted). A VM in error fails the operation with KubeVirt's reason.
 */
export function vmCreateJob(
  deps: VmJobDeps & { readonly chainIdentity?: (parent: OperationRecord, vm: { tenant: string; name: string; ownerId: string }) => Promise<void> },
): JobKind {
  const { recheckMs } = settings(deps);
  return {
    kind: VM_CREATE_KIND,
    firstStep: 'create-vm',
    retry: VM_RETRY,
    steps: {
      'create-vm': async ({ operation }) => {
        await deps.repo.create(specFromInput(operation.input, operation.id));
        return { type: 'next', step: 'adopt-cloud-init', progress: 20 };
      },
      'adopt-cloud-init': async ({ operation }) => {
        const spec = specFromInput(operation.input, operation.id);
        await deps.repo.adoptCloudInit(spec.tenant, spec.name);
        return { type: 'next', step: 'wait', progress: 30 };
      },
      wait: async ({ operation }) => {
        const spec = specFromInput(operation.input, operation.id);
        const { vm, derived } = await vmOf(deps.repo, operation);
        const target = spec.running ? 'Running' : 'Stopped';
        if (derived.state === target) {
          // A VM with Arc on goes on with its Azure identity once it runs (a child operation).
          const chained = spec.arc && derived.state === 'Running' && deps.chainIdentity !== undefined;
          if (chained) await deps.chainIdentity?.(operation, { tenant: spec.tenant, name: spec.name, ownerId: spec.ownerId });
          return {
            type: 'done',
            result: {
              tenant: spec.tenant,
              name: spec.name,
              id: vm.id,
              state: derived.state,
              ...(spec.lab === undefined ? {} : { lab: spec.lab }),
              ...(chained ? { identityPending: true } : {}),
            },
          };
        }
        refuseError(spec.name, derived);
        refuseTimeout(deps, operation, `VM '${spec.name}' to be ${target}`);
        return { type: 'recheck', delayMs: recheckMs, progress: PROGRESS_BY_STATE[derived.state] ?? 30 };
      },
    },
  };
}
