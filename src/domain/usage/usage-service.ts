import { authorize } from '../auth/policy.js';
import type { Principal } from '../auth/principal.js';
import type { LabPerson, LabRecord } from '../labs/lab.js';
import type { LabRepository } from '../labs/lab-repository.js';
import { studentVmName } from '../labs/lab-rules.js';
import { classWindows } from '../labs/schedule.js';
import { NotFoundError } from '../shared/errors.js';
import type { Clock } from '../shared/ids.js';
import type { TenantRepository } from '../tenants/tenant-repository.js';
import type { VmRepository } from '../vms/vm-repository.js';
import type { VmRecord } from '../vms/vm.js';
import type { StudentUsage, StudentUsageReader, UsageLedger } from './ports.js';
import { meterUsage, runningSpans, type TimeWindow } from './usage-meter.js';

const HOUR_MS = 3_600_000;
/** How far past now class hours are looked up, for when a running VM's quota runs out (`exhaustsAt`). */
const EXHAUSTS_HORIZON_MS = 14 * 24 * HOUR_MS;

/** One student of a lab and their usage. Without a quota on the lab, only the hours used (and added) are given. */
export interface StudentUsageRow {
  readonly student: Pick<LabPerson, 'id' | 'email' | 'displayName'>;
  readonly vm: string;
  readonly usedHours: number;
  /** The lab's quota; absent when the lab sets none. */
  readonly quotaHours?: number;
  readonly addedHours: number;
  /** Absent without a quota. */
  readonly leftHours?: number;
  readonly exhausted: boolean;
  readonly runningSince?: string;
  readonly exhaustsAt?: string;
}

export interface LabUsage {
  readonly tenant: string;
  readonly lab: string;
  /** ISO 8601: when the figures were computed. */
  readonly at: string;
  readonly quotaHours?: number;
  /** The roster's students, sorted by id. */
  readonly students: readonly StudentUsageRow[];
}

export interface LabUsageTotals {
  readonly lab: string;
  readonly students: number;
  readonly usedHours: number;
  readonly quotaHours?: number;
  readonly exhaustedStudents: number;
}

export interface TenantUsage {
  readonly tenant: string;
  readonly at: string;
  /** Labs sorted by name. */
  readonly labs: readonly LabUsageTotals[];
  /** VMs outside labs: how many there are and the hours they ran (no class hours, no quota). */
  readonly otherVms: { readonly vms: number; readonly usedHours: number };
}

export interface UsageServiceDeps {
  readonly labs: Pick<LabRepository, 'get' | 'list'>;
  readonly vms: Pick<VmRepository, 'get' | 'list'>;
  readonly tenants: Pick<TenantRepository, 'get'>;
  readonly ledger: Pick<UsageLedger, 'transitions'>;
  readonly clock: Clock;
}

export interface UsageService extends StudentUsageReader {
  /** Each roster student's usage against the lab's quota (`lab.read`). */
  labUsage(p: Principal, tenant: string, lab: string): Promise<LabUsage>;
  /** The same figures for the platform itself (metrics): no caller to authorize. */
  labUsageOf(lab: LabRecord): Promise<LabUsage>;
  /** Totals per lab and of the VMs outside labs (`tenant.read` and `lab.read`: owners, integrations, platform admins). */
  tenantUsage(p: Principal, tenant: string): Promise<TenantUsage>;
}

const floorHundredth = (hours: number): number => Math.floor(hours * 100 + 1e-9) / 100;

/** The lab's class hours from its creation (or the first transition, if earlier) to past `now`. */
function exemptWindowsOf(lab: LabRecord, now: Date, earliest: number | undefined): TimeWindow[] {
  const created = Date.parse(lab.createdAt);
  const from = Math.min(Number.isNaN(created) ? now.getTime() : created, earliest ?? Infinity, now.getTime());
  return classWindows(lab, new Date(from), new Date(now.getTime() + EXHAUSTS_HORIZON_MS));
}

