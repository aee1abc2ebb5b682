import { ARC_TAG_CLUSTER, ARC_TAG_TENANT, type ArcMachine } from '../domain/identity/arc-machine.js';
import type { ArcMachinesPort } from '../domain/identity/arc-machines-port.js';
import type { OperationStore } from '../domain/operations/operation-store.js';
import type { Logger } from '../domain/shared/logger.js';
import { vmTargetId } from '../domain/vms/vm.js';
import type { VmRepository } from '../domain/vms/vm-repository.js';
import { createPeriodicLoop, type PeriodicLoop } from './periodic-loop.js';

export interface ArcMachineJanitorDeps {
  readonly arcMachines: Pick<ArcMachinesPort, 'listMachines' | 'deleteMachine'>;
  readonly vms: Pick<VmRepository, 'get'>;
  readonly operations: Pick<OperationStore, 'list'>;
  /** This installation's name (`ArcTarget.cluster`): only machines tagged with it are looked at. */
  readonly cluster: string;
  readonly logger: Logger;
  /** Between passes, ms. */
  readonly intervalMs: number;
}

/**
 * Removes this installation's Azure Arc machines whose VM is gone: a VM deleted outside the API
 * (`kubectl delete vm`, a namespace removed by hand) or whose `vm.delete` never reached its Arc
 * step leaves a machine in the resource group, with the SSH role assignments on its scope. A
 * machine is removed (with its extensions and role assignments) when it carries this
 * installation's tag, is not Connected, no VM of its tenant has its name, no operation on that VM
 * is open, and all of this held on two passes in a row (a VM being created right now is never
 * mistaken for a missing one). Machines of other installations, or onboarded before the tag
 * existed, are never touched. Meant to run on the leader.
 */
export function createArcMachineJanitor(deps: ArcMachineJanitorDeps): PeriodicLoop {
  const { arcMachines, vms, operations, cluster, logger } = deps;
  /** Machines found orphaned on the last pass, by name (lower case: ARM names are case-insensitive). */
  let suspects = new Set<string>();

  async function orphaned(m: ArcMachine): Promise<boolean> {
    const tenant = m.tags[ARC_TAG_TENANT];
    if (m.tags[ARC_TAG_CLUSTER] !== cluster || tenant === undefined || m.status === 'Connected') return false;
    if ((await vms.get(tenant, m.name)) !== undefined) return false;
    const open = await operations.list(
      { tenant, target: { type: 'vm', id: vmTargetId(tenant, m.name) }, status: ['queued', 'running'] },
      { limit: 1 },
    );
    return open.items.length === 0;
  }

  async function pass(): Promise<void> {
    try {
      const now = new Set<string>();
      for (const m of await arcMachines.listMachines()) {
        if (!(await orphaned(m))) continue;
        const key = m.name.toLowerCase();
        now.add(key);
        if (!suspects.has(key)) continue;
        await arcMachines.deleteMachine(m.name);
        now.delete(key);
        logger.info(
          { machine: m.name, tenant: m.tags[ARC_TAG_TENANT], status: m.status },
          'removed an Azure Arc machine whose VM is gone (its role assignments go with it)',
        );
      }
      suspects = now;
    } catch (err) {
      logger.warn(
        { err: err instanceof Error ? { name: err.name, message: err.message } : String(err) },
        'Arc machine janitor pass failed; retrying next interval',
      );
    }
  }

  return createPeriodicLoop(pass, deps.intervalMs);
}
