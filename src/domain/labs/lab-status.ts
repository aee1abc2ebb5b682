import { toView } from '../vms/vm-view.js';
import type { VmRecord } from '../vms/vm.js';
import type { VmState } from '../vms/vm-state.js';
import type { LabPerson, LabRecord, StudentFailure } from './lab.js';
import { studentVmName } from './lab-rules.js';
import type { LabPhase, LabSummary, LabView, StudentView } from './lab-view.js';
import { nextEvent } from './schedule.js';

/** VM states in which a lab VM without Arc counts as made (a stopped VM stays ready: schedules stop it). */
const USABLE: ReadonlySet<VmState> = new Set<VmState>(['Running', 'Stopped', 'Stopping', 'Migrating', 'Paused']);

/** The lab's VMs by owner (student id), from one tenant's VM list. */
export function labVmsByStudent(lab: Pick<LabRecord, 'name'>, vms: readonly VmRecord[]): Map<string, VmRecord> {
  const out = new Map<string, VmRecord>();
  for (const vm of vms) {
    if (vm.lab !== lab.name) continue;
    // Only the deterministic VM of the student counts: a VM someone labelled by hand is not the lab's.
    if (vm.name !== studentVmName(lab.name, vm.ownerId)) continue;
    out.set(vm.ownerId.toLowerCase(), vm);
  }
  return out;
}

function person(p: LabPerson): LabPerson {
  return {
    id: p.id,
    ...(p.email === undefined ? {} : { email: p.email }),
    ...(p.displayName === undefined ? {} : { displayName: p.displayName }),
    ...(p.lmsUserId === undefined ? {} : { lmsUserId: p.lmsUserId }),
  };
}

/** Where a roster student stands, from their VM (cache) and the failure recorded on the lab. */
export function rosterStudentView(lab: LabRecord, p: LabPerson, vm: VmRecord | undefined, failure: StudentFailure | undefined): StudentView {
  const base = { ...person(p), vm: studentVmName(lab.name, p.id) };
  const view = vm === undefined ? undefined : toView(vm, false);
  const vmPart = view === undefined ? {} : { vmState: view.state, ...(lab.template.arc ? { identityReady: vm?.identity?.ready === true } : {}) };
  if (failure !== undefined)
    return { ...base, ...vmPart, status: 'failed', code: failure.code, reason: failure.reason, operationId: failure.operationId };
  if (vm === undefined || view === undefined) return { ...base, status: 'pending' };
  if (vm.deleting || vm.droppedAt !== undefined) return { ...base, ...vmPart, status: 'provisioning' };
  if (view.state === 'Error')
    return { ...base, ...vmPart, status: 'failed', code: 'VM_ERROR', reason: view.message ?? view.reason ?? 'The VM is in error.' };
  const ready = lab.template.arc ? vm.identity?.ready === true : USABLE.has(view.state);
  return { ...base, ...vmPart, status: ready ? 'ready' : 'provisioning' };
}

/** A student no longer on the roster whose VM still exists. */
export function droppedStudentView(lab: LabRecord, vm: VmRecord): StudentView {
  const view = toView(vm, false);
  const deleteAfter =
    vm.droppedAt === undefined ? undefined : new Date(Date.parse(vm.droppedAt) + lab.dropGracePeriodHours * 3_600_000).toISOString();
  return { id: vm.ownerId, vm: vm.name, vmState: view.state, status: 'dropped', ...(deleteAfter === undefined ? {} : { deleteAfter }) };
}

/** Every student of the lab (roster first, then dropped ones still holding a VM), sorted by id. */
export function studentViews(lab: LabRecord, vms: readonly VmRecord[]): StudentView[] {
  const byStudent = labVmsByStudent(lab, vms);
  const roster = new Set(lab.students.map((s) => s.id));
  const out = lab.students.map((s) => rosterStudentView(lab, s, byStudent.get(s.id), lab.status.failures[s.id]));
  for (const [id, vm] of byStudent) if (!roster.has(id)) out.push(droppedStudentView(lab, vm));
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** The counts by status; `total` is every student listed (their sum, dropped ones included). */
export function summaryOf(students: readonly StudentView[]): LabSummary {
  const s = { total: 0, pending: 0, provisioning: 0, ready: 0, failed: 0, dropped: 0 };
  for (const st of students) {
    s[st.status] += 1;
    s.total += 1;
  }
  return s;
}

/** Students on the roster: every one counted except the dropped ones still holding a VM. */
export function enrolledOf(summary: LabSummary): number {
  return summary.total - summary.dropped;
}

export function phaseOf(lab: LabRecord, summary: LabSummary, now: Date): LabPhase {
  if (lab.status.deletionRequestedAt !== undefined || lab.deleting) return 'Deleting';
  if (lab.endsAt !== undefined && Date.parse(lab.endsAt) <= now.getTime()) return 'Ended';
  if (enrolledOf(summary) === 0) return 'Empty';
  if (summary.pending + summary.provisioning > 0) return 'Provisioning';
  if (summary.failed > 0) return 'Degraded';
  return 'Ready';
}

/** The API view of a lab with its summary. */
export function labView(lab: LabRecord, summary: LabSummary, now: Date): LabView {
  const next = nextEvent(lab, now);
  return {
    tenant: lab.tenant,
    name: lab.name,
    ...(lab.displayName === undefined ? {} : { displayName: lab.displayName }),
    ...(lab.course === undefined ? {} : { course: lab.course }),
    template: lab.template,
    instructors: lab.instructors,
    schedules: lab.schedules,
    ...(lab.endsAt === undefined ? {} : { endsAt: lab.endsAt }),
    dropGracePeriodHours: lab.dropGracePeriodHours,
    endGracePeriodDays: lab.endGracePeriodDays,
    createdAt: lab.createdAt,
    version: lab.version,
    phase: phaseOf(lab, summary, now),
    summary,
    ...(lab.status.lastOperationId === undefined ? {} : { lastOperationId: lab.status.lastOperationId }),
    ...(next === undefined ? {} : { nextScheduledEvent: { action: next.action, at: next.dueAt } }),
    ...(lab.lti === undefined ? {} : { lti: lab.lti }),
    ...(lab.status.ltiSync === undefined ? {} : { ltiSync: lab.status.ltiSync }),
    ...(lab.costControls === undefined ? {} : { costControls: lab.costControls }),
  };
}
