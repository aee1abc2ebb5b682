import type { Principal } from '../auth/principal.js';
import type { Operation } from '../operations/operation.js';
import type { OperationService } from '../operations/operation-service.js';
import { ConflictError } from '../shared/errors.js';
import { VM_IDENTITY_KIND, vmTargetId } from './vm.js';
import type { VmLoader } from './vm-actions.js';
import { identityInput } from './vm-job-input.js';
import { deriveVmState } from './vm-state.js';

export interface VmIdentityRetryDeps {
  readonly load: VmLoader;
  readonly operations: Pick<OperationService, 'start'>;
  /** False when no onboarding identity is configured (nothing could onboard the VM). */
  readonly onboardingAvailable: boolean;
}

/**
 * Runs a VM's Azure identity flow again (`vm.identity`): for a VM with Arc on whose identity is not
 * ready (the extension install or a grant failed, or connecting took longer than the timeout). The
 * VM must run (its agent connects). A lab VM is retried through its lab, which also re-grants its
 * instructors. A VM whose agent never connected needs a new onboarding token: recreate it.
 */
export function vmIdentityRetry(deps: VmIdentityRetryDeps) {
  return {
    async retryIdentity(p: Principal, tenantId: string, name: string): Promise<Operation> {
      const { vm } = await deps.load(p, tenantId, name, 'vm.update');
      if (!vm.arc) throw new ConflictError('ARC_NOT_ENABLED', `VM '${name}' was created without Azure Arc; it has no Azure identity to retry.`);
      if (!deps.onboardingAvailable)
        throw new ConflictError('ARC_ONBOARDING_NOT_CONFIGURED', 'Azure Arc onboarding is not configured on this platform (no onboarding identity).');
      if (vm.lab !== undefined) {
        throw new ConflictError(
          'LAB_VM',
          `VM '${name}' belongs to lab '${vm.lab}': retry its student through the lab (POST /v1/tenants/${tenantId}/labs/${vm.lab}/students/{student}/retry).`,
          {
            details: { lab: vm.lab, student: vm.ownerId },
          },
        );
      }
      if (vm.identity?.ready === true)
        throw new ConflictError('IDENTITY_READY', `The Azure identity of VM '${name}' is ready; there is nothing to retry.`);
      const state = deriveVmState(vm.observation).state;
      if (state !== 'Running')
        throw new ConflictError('ACTION_NOT_ALLOWED', `VM '${name}' is ${state}: start it first, its Arc agent connects while it runs.`, {
          details: { state },
        });
      return deps.operations.start(p, {
        kind: VM_IDENTITY_KIND,
        tenant: tenantId,
        target: { type: 'vm', id: vmTargetId(tenantId, name), name },
        ownerId: vm.ownerId,
        input: identityInput({ tenant: tenantId, name, ownerId: vm.ownerId }),
      });
    },
  };
}