/** Lab reports, the tenant summary and the usage reader of the quota refusal (see {@link UsageService}). */
export function createUsageService(deps: UsageServiceDeps): UsageService {
  const { clock, ledger } = deps;

  async function studentRows(lab: LabRecord, students: readonly LabPerson[], now: Date): Promise<StudentUsageRow[]> {
    const quotaHours = lab.costControls?.usageQuotaHours;
    const added = lab.costControls?.addedHours ?? {};
    const all = await Promise.all(students.map((s) => ledger.transitions({ tenant: lab.tenant, name: studentVmName(lab.name, s.id) })));
    const earliest = all
      .flat()
      .map((t) => Date.parse(t.at))
      .filter((t) => !Number.isNaN(t))
      .reduce((a, b) => Math.min(a, b), Infinity);
    const windows = exemptWindowsOf(lab, now, Number.isFinite(earliest) ? earliest : undefined);
    return students.map((s, i) => {
      const addedHours = added[s.id] ?? 0;
      const report = meterUsage({ transitions: all[i] ?? [], exemptWindows: windows, quotaHours: quotaHours ?? 0, addedHours, now });
      const student = {
        id: s.id,
        ...(s.email === undefined ? {} : { email: s.email }),
        ...(s.displayName === undefined ? {} : { displayName: s.displayName }),
      };
      const base = {
        student,
        vm: studentVmName(lab.name, s.id),
        usedHours: report.usedHours,
        addedHours,
        ...(report.runningSince === undefined ? {} : { runningSince: report.runningSince }),
      };
      if (quotaHours === undefined) return { ...base, exhausted: false };
      return {
        ...base,
        quotaHours,
        leftHours: report.leftHours,
        exhausted: report.exhausted,
        ...(report.exhaustsAt === undefined ? {} : { exhaustsAt: report.exhaustsAt }),
      };
    });
  }

  async function visibleTenant(p: Principal, tenant: string): Promise<void> {
    authorize(p, 'lab.read', { tenant });
    if ((await deps.tenants.get(tenant)) === undefined) throw new NotFoundError('tenant', tenant);
  }

  /** Hours a VM outside labs ran: no class hours, no quota. */
  async function otherVmHours(vm: VmRecord, now: Date): Promise<number> {
    const { spans } = runningSpans(await ledger.transitions({ tenant: vm.tenant, name: vm.name }), now.getTime());
    return spans.reduce((sum, s) => sum + (s.end - s.start), 0) / HOUR_MS;
  }

  async function labUsageOf(lab: LabRecord): Promise<LabUsage> {
    const now = clock.now();
    const students = [...lab.students].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return {
      tenant: lab.tenant,
      lab: lab.name,
      at: now.toISOString(),
      ...(lab.costControls?.usageQuotaHours === undefined ? {} : { quotaHours: lab.costControls.usageQuotaHours }),
      students: await studentRows(lab, students, now),
    };
  }

  return {
    async labUsage(p, tenant, name) {
      await visibleTenant(p, tenant);
      const lab = await deps.labs.get(tenant, name);
      if (lab === undefined) throw new NotFoundError('lab', name);
      return labUsageOf(lab);
    },

    labUsageOf,

    async tenantUsage(p, tenant) {
      authorize(p, 'tenant.read', { tenant });
      await visibleTenant(p, tenant);
      const now = clock.now();
      const [labs, vms] = await Promise.all([deps.labs.list(tenant), deps.vms.list(tenant)]);
      const totals = await Promise.all(
        labs.map(async (lab): Promise<LabUsageTotals> => {
          const rows = await studentRows(lab, lab.students, now);
          const quotaHours = lab.costControls?.usageQuotaHours;
          return {
            lab: lab.name,
            students: rows.length,
            usedHours: floorHundredth(rows.reduce((sum, r) => sum + r.usedHours, 0)),
            ...(quotaHours === undefined ? {} : { quotaHours }),
            exhaustedStudents: rows.filter((r) => r.exhausted).length,
          };
        }),
      );
      const others = vms.filter((vm) => vm.lab === undefined);
      const hours = await Promise.all(others.map((vm) => otherVmHours(vm, now)));
      return {
        tenant,
        at: now.toISOString(),
        labs: totals.sort((a, b) => (a.lab < b.lab ? -1 : a.lab > b.lab ? 1 : 0)),
        otherVms: { vms: others.length, usedHours: floorHundredth(hours.reduce((a, b) => a + b, 0)) },
      };
    },

    async usageOfVm(tenant, vmName): Promise<StudentUsage | undefined> {
      const vm = await deps.vms.get(tenant, vmName);
      if (vm?.lab === undefined) return undefined;
      const lab = await deps.labs.get(tenant, vm.lab);
      if (lab?.costControls?.usageQuotaHours === undefined) return undefined;
      const student = lab.students.find((s) => s.id === vm.ownerId && studentVmName(lab.name, s.id) === vmName);
      if (student === undefined) return undefined;
      const now = clock.now();
      const transitions = await ledger.transitions({ tenant, name: vmName });
      const earliest = transitions.map((t) => Date.parse(t.at)).filter((t) => !Number.isNaN(t));
      const report = meterUsage({
        transitions,
        exemptWindows: exemptWindowsOf(lab, now, earliest.length === 0 ? undefined : Math.min(...earliest)),
        quotaHours: lab.costControls.usageQuotaHours,
        addedHours: lab.costControls.addedHours[student.id] ?? 0,
        now,
      });
      return { tenant, lab: lab.name, student: student.id, vm: vmName, report };
    },
  };
}
