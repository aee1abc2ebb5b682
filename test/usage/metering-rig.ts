import { createMemoryLabRepository } from '../../src/adapters/memory/lab-repository.js';
import { createMemoryUsageLedger } from '../../src/adapters/memory/usage-ledger.js';
import { createMemoryVmRepository } from '../../src/adapters/memory/vm-repository.js';
import { makePrincipal } from '../../src/domain/auth/principal.js';
import type { LabSpec } from '../../src/domain/labs/lab.js';
import { studentVmName } from '../../src/domain/labs/lab-rules.js';
import type { Logger } from '../../src/domain/shared/logger.js';
import { DEFAULT_LAB_COST_CONTROLS } from '../../src/domain/usage/cost-controls.js';
import type { UsageLedger } from '../../src/domain/usage/ports.js';
import { createUsageService } from '../../src/domain/usage/usage-service.js';
import { createUsageMeter } from '../../src/jobs/usage-meter.js';
import { manualClock, type ManualClock } from '../azure/support/manual-clock.js';
import { labSpec } from '../contracts/lab-repository.contract.js';
import { vmSpec } from '../contracts/vm-repository.contract.js';

export const HOUR = 3_600_000;
export const TENANT = 'cs-101';
const silent: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** A lab of one student (no class hours) with a quota, their VM running, and the usage parts over one ledger. */
export async function rig(options: { quotaHours?: number; ledger?: UsageLedger; clock?: ManualClock; schedules?: LabSpec['schedules'] } = {}) {
  const clock = options.clock ?? manualClock(Date.parse('2026-03-02T18:00:00Z'));
  const spec = labSpec(TENANT, {
    schedules: options.schedules ?? [],
    costControls: { ...DEFAULT_LAB_COST_CONTROLS, ...(options.quotaHours === undefined ? {} : { usageQuotaHours: options.quotaHours }) },
  });
  const student = spec.students[0]!;
  const labs = createMemoryLabRepository({ clock, labs: [{ spec }] });
  const vmName = studentVmName(spec.name, student.id);
  const spec0 = vmSpec(
    TENANT,
    { namespace: 'labplane-images', pvcName: 'ubuntu-24-04' },
    {
      name: vmName,
      ownerId: student.id,
      lab: spec.name,
      running: true,
      labels: {},
    },
  );
  const vms = createMemoryVmRepository({ clock, vms: [spec0] });
  const ledger = options.ledger ?? createMemoryUsageLedger();
  const service = createUsageService({ labs, vms, tenants: { get: async (id) => (id === TENANT ? ({ id } as never) : undefined) }, ledger, clock });
  const meter = (on: UsageLedger = ledger) => createUsageMeter({ vms, labs, ledger: on, clock, logger: silent, intervalMs: HOUR });
  const used = async () => (await service.usageOfVm(TENANT, vmName))?.report;
  const setLab = async (change: Partial<LabSpec>) => {
    const lab = (await labs.get(TENANT, spec.name))!;
    await labs.update(TENANT, spec.name, { ...spec, ...change });
    return lab;
  };
  return { clock, labs, vms, ledger, service, meter, used, vmName, student, spec, setLab };
}

export const member = (id: string) => makePrincipal({ id, tenantRoles: [[TENANT, 'member']] });
