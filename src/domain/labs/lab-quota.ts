import { QUOTA_KEYS, type QuotaUsage } from '../tenants/tenant.js';
import { createNeeds, type QuotaNeeds } from '../vms/vm-quota.js';
import type { VmRecord } from '../vms/vm.js';
import type { LabRecord, LabTemplate } from './lab.js';
import { labVmsByStudent } from './lab-status.js';

/** What `n` student VMs of a template take from the quota (they start running). */
export function studentVmNeeds(template: LabTemplate, n: number): QuotaNeeds {
  return Object.fromEntries(Object.entries(createNeeds({ ...template, running: true })).map(([k, v]) => [k, (v ?? 0) * n]));
}

/**
 * The usage plus what the tenant's labs have promised but not made yet: roster students without a
 * VM (and without a failure) of labs not deleted and not ended are being provisioned, and their
 * VMs are not in the quota's usage yet. Checking against this keeps two labs started together from
 * both passing the check and then failing half their students.
 */
export function withPromised(usage: QuotaUsage, labs: readonly LabRecord[], vms: readonly VmRecord[], now: Date): QuotaUsage {
  const out = { ...usage };
  for (const lab of labs) {
    if (lab.deleting || lab.status.deletionRequestedAt !== undefined || (lab.endsAt !== undefined && Date.parse(lab.endsAt) <= now.getTime()))
      continue;
    const made = labVmsByStudent(lab, vms);
    const waiting = lab.students.filter((s) => !made.has(s.id) && lab.status.failures[s.id] === undefined).length;
    const needs = studentVmNeeds(lab.template, waiting);
    for (const k of QUOTA_KEYS) out[k] += needs[k] ?? 0;
  }
  return out;
}
