import { makePrincipal } from '../domain/auth/principal.js';
import type { LabRepository } from '../domain/labs/lab-repository.js';
import type { LabRecord } from '../domain/labs/lab.js';
import { studentVmName } from '../domain/labs/lab-rules.js';
import { labVmsByStudent } from '../domain/labs/lab-status.js';
import { isDomainError } from '../domain/shared/errors.js';
import type { Clock } from '../domain/shared/ids.js';
import type { Logger } from '../domain/shared/logger.js';
import type { VmRecord } from '../domain/vms/vm.js';
import type { VmRepository } from '../domain/vms/vm-repository.js';
import type { VmService } from '../domain/vms/vm-service.js';
import { createPeriodicLoop, type PeriodicLoop } from './periodic-loop.js';

/** The platform itself, when housekeeping deletes a dropped student's VM. */
export const MAINTENANCE_PRINCIPAL = makePrincipal({ id: 'labplane-maintenance', name: 'lab maintenance', kind: 'service', platformAdmin: true });

export interface LabMaintenanceDeps {
  readonly labs: Pick<LabRepository, 'list'>;
  readonly vmRepo: Pick<VmRepository, 'list'>;
  readonly vms: Pick<VmService, 'delete'>;
  /** Starts a sync of a lab whose spec changed outside the API (GitOps); false when it was not ours to start. */
  readonly reconcile: (lab: LabRecord) => Promise<boolean>;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Between passes, ms (default 30 000). */
  readonly intervalMs?: number;
}

/** Its `tick` never rejects: failures are logged per lab. */
export type LabMaintenance = PeriodicLoop;

/**
 * Housekeeping of labs, every interval: deletes the VMs of dropped students once the lab's grace
 * period is over (through `vm.delete`, which removes the Arc machine too), starts a sync of a
 * lab whose spec generation no sync has seen on two passes in a row (written by GitOps, not the
 * API, which starts its syncs itself), and deletes the VMs of a lab that is gone without its
 * deletion (`kubectl delete lab`, a GitOps prune): seen without their lab on two passes in a row,
 * so a lab just written by another process is never mistaken for a missing one. All its state is
 * in the cluster: a restart loses nothing.
 */
export function createLabMaintenance(deps: LabMaintenanceDeps): LabMaintenance {
  const intervalMs = deps.intervalMs ?? 30_000;
  const unobserved = new Map<string, number>();
  const asked = new Map<string, number>();
  /** VMs found without their lab on the last pass. */
  let orphansSeen = new Set<string>();

  async function sweepDropped(lab: LabRecord, now: number, vms: Awaited<ReturnType<LabMaintenanceDeps['vmRepo']['list']>>): Promise<void> {
    const roster = new Set(lab.students.map((s) => s.id));
    for (const [student, vm] of labVmsByStudent(lab, vms)) {
      if (roster.has(student) || vm.droppedAt === undefined || vm.deleting) continue;
      const due = Date.parse(vm.droppedAt) + lab.dropGracePeriodHours * 3_600_000;
      const key = `${vm.tenant}/${vm.name}`;
      // A delete asked less than five intervals ago is still on its way (the VM is not marked deleting yet).
      if (due > now || (asked.get(key) ?? 0) > now - 5 * intervalMs) continue;
      await deps.vms.delete(MAINTENANCE_PRINCIPAL, vm.tenant, vm.name);
      asked.set(key, now);
      deps.logger.info({ tenant: vm.tenant, lab: lab.name, vm: vm.name }, 'deleting the VM of a dropped student after the grace period');
    }
  }

  /**
   * A lab's VM (our label, and the lab's deterministic name for its student, so not a VM labelled
   * by hand) whose lab no longer exists: deleted through `vm.delete`, so its Arc machine and
   * access go too, rather than running (and granting SSH) for ever.
   */
  async function sweepOrphans(labs: readonly LabRecord[], vms: readonly VmRecord[], now: number): Promise<void> {
    const live = new Set(labs.map((l) => `${l.tenant}/${l.name}`));
    const seen = new Set<string>();
    for (const vm of vms) {
      if (vm.lab === undefined || vm.deleting || live.has(`${vm.tenant}/${vm.lab}`) || vm.name !== studentVmName(vm.lab, vm.ownerId)) continue;
      const key = `${vm.tenant}/${vm.name}`;
      seen.add(key);
      if (!orphansSeen.has(key) || (asked.get(key) ?? 0) > now - 5 * intervalMs) continue;
      try {
        await deps.vms.delete(MAINTENANCE_PRINCIPAL, vm.tenant, vm.name);
        asked.set(key, now);
        deps.logger.info({ tenant: vm.tenant, lab: vm.lab, vm: vm.name }, 'deleting the VM of a lab that no longer exists (deleted outside the API)');
      } catch (err) {
        deps.logger.warn(
          { tenant: vm.tenant, vm: vm.name, ...(isDomainError(err) ? { code: err.code } : {}) },
          'could not delete the VM of a deleted lab; trying again next pass',
        );
      }
    }
    orphansSeen = seen;
  }

  async function reconcile(lab: LabRecord): Promise<void> {
    const key = `${lab.tenant}/${lab.name}`;
    if (lab.status.deletionRequestedAt !== undefined || lab.generation <= (lab.status.observedGeneration ?? 0)) {
      unobserved.delete(key);
      return;
    }
    if (unobserved.get(key) !== lab.generation) {
      unobserved.set(key, lab.generation);
      return;
    }
    unobserved.delete(key);
    if (await deps.reconcile(lab))
      deps.logger.info({ tenant: lab.tenant, lab: lab.name, generation: lab.generation }, 'lab changed outside the API: sync started');
  }

  async function pass(): Promise<void> {
    const now = deps.clock.now().getTime();
    let labs: readonly LabRecord[];
    let vms;
    try {
      labs = await deps.labs.list();
      vms = await deps.vmRepo.list();
    } catch (err) {
      deps.logger.warn({ error: err instanceof Error ? err.message.slice(0, 300) : typeof err }, 'lab maintenance could not list labs');
      return;
    }
    for (const lab of labs) {
      try {
        await sweepDropped(lab, now, vms);
        await reconcile(lab);
      } catch (err) {
        deps.logger.warn(
          {
            tenant: lab.tenant,
            lab: lab.name,
            ...(isDomainError(err) ? { code: err.code } : {}),
            error: err instanceof Error ? err.message.slice(0, 300) : typeof err,
          },
          'lab maintenance failed for a lab',
        );
      }
    }
    await sweepOrphans(labs, vms, now);
    for (const [key, at] of asked) if (at < now - 10 * intervalMs) asked.delete(key);
  }

  return createPeriodicLoop(pass, intervalMs);
}
