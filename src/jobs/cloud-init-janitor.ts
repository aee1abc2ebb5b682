import type { OperationStore } from '../domain/operations/operation-store.js';
import type { Clock } from '../domain/shared/ids.js';
import type { Logger } from '../domain/shared/logger.js';
import { vmTargetId } from '../domain/vms/vm.js';
import type { VmRepository } from '../domain/vms/vm-repository.js';
import { createPeriodicLoop, type PeriodicLoop } from './periodic-loop.js';

export interface CloudInitJanitorDeps {
  readonly vms: Pick<VmRepository, 'listStagedCloudInit' | 'deleteStagedCloudInit'>;
  readonly operations: Pick<OperationStore, 'list'>;
  readonly clock: Clock;
  readonly logger: Logger;
  /** A staged copy older than this (ms) with no open operation on its VM is removed. */
  readonly maxAgeMs: number;
  /** Between passes, ms. */
  readonly intervalMs: number;
}

/**
 * Removes VM cloud-init staged in the control namespace that nothing will consume: a create whose
 * request timed out or whose job never ran, an identity that failed before scrubbing. The staged
 * copy may hold an Azure Arc onboarding token, so it must not outlive its use; `vm.create` places
 * it and `vm.identity` scrubs it, so a copy is kept while an operation on its VM is open, and for
 * `maxAgeMs` in any case. Meant to run on the leader.
 */
export function createCloudInitJanitor(deps: CloudInitJanitorDeps): PeriodicLoop {
  const { vms, operations, clock, logger, maxAgeMs } = deps;

  async function inUse(tenant: string, name: string): Promise<boolean> {
    const open = await operations.list({ tenant, target: { type: 'vm', id: vmTargetId(tenant, name) }, status: ['queued', 'running'] }, { limit: 1 });
    return open.items.length > 0;
  }

  async function pass(): Promise<void> {
    try {
      const cutoff = clock.now().getTime() - maxAgeMs;
      for (const staged of await vms.listStagedCloudInit()) {
        if (Date.parse(staged.stagedAt) > cutoff) break; // oldest first: the rest are younger
        if (await inUse(staged.tenant, staged.name)) continue;
        await vms.deleteStagedCloudInit(staged.tenant, staged.name);
        logger.info(
          { tenant: staged.tenant, vm: staged.name, stagedAt: staged.stagedAt },
          'removed cloud-init staged for a VM that no operation will use',
        );
      }
    } catch (err) {
      logger.warn(
        { err: err instanceof Error ? { name: err.name, message: err.message } : String(err) },
        'cloud-init janitor pass failed; retrying next interval',
      );
    }
  }

  return createPeriodicLoop(pass, deps.intervalMs);
}
