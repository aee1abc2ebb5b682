import type { Principal } from '../auth/principal.js';
import { ConflictError } from '../shared/errors.js';
import type { StartGate } from '../vms/vm-actions.js';
import type { VmRecord } from '../vms/vm.js';
import type { StudentUsageReader } from './ports.js';

/**
 * Whether the quota applies to who starts the VM: a tenant member (the student, acting on their own
 * VM). Tenant owners, platform administrators and integrations (instructors act through these) start
 * it whatever the quota; the lab's scheduled starts run as the platform and are never refused.
 */
export function quotaAppliesTo(p: Principal, vm: Pick<VmRecord, 'tenant'>): boolean {
  if (p.platformAdmin || p.integrationTenants.has(vm.tenant)) return false;
  return p.tenantRoles.get(vm.tenant) === 'member';
}

/** Refuses a student's start of their lab VM once their quota is used: 409 `USAGE_QUOTA_EXHAUSTED` with the figures. */
export function createQuotaGate(reader: StudentUsageReader): StartGate {
  return {
    async refuseStart(p, vm) {
      if (vm.lab === undefined || !quotaAppliesTo(p, vm)) return;
      const usage = await reader.usageOfVm(vm.tenant, vm.name);
      if (usage === undefined || !usage.report.exhausted) return;
      const { usedHours, quotaHours, addedHours, leftHours } = usage.report;
      throw new ConflictError(
        'USAGE_QUOTA_EXHAUSTED',
        `You have used the ${quotaHours + addedHours} hours of your quota in lab '${usage.lab}' (class hours do not count); ask your instructor for more hours.`,
        { details: { usedHours, quotaHours, addedHours, leftHours } },
      );
    },
  };
}
