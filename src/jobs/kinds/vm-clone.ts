import type { OperationRecord } from '../../domain/operations/operation.js';
import { UpstreamRejectedError } from '../../domain/shared/errors.js';
import { cloneObjectName, VM_CLONE_KIND } from '../../domain/vms/vm-copy.js';
import type { VmCopyRepository } from '../../domain/vms/vm-copy-repository.js';
import { optionalString, vmOfInput } from '../../domain/vms/vm-job-input.js';
import type { JobKind } from '../job-kind.js';
import { PROGRESS_BY_STATE, refuseError, refuseTimeout, settings, VM_RETRY, vmOf, type VmJobDeps } from './vm-job-support.js';

export interface CloneJobDeps extends VmJobDeps {
  readonly copies: VmCopyRepository;
  /** Starts the clone's `vm.identity` (Arc on): its own Arc machine, as for a new VM. */
  readonly chainIdentity?: (parent: OperationRecord, vm: { tenant: string; name: string; ownerId: string }) => Promise<void>;
}

function cloneOfInput(op: OperationRecord) {
  const { tenant, name } = vmOfInput(op.input);
  const i = op.input;
  return {
    tenant,
    name,
    source: optionalString(i, 'source') ?? '',
    id: optionalString(i, 'id') ?? '',
    ownerId: optionalString(i, 'ownerId') ?? '',
    serial: optionalString(i, 'serial') ?? '',
    arc: i['arc'] === true,
    running: i['running'] !== false,
    clone: cloneObjectName(name, op.id),
  };
}

/**
 * `vm.clone`, in steps the operation's progress shows: `create-clone` (the VirtualMachineClone,
 * named after the operation so a re-run finds its own), `wait-clone` (KubeVirt's phases
 * SnapshotInProgress, CreatingTargetVM, RestoreInProgress, then Succeeded; Failed fails the
 * operation with `CLONE_FAILED`), `adopt-cloud-init` (the clone's own Secret, staged by the use
 * case, now owned by the clone), `wait` (the clone Running, or Stopped when asked; with Arc on, its
 * own `vm.identity` follows as a child operation). The finished VirtualMachineClone is deleted.
 */
export function vmCloneJob(deps: CloneJobDeps): JobKind {
  const { recheckMs } = settings(deps);
  return {
    kind: VM_CLONE_KIND,
    firstStep: 'create-clone',
    retry: VM_RETRY,
    steps: {
      'create-clone': async ({ operation }) => {
        const c = cloneOfInput(operation);
        await deps.copies.createClone({
          tenant: c.tenant,
          name: c.clone,
          source: c.source,
          target: c.name,
          targetId: c.id,
          ownerId: c.ownerId,
          arc: c.arc,
          running: c.running,
          serial: c.serial,
          operationId: operation.id,
        });
        return { type: 'next', step: 'wait-clone', progress: 10 };
      },
      'wait-clone': async ({ operation }) => {
        const c = cloneOfInput(operation);
        const r = await deps.copies.cloneStatus(c.tenant, c.clone);
        if (r?.phase === 'Succeeded') return { type: 'next', step: 'adopt-cloud-init', progress: 60 };
        if (r === undefined || r.phase === 'Failed') {
          const why = r === undefined ? 'the VirtualMachineClone was deleted meanwhile' : (r.failure ?? 'no reason given');
          throw new UpstreamRejectedError('CLONE_FAILED', `Cloning VM '${c.source}' into '${c.name}' failed: ${why}.`, {
            details: { source: c.source, clone: c.clone },
          });
        }
        refuseTimeout(deps, operation, `the clone of VM '${c.source}' into '${c.name}'`);
        const progress = { SnapshotInProgress: 20, CreatingTargetVM: 35, RestoreInProgress: 50 } as Record<string, number>;
        return { type: 'recheck', delayMs: recheckMs, progress: progress[r.phase] ?? 15 };
      },
      'adopt-cloud-init': async ({ operation }) => {
        const c = cloneOfInput(operation);
        await deps.repo.adoptCloudInit(c.tenant, c.name);
        await deps.copies.deleteClone(c.tenant, c.clone);
        return { type: 'next', step: 'wait', progress: 70 };
      },
      wait: async ({ operation }) => {
        const c = cloneOfInput(operation);
        const { vm, derived } = await vmOf(deps.repo, operation);
        const target = c.running ? 'Running' : 'Stopped';
        if (derived.state === target) {
          const chained = c.arc && derived.state === 'Running' && deps.chainIdentity !== undefined;
          if (chained) await deps.chainIdentity?.(operation, { tenant: c.tenant, name: c.name, ownerId: c.ownerId });
          return {
            type: 'done',
            result: {
              tenant: c.tenant,
              name: c.name,
              id: vm.id,
              source: c.source,
              state: derived.state,
              ...(chained ? { identityPending: true } : {}),
            },
          };
        }
        refuseError(c.name, derived);
        refuseTimeout(deps, operation, `the clone '${c.name}' to be ${target}`);
        return { type: 'recheck', delayMs: recheckMs, progress: PROGRESS_BY_STATE[derived.state] ?? 75 };
      },
    },
  };
}
