import { ConflictError, NotFoundError, UpstreamRejectedError } from '../../domain/shared/errors.js';
import { systemClock, type Clock } from '../../domain/shared/ids.js';
import type { OperationRecord } from '../../domain/operations/operation.js';
import { vmTargetId, type VmRecord } from '../../domain/vms/vm.js';
import { vmOfInput } from '../../domain/vms/vm-job-input.js';
import type { VmRepository } from '../../domain/vms/vm-repository.js';
import { deriveVmState, type DerivedState } from '../../domain/vms/vm-state.js';
import type { RetryPolicy, StepHandler } from '../job-kind.js';
import type { WakeSource } from '../wake-ups.js';

/** What the VM job kinds need. Waiting reads the watch-backed cache: it costs the API server nothing. */
export interface VmJobDeps {
  readonly repo: VmRepository;
  readonly clock?: Clock;
  /** Delay between re-checks while waiting for a state, ms (default 500). */
  readonly recheckMs?: number;
  /** Longest wait for a target state before the operation fails, ms (default 30 minutes). */
  readonly waitTimeoutMs?: number;
}

/**
 * The VM's watch events, as wake-ups of the operations on it: a create, power change, migration or
 * delete that waits for the VM re-checks as soon as the VM changes, not at the end of its backoff.
 */
export function vmWakeSource(repo: Pick<VmRepository, 'watch'>): WakeSource {
  return (tell) => repo.watch((e) => tell({ type: 'vm', id: vmTargetId(e.tenant, e.name) }));
}

export const VM_RETRY: RetryPolicy = { attempts: 6, baseDelayMs: 1_000, maxDelayMs: 30_000 };

export function settings(deps: VmJobDeps) {
  return { clock: deps.clock ?? systemClock, recheckMs: deps.recheckMs ?? 500, waitTimeoutMs: deps.waitTimeoutMs ?? 30 * 60_000 };
}

/** The VM an operation is about; gone is a failure (someone deleted it meanwhile). */
export async function vmOf(repo: VmRepository, op: OperationRecord): Promise<{ tenant: string; name: string; vm: VmRecord; derived: DerivedState }> {
  const { tenant, name } = vmOfInput(op.input);
  const vm = await repo.get(tenant, name);
  if (vm === undefined) throw new NotFoundError('vm', name);
  return { tenant, name, vm, derived: deriveVmState(vm.observation) };
}

/** Fails the operation when the VM reports an error (with KubeVirt's reason and message). */
export function refuseError(name: string, d: DerivedState): void {
  if (d.state !== 'Error') return;
  throw new UpstreamRejectedError(
    'VM_FAILED',
    `VM '${name}' is in error: ${d.reason ?? 'Unknown'}${d.message === undefined ? '' : ` (${d.message})`}.`,
    {
      details: { reason: d.reason ?? 'Unknown' },
    },
  );
}

/** Fails the operation once it has waited longer than the timeout (from its start). */
export function refuseTimeout(deps: VmJobDeps, op: OperationRecord, what: string): void {
  const { clock, waitTimeoutMs } = settings(deps);
  const since = Date.parse(op.startedAt ?? op.createdAt);
  if (clock.now().getTime() - since > waitTimeoutMs) {
    throw new UpstreamRejectedError('VM_WAIT_TIMEOUT', `Gave up waiting for ${what} after ${Math.round(waitTimeoutMs / 1000)} s.`);
  }
}

/** Progress shown while a VM works its way to Running. */
export const PROGRESS_BY_STATE: Readonly<Record<string, number>> = { Provisioning: 40, Stopped: 50, Starting: 75, Stopping: 60, Migrating: 60 };

/**
 * The first steps of an operation that needs its VM stopped (a restore, a publish): `stop` asks
 * KubeVirt to stop the VM when `stopFirst` and it is not stopped (without `stopFirst`, a VM
 * started meanwhile fails the operation with `ACTION_NOT_ALLOWED`); `wait-stopped` waits until the
 * VM has no instance, then goes on with `next`. `action` names the operation in messages.
 */
export function stopFirstSteps(
  deps: VmJobDeps,
  o: { readonly action: string; readonly next: string; readonly stopFirst: (op: OperationRecord) => boolean },
): { stop: StepHandler; 'wait-stopped': StepHandler } {
  const { recheckMs } = settings(deps);
  return {
    stop: async ({ operation }) => {
      const { tenant, name, vm, derived } = await vmOf(deps.repo, operation);
      if (vm.runStrategy !== 'Halted' || vm.instance !== undefined) {
        if (!o.stopFirst(operation)) {
          throw new ConflictError('ACTION_NOT_ALLOWED', `VM '${name}' is ${derived.state}, not stopped; ${o.action} with stopFirst: true.`, {
            details: { state: derived.state },
          });
        }
        if (vm.runStrategy !== 'Halted') {
          try {
            await deps.repo.act(tenant, name, 'stop');
          } catch (err) {
            // KubeVirt refuses to stop a VM already stopping.
            if (!(err instanceof ConflictError)) throw err;
          }
        }
      }
      return { type: 'next', step: 'wait-stopped', progress: 10 };
    },
    'wait-stopped': async ({ operation }) => {
      const { name, vm } = await vmOf(deps.repo, operation);
      if (vm.runStrategy === 'Halted' && vm.instance === undefined) return { type: 'next', step: o.next, progress: 30 };
      refuseTimeout(deps, operation, `VM '${name}' to stop before its ${o.action}`);
      return { type: 'recheck', delayMs: recheckMs, progress: 20 };
    },
  };
}
