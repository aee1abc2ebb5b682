import { UpstreamRejectedError } from '../../domain/shared/errors.js';
import { VM_MIGRATE_KIND } from '../../domain/vms/vm.js';
import { vmOfInput } from '../../domain/vms/vm-job-input.js';
import type { JobKind } from '../job-kind.js';
import { refuseTimeout, settings, VM_RETRY, vmOf, type VmJobDeps } from './vm-job-support.js';

/** Name of the migration an operation creates: deterministic, so a re-run finds its own. */
export function migrationName(vm: string, operationId: string): string {
  return `${vm}-mig-${operationId.replace(/-/g, '').slice(0, 8).toLowerCase()}`;
}

const PROGRESS: Readonly<Record<string, number>> = { Pending: 15, Scheduling: 25, Scheduled: 35, PreparingTarget: 45, TargetReady: 55, Running: 75 };

/**
 * `vm.migrate`: creates a VirtualMachineInstanceMigration and follows its phase until Succeeded
 * (done) or Failed (the operation fails with KubeVirt's reason). The result names the migration,
 * never the nodes (tenant members may read the operations of their VMs).
 */
export function vmMigrateJob(deps: VmJobDeps): JobKind {
  const { recheckMs } = settings(deps);
  return {
    kind: VM_MIGRATE_KIND,
    firstStep: 'create-migration',
    retry: VM_RETRY,
    steps: {
      'create-migration': async ({ operation }) => {
        const { tenant, name } = await vmOf(deps.repo, operation);
        await deps.repo.migrate(tenant, name, migrationName(name, operation.id));
        return { type: 'next', step: 'wait', progress: 10 };
      },
      wait: async ({ operation }) => {
        const { tenant, name } = vmOfInput(operation.input);
        const mig = migrationName(name, operation.id);
        const m = await deps.repo.migration(tenant, mig);
        if (m?.phase === 'Succeeded') return { type: 'done', result: { tenant, name, migration: mig, phase: m.phase } };
        if (m?.phase === 'Failed') {
          throw new UpstreamRejectedError('MIGRATION_FAILED', `The live migration of VM '${name}' failed: ${m.failureReason ?? 'no reason given'}.`, {
            details: { migration: mig },
          });
        }
        refuseTimeout(deps, operation, `the migration of VM '${name}'`);
        return { type: 'recheck', delayMs: recheckMs, progress: PROGRESS[m?.phase ?? 'Pending'] ?? 10 };
      },
    },
  };
}
