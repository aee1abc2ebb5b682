import { ConflictError } from '../../domain/shared/errors.js';
import type { OperationRecord } from '../../domain/operations/operation.js';
import { VM_POWER_KINDS, type VmRecord } from '../../domain/vms/vm.js';
import { optionalString } from '../../domain/vms/vm-job-input.js';
import type { VmPowerAction } from '../../domain/vms/vm-repository.js';
import type { DerivedState } from '../../domain/vms/vm-state.js';
import type { JobKind } from '../job-kind.js';
import { PROGRESS_BY_STATE, refuseError, refuseTimeout, settings, VM_RETRY, vmOf, type VmJobDeps } from './vm-job-support.js';

/** True when the action's effect is already there (a re-run after a crash, or a double request). */
function alreadyDone(action: VmPowerAction, vm: VmRecord, op: OperationRecord): boolean {
  if (action === 'start') return vm.runStrategy === 'Always';
  if (action === 'stop') return vm.runStrategy === 'Halted';
  const before = optionalString(op.input, 'instanceUid');
  return before !== undefined && vm.instance !== undefined && vm.instance.uid !== before;
}

/** Whether the VM reached what the action aims at. */
function reached(action: VmPowerAction, vm: VmRecord, d: DerivedState, op: OperationRecord): boolean {
  if (action === 'stop') return vm.runStrategy === 'Halted' && vm.instance === undefined;
  if (d.state !== 'Running') return false;
  if (action === 'start') return true;
  const before = optionalString(op.input, 'instanceUid');
  return before === undefined || vm.instance?.uid !== before;
}

/**
 * `vm.start`, `vm.stop`, `vm.restart`: ask KubeVirt (the `start|stop|restart` subresource), then
 * re-check until the VM is Running (a new instance for restart) or has no instance left (stop).
 * Asking is skipped when its effect is already visible, so a re-run never restarts twice.
 */
export function vmPowerJobs(deps: VmJobDeps): JobKind[] {
  const { recheckMs } = settings(deps);
  return (['start', 'stop', 'restart'] as const).map((action) => ({
    kind: VM_POWER_KINDS[action],
    firstStep: 'request',
    retry: VM_RETRY,
    steps: {
      request: async ({ operation }) => {
        const { tenant, name, vm } = await vmOf(deps.repo, operation);
        if (!alreadyDone(action, vm, operation)) {
          try {
            await deps.repo.act(tenant, name, action);
          } catch (err) {
            // KubeVirt refuses a start of a VM already set to run (and a stop of a stopped one).
            const again = err instanceof ConflictError ? await deps.repo.get(tenant, name) : undefined;
            if (again === undefined || !alreadyDone(action, again, operation)) throw err;
          }
        }
        return { type: 'next', step: 'wait', progress: 30 };
      },
      wait: async ({ operation }) => {
        const { tenant, name, vm, derived } = await vmOf(deps.repo, operation);
        if (reached(action, vm, derived, operation)) {
          // Why the platform stopped it (auto-shutdown, quota), shown on the finished operation.
          const reason = optionalString(operation.input, 'reason');
          return { type: 'done', result: { tenant, name, state: derived.state, ...(reason === undefined ? {} : { reason }) } };
        }
        if (action !== 'stop') refuseError(name, derived);
        refuseTimeout(deps, operation, `VM '${name}' to ${action}`);
        return { type: 'recheck', delayMs: recheckMs, progress: PROGRESS_BY_STATE[derived.state] ?? 50 };
      },
    },
  }));
}
