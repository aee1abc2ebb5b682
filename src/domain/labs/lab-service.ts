import { isDeepStrictEqual } from 'node:util';
import { authorize } from '../auth/policy.js';
import type { Principal } from '../auth/principal.js';
import type { ImageLocator } from '../images/image-repository.js';
import type { StorageClass } from '../images/image.js';
import type { JsonObject, Operation } from '../operations/operation.js';
import type { OperationService } from '../operations/operation-service.js';
import { ConflictError, NotFoundError, PreconditionFailedError, UnprocessableError } from '../shared/errors.js';
import { systemClock, type Clock } from '../shared/ids.js';
import { pageByKey, type Page, type PageRequest } from '../shared/page.js';
import type { TenantRepository } from '../tenants/tenant-repository.js';
import type { Tenant } from '../tenants/tenant.js';
import { DEFAULT_INSTANCE_TYPES, type InstanceType } from '../vms/instance-types.js';
import { refuseOverQuota } from '../vms/vm-quota.js';
import type { VmRepository } from '../vms/vm-repository.js';
import { diskIssues, refuseIssues, resolveSize } from '../vms/vm-rules.js';
import type { VmRecord } from '../vms/vm.js';
import type { LabLtiBinding } from '../lti/binding.js';
import { LAB_DELETE_KIND, LAB_SYNC_KIND, labTargetId, type LabPerson, type LabRecord, type LabSpec, type LabTemplate } from './lab.js';
import { watchLabProgress } from './lab-progress.js';
import type { LabRepository } from './lab-repository.js';
import {
  createIssues,
  DEFAULT_DROP_GRACE_HOURS,
  DEFAULT_END_GRACE_DAYS,
  MAX_STUDENTS,
  normalizePerson,
  peopleIssues,
  rosterDiff,
  updateIssues,
  vmNameCollisions,
} from './lab-rules.js';
import { studentVmNeeds, withPromised } from './lab-quota.js';
import { labView, labVmsByStudent, rosterStudentView, studentViews, summaryOf } from './lab-status.js';
import type { CreateLabInput, LabListFilter, LabPersonInput, LabTemplateInput, UpdateLabInput } from './lab-inputs.js';
import type { Directory } from '../lti/ports.js';
import { lookupAll } from '../lti/roster.js';
import type { FieldIssue } from '../shared/errors.js';
import { addedHoursIssues, mergeLabCostControls } from '../usage/cost-controls.js';
import { MAX_QUOTA_HOURS } from '../usage/usage-meter.js';
import type { LabProgressEvent, LabView, RosterDiff, StudentStatus, StudentView } from './lab-view.js';

export type { CreateLabInput, LabListFilter, LabPersonInput, LabTemplateInput, UpdateLabInput } from './lab-inputs.js';
import { scheduleIssues } from './schedule.js';
import type { Precondition } from '../shared/precondition.js';

/**
 * Lab use cases. Every method authorizes first (`lab.read` / `lab.write`; another tenant's labs
 * are 404), validates, checks the quota for the whole lab before anything is written, then writes
 * the lab object and starts operations.
 */
export interface LabService {
  list(p: Principal, tenant: string, filter: LabListFilter, page: PageRequest): Promise<Page<LabView>>;
  get(p: Principal, tenant: string, name: string): Promise<LabView>;
  /** Writes the lab and starts its provisioning (`lab.sync`, one `lab.student` child per student). */
  create(p: Principal, tenant: string, input: CreateLabInput): Promise<Operation>;
  /** With `ifMatch` (the lab's `version`), a stale version is PreconditionFailedError. Instructor changes start a `lab.sync`. */
  update(p: Principal, tenant: string, name: string, input: UpdateLabInput, ifMatch?: string): Promise<LabView>;
  /**
   * Binds the lab to an LMS course (LTI Deep Linking): launches from that context land on it, and its
   * roster may follow the course. A lab bound to another course (another registration or context) is
   * ConflictError `LAB_BOUND_ELSEWHERE` unless `rebind` is true. Binding again to the same course
   * refreshes the binding (deployment, title, memberships URL).
   */
  bindLti(p: Principal, tenant: string, name: string, binding: LabLtiBinding, options?: { readonly rebind?: boolean }): Promise<LabView>;
  /** Starts `lab.delete`: every student VM goes (with its Arc machine), then the lab. */
  delete(p: Principal, tenant: string, name: string, precondition?: Precondition<LabRecord>): Promise<Operation>;
  /**
   * Replaces the roster (idempotent): added students are provisioned, removed ones dropped (VM
   * stopped and access revoked at once, VM deleted after the grace period), unchanged ones untouched.
   * People given by email alone are resolved through the directory first (nothing is written when one does not resolve).
   */
  syncRoster(
    p: Principal,
    tenant: string,
    name: string,
    students: readonly LabPersonInput[],
  ): Promise<{ readonly operation: Operation; readonly diff: RosterDiff }>;
  /** Roster students (and dropped students still holding a VM) with their status, sorted by id. */
  students(p: Principal, tenant: string, name: string, filter: { readonly status?: StudentStatus }, page: PageRequest): Promise<Page<StudentView>>;
  /** Provisions one failed (or pending) student again, alone. */
  retryStudent(p: Principal, tenant: string, name: string, studentId: string): Promise<Operation>;
  /**
   * For the platform's housekeeping: starts a sync of a lab whose spec changed without one (written
   * by GitOps); undefined when every generation has been seen.
   */
  reconcile(p: Principal, tenant: string, name: string): Promise<Operation | undefined>;
  /**
   * Adds `hours` (quarters of an hour; negative takes hours back) to what instructors gave a student of
   * the roster beyond the lab's quota; the student's total stays within 0..MAX_QUOTA_HOURS (else 422
   * `ADDED_HOURS_OUT_OF_RANGE`). Written by compare-and-set: concurrent additions all count.
   */
  addUsageHours(
    p: Principal,
    tenant: string,
    name: string,
    studentId: string,
    hours: number,
  ): Promise<{ readonly student: string; readonly addedHours: number }>;
  /** Delivers the lab's progress as its VMs and operations change; authorizes at subscription time. */
  watchProgress(p: Principal, tenant: string, name: string, listener: (event: LabProgressEvent) => void): Promise<{ unsubscribe(): void }>;
}

export interface LabServiceDeps {
  readonly labs: LabRepository;
  readonly vms: Pick<VmRepository, 'list' | 'watch'>;
  readonly tenants: Pick<TenantRepository, 'get' | 'usage'>;
  readonly images: ImageLocator;
  readonly operations: Pick<OperationService, 'start'>;
  readonly instanceTypes?: readonly InstanceType[];
  /** False when VMs with Arc on cannot be onboarded here (no onboarding identity). */
  readonly arcAvailable: boolean;
  /** Resolves people given by email; absent: such people are refused (`LTI_NOT_CONFIGURED`). */
  readonly directory?: Directory;
  readonly clock?: Clock;
}

/** Runs `attempt` again (at most `attempts` times in all) when the lab changed under it and the caller gave no version. */
async function retryStale<T>(retry: boolean, attempt: () => Promise<T>, attempts = 3): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (err) {
      if (!retry || i >= attempts || !(err instanceof PreconditionFailedError)) throw err;
    }
  }
}

/** The spec of a stored lab (what `LabRepository.update` takes). */
export function specOf(lab: LabRecord): LabSpec {
  const { uid: _u, createdAt: _c, version: _v, generation: _g, deleting: _d, status: _s, ...spec } = lab;
  return spec;
}

/** The spec without what no sync acts on (cost controls are read by the idle detector and the meter). */
function syncedPart(spec: LabSpec): Omit<LabSpec, 'costControls'> {
  const { costControls: _cc, ...rest } = spec;
  return rest;
}

/** Lab use cases over the lab repository, the VM cache and the operations (see {@link LabService}). */
export function createLabService(deps: LabServiceDeps): LabService {
  const clock = deps.clock ?? systemClock;
  const catalog = deps.instanceTypes ?? DEFAULT_INSTANCE_TYPES;

  async function tenantOf(p: Principal, id: string, permission: 'lab.read' | 'lab.write'): Promise<Tenant> {
    authorize(p, permission, { tenant: id });
    const t = await deps.tenants.get(id);
    if (t === undefined) throw new NotFoundError('tenant', id);
    return t;
  }

  async function load(p: Principal, tenant: string, name: string, permission: 'lab.read' | 'lab.write'): Promise<{ tenant: Tenant; lab: LabRecord }> {
    const t = await tenantOf(p, tenant, permission);
    const lab = await deps.labs.get(tenant, name);
    if (lab === undefined) throw new NotFoundError('lab', name);
    return { tenant: t, lab };
  }

  async function viewOf(lab: LabRecord, vms?: readonly VmRecord[]): Promise<LabView> {
    const students = studentViews(lab, vms ?? (await deps.vms.list(lab.tenant)));
    return labView(lab, summaryOf(students), clock.now());
  }

  async function resolveTemplate(tenant: Tenant, t: LabTemplateInput): Promise<LabTemplate> {
    const size = resolveSize({ instanceType: t.instanceType, cpu: t.cpu, memoryGi: t.memoryGi }, tenant.profile, tenant.vmCaps, catalog);
    let image;
    try {
      image = await deps.images.resolve(tenant.id, t.image);
    } catch (err) {
      if (err instanceof NotFoundError)
        throw new UnprocessableError('IMAGE_NOT_FOUND', `There is no ${t.image.scope} image '${t.image.name}'.`, {
          details: { image: { ...t.image } },
        });
      throw err;
    }
    refuseIssues(
      'The disk is too small.',
      diskIssues(t.diskGi, image.sizeGi).map((i) => ({ ...i, field: `/template${i.field}` })),
    );
    if (!image.ready) throw new ConflictError('IMAGE_NOT_READY', `Image '${t.image.name}' is still importing; create the lab once it is Ready.`);
    const arc = t.arc ?? false;
    if (arc && !deps.arcAvailable) {
      throw new ConflictError(
        'ARC_ONBOARDING_NOT_CONFIGURED',
        'Azure Arc onboarding is not configured on this platform (no onboarding identity); create the lab with arc: false or ask an administrator.',
      );
    }
    return {
      image: { scope: t.image.scope, name: t.image.name },
      ...size,
      diskGi: t.diskGi,
      storageClass: t.storageClass as StorageClass,
      arc,
      studentRole: t.studentRole ?? 'user',
      sshPublicKeys: [...(t.sshPublicKeys ?? [])],
    };
  }

  /** The whole lab's need, beside what other labs still have to make, checked before anything is written. */
  async function refuseOverLabQuota(tenant: Tenant, template: LabTemplate, newVms: number, what: string): Promise<void> {
    if (newVms === 0) return;
    const [usage, labs, vms] = await Promise.all([deps.tenants.usage(tenant.id), deps.labs.list(tenant.id), deps.vms.list(tenant.id)]);
    const counted = withPromised(usage, labs, vms, clock.now());
    refuseOverQuota(studentVmNeeds(template, newVms), tenant.quota, counted, `${what} (${newVms} new student VM${newVms === 1 ? '' : 's'})`);
  }

  async function startSync(
    p: Principal,
    lab: LabRecord,
    reason: 'create' | 'roster' | 'update' | 'retry' | 'reconcile',
    extra: JsonObject = {},
  ): Promise<Operation> {
    const op = await deps.operations.start(p, {
      kind: LAB_SYNC_KIND,
      tenant: lab.tenant,
      target: { type: 'lab', id: labTargetId(lab.tenant, lab.name), name: lab.name },
      input: {
        tenant: lab.tenant,
        lab: lab.name,
        reason,
        generation: lab.generation,
        ...(lab.status.lastOperationId === undefined ? {} : { previous: lab.status.lastOperationId }),
        ...extra,
      },
    });
    await deps.labs.updateStatus(lab.tenant, lab.name, (s) => ({
      ...s,
      observedGeneration: Math.max(s.observedGeneration ?? 0, lab.generation),
      lastOperationId: op.id,
    }));
    return op;
  }

  /**
   * A spec write no sync needs (cost controls only) is recorded as seen, so housekeeping starts no
   * `lab.sync` for it (`reconcile`: generation above observedGeneration). Only when every earlier
   * generation was seen: a change written outside the API before it still gets its sync.
   */
  async function settleWithoutSync(before: LabRecord, after: LabRecord): Promise<void> {
    if (after.generation <= before.generation || !isDeepStrictEqual(syncedPart(specOf(before)), syncedPart(specOf(after)))) return;
    await deps.labs.updateStatus(after.tenant, after.name, (s) => {
      const seen = s.observedGeneration ?? 0;
      return seen >= before.generation && seen < after.generation ? { ...s, observedGeneration: after.generation } : undefined;
    });
  }

  function refuseDeleting(lab: LabRecord): void {
    if (lab.status.deletionRequestedAt !== undefined || lab.deleting) throw new ConflictError('LAB_DELETING', `Lab '${lab.name}' is being deleted.`);
  }

  /**
   * People given by email alone become the directory user the address names (the given display
   * name kept, else the directory's). Every address that names no user, or several, is one
   * `errors[]` entry of a 422 `EMAIL_NOT_RESOLVED`; nothing is written then.
   */
  async function resolvePeople<K extends string>(
    groups: Readonly<Record<K, readonly LabPersonInput[] | undefined>>,
  ): Promise<Record<K, LabPerson[] | undefined>> {
    const entries = Object.entries(groups) as [K, readonly LabPersonInput[] | undefined][];
    const byEmail = entries.flatMap(([, people]) => (people ?? []).filter((x) => x.id === undefined).map((x) => x.email.toLowerCase()));
    if (byEmail.length > 0 && deps.directory === undefined)
      throw new ConflictError('LTI_NOT_CONFIGURED', 'No directory is configured on this platform: give people by their object id (id).');
    const found = byEmail.length === 0 || deps.directory === undefined ? new Map() : await lookupAll(deps.directory, byEmail);
    const issues: FieldIssue[] = [];
    const out = {} as Record<K, LabPerson[] | undefined>;
    for (const [key, people] of entries) {
      out[key] = people?.map((x, i) => {
        if (x.id !== undefined) return x;
        const match = found.get(x.email.toLowerCase()) ?? 'not-found';
        if (typeof match === 'string') {
          const reason = match === 'ambiguous' ? 'ambiguous' : 'not-in-directory';
          issues.push({
            field: `/${key}/${i}/email`,
            reason,
            message: reason === 'ambiguous' ? 'several directory users have this address' : 'no directory user has this address',
          });
          return { id: '', email: x.email };
        }
        const displayName = x.displayName ?? match.displayName;
        return {
          id: match.id.toLowerCase(),
          email: x.email,
          ...(displayName === undefined ? {} : { displayName }),
          ...(x.lmsUserId === undefined ? {} : { lmsUserId: x.lmsUserId }),
        };
      });
    }
    if (issues.length > 0)
      throw new UnprocessableError('EMAIL_NOT_RESOLVED', `${issues.length} email address(es) do not name exactly one directory user.`, { issues });
    return out;
  }

  async function updateOnce(p: Principal, tenantId: string, name: string, input: UpdateLabInput, ifMatch: string | undefined): Promise<LabView> {
    const { tenant, lab } = await load(p, tenantId, name, 'lab.write');
    refuseDeleting(lab);
    refuseIssues('The change is not acceptable.', [
      ...updateIssues(input),
      ...(input.schedules === undefined && input.endsAt === undefined
        ? []
        : scheduleIssues(input.schedules ?? lab.schedules, input.endsAt === null ? undefined : (input.endsAt ?? lab.endsAt))),
    ]);
    if (ifMatch !== undefined && ifMatch !== lab.version)
      throw new PreconditionFailedError('VERSION_MISMATCH', `Lab '${name}' has changed since version ${ifMatch}; read it again.`, {
        details: { version: lab.version },
      });
    const template = input.template === undefined ? lab.template : await resolveTemplate(tenant, input.template);
    const next: Record<string, unknown> = { ...specOf(lab), template };
    // Absent fields stay, null clears an optional one.
    const set = (key: keyof UpdateLabInput, value: unknown) => {
      if (value === null) delete next[key];
      else if (value !== undefined) next[key] = value;
    };
    set('displayName', input.displayName);
    set('course', input.course === undefined || input.course === null ? input.course : { lms: input.course.lms, courseId: input.course.courseId });
    set(
      'instructors',
      input.instructors?.map((x) => normalizePerson(x as LabPerson)),
    );
    set('schedules', input.schedules === undefined ? undefined : [...input.schedules]);
    set('endsAt', input.endsAt);
    set('dropGracePeriodHours', input.dropGracePeriodHours);
    set('endGracePeriodDays', input.endGracePeriodDays);
    set('costControls', input.costControls === undefined ? undefined : mergeLabCostControls(input.costControls, lab.costControls));
    const updated = await deps.labs.update(tenantId, name, next as unknown as LabSpec, ifMatch ?? lab.version);
    await settleWithoutSync(lab, updated);
    const before = new Set(lab.instructors.map((i) => i.id));
    const after = new Set(updated.instructors.map((i) => i.id));
    const added = [...after].filter((i) => !before.has(i));
    const removed = [...before].filter((i) => !after.has(i));
    if (updated.template.arc && (added.length > 0 || removed.length > 0)) await startSync(p, updated, 'update', { instructors: { added, removed } });
    return viewOf((await deps.labs.get(tenantId, name)) ?? updated);
  }

  async function syncRosterOnce(
    p: Principal,
    tenantId: string,
    name: string,
    roster: readonly LabPerson[],
  ): Promise<{ operation: Operation; diff: RosterDiff }> {
    const { tenant, lab } = await load(p, tenantId, name, 'lab.write');
    refuseDeleting(lab);
    const students = roster.map(normalizePerson);
    refuseIssues('The roster is not acceptable.', [...peopleIssues(roster, '/students', MAX_STUDENTS), ...vmNameCollisions(name, students)]);
    const diff = rosterDiff(lab.students, students);
    const existing = labVmsByStudent(lab, await deps.vms.list(tenantId));
    await refuseOverLabQuota(tenant, lab.template, diff.added.filter((id) => !existing.has(id)).length, `The roster of lab '${name}'`);
    const changed = diff.added.length > 0 || diff.removed.length > 0 || diff.updated.length > 0;
    const current = changed ? await deps.labs.update(tenantId, name, { ...specOf(lab), students }, lab.version) : lab;
    if (diff.removed.length > 0 && Object.keys(current.status.failures).some((id) => diff.removed.includes(id))) {
      await deps.labs.updateStatus(tenantId, name, (s) => ({
        ...s,
        failures: Object.fromEntries(Object.entries(s.failures).filter(([id]) => !diff.removed.includes(id))),
      }));
    }
    const operation = await startSync(p, current, 'roster', {
      diff: { added: [...diff.added], removed: [...diff.removed], updated: [...diff.updated], unchanged: diff.unchanged },
    });
    return { operation, diff };
  }

  return {
    async list(p, tenant, filter, page) {
      await tenantOf(p, tenant, 'lab.read');
      const labs = (await deps.labs.list(tenant)).filter(
        (l) =>
          (filter.lms === undefined || l.course?.lms === filter.lms) && (filter.courseId === undefined || l.course?.courseId === filter.courseId),
      );
      const vms = await deps.vms.list(tenant);
      if (filter.phase === undefined) {
        const res = pageByKey(labs, (l) => l.name, page);
        const items = await Promise.all(res.items.map((l) => viewOf(l, vms)));
        return res.nextCursor === undefined ? { items } : { items, nextCursor: res.nextCursor };
      }
      const views = (await Promise.all(labs.map((l) => viewOf(l, vms)))).filter((v) => v.phase === filter.phase);
      return pageByKey(views, (v) => v.name, page);
    },

    async get(p, tenant, name) {
      return viewOf((await load(p, tenant, name, 'lab.read')).lab);
    },

    async create(p, tenantId, given) {
      const tenant = await tenantOf(p, tenantId, 'lab.write');
      const people = await resolvePeople({ instructors: given.instructors, students: given.students });
      const input: CreateLabInput = {
        ...given,
        ...(people.instructors === undefined ? {} : { instructors: people.instructors }),
        ...(people.students === undefined ? {} : { students: people.students }),
      };
      const students = (input.students ?? []).map((x) => normalizePerson(x as LabPerson));
      refuseIssues('The lab is not acceptable.', [
        ...createIssues(input),
        ...scheduleIssues(input.schedules ?? [], input.endsAt),
        ...vmNameCollisions(input.name, students),
      ]);
      if ((await deps.labs.get(tenantId, input.name)) !== undefined)
        throw new ConflictError('LAB_EXISTS', `A lab named '${input.name}' already exists in tenant '${tenantId}'.`);
      const template = await resolveTemplate(tenant, input.template);
      await refuseOverLabQuota(tenant, template, students.length, `Lab '${input.name}'`);
      const spec: LabSpec = {
        tenant: tenantId,
        name: input.name,
        ...(input.displayName === undefined ? {} : { displayName: input.displayName }),
        ...(input.course === undefined ? {} : { course: { lms: input.course.lms, courseId: input.course.courseId } }),
        template,
        instructors: (input.instructors ?? []).map((x) => normalizePerson(x as LabPerson)),
        students,
        schedules: [...(input.schedules ?? [])],
        ...(input.endsAt === undefined ? {} : { endsAt: input.endsAt }),
        dropGracePeriodHours: input.dropGracePeriodHours ?? DEFAULT_DROP_GRACE_HOURS,
        endGracePeriodDays: input.endGracePeriodDays ?? DEFAULT_END_GRACE_DAYS,
        costControls: mergeLabCostControls(input.costControls ?? {}),
      };
      const lab = await deps.labs.create(spec);
      return startSync(p, lab, 'create', { diff: { added: students.map((s) => s.id).sort(), removed: [], updated: [], unchanged: 0 } });
    },

    async update(p, tenantId, name, given, ifMatch) {
      let input = given;
      if (given.instructors?.some((x) => x.id === undefined)) {
        await load(p, tenantId, name, 'lab.write');
        const { instructors } = await resolvePeople({ instructors: given.instructors });
        input = { ...given, ...(instructors === undefined ? {} : { instructors }) };
      }
      return retryStale(ifMatch === undefined, () => updateOnce(p, tenantId, name, input, ifMatch));
    },

    async bindLti(p, tenantId, name, binding, options = {}) {
      return retryStale(true, async () => {
        const { lab } = await load(p, tenantId, name, 'lab.write');
        refuseDeleting(lab);
        const current = lab.lti;
        if (
          current !== undefined &&
          (current.registrationId !== binding.registrationId || current.contextId !== binding.contextId) &&
          options.rebind !== true
        ) {
          throw new ConflictError(
            'LAB_BOUND_ELSEWHERE',
            `Lab '${name}' is bound to another course${current.contextTitle === undefined ? '' : ` ('${current.contextTitle}')`}; confirm re-binding to move it.`,
          );
        }
        const updated = await deps.labs.update(tenantId, name, { ...specOf(lab), lti: { ...binding } }, lab.version);
        return viewOf(updated);
      });
    },

    async delete(p, tenantId, name, precondition) {
      const { lab } = await load(p, tenantId, name, 'lab.write');
      precondition?.(lab);
      refuseDeleting(lab);
      await deps.labs.updateStatus(tenantId, name, (s) =>
        s.deletionRequestedAt === undefined ? { ...s, deletionRequestedAt: clock.now().toISOString() } : undefined,
      );
      const op = await deps.operations.start(p, {
        kind: LAB_DELETE_KIND,
        tenant: tenantId,
        target: { type: 'lab', id: labTargetId(tenantId, name), name },
        input: { tenant: tenantId, lab: name, ...(lab.status.lastOperationId === undefined ? {} : { previous: lab.status.lastOperationId }) },
      });
      // A worker may have finished the deletion already (an empty lab is gone within milliseconds):
      // the deletion asked for is under way or done, so that is no reason to answer 404.
      await deps.labs
        .updateStatus(tenantId, name, (s) => ({ ...s, lastOperationId: op.id }))
        .catch((err: unknown) => {
          if (!(err instanceof NotFoundError)) throw err;
        });
      return op;
    },

    async syncRoster(p, tenantId, name, given) {
      let roster = given as readonly LabPerson[];
      if (given.some((x) => x.id === undefined)) {
        await load(p, tenantId, name, 'lab.write');
        roster = (await resolvePeople({ students: given })).students ?? [];
      }
      return retryStale(true, () => syncRosterOnce(p, tenantId, name, roster));
    },

    async students(p, tenantId, name, filter, page) {
      const { lab } = await load(p, tenantId, name, 'lab.read');
      const all = studentViews(lab, await deps.vms.list(tenantId));
      return pageByKey(filter.status === undefined ? all : all.filter((s) => s.status === filter.status), (s) => s.id, page);
    },

    async retryStudent(p, tenantId, name, studentId) {
      const { tenant, lab } = await load(p, tenantId, name, 'lab.write');
      refuseDeleting(lab);
      const id = studentId.toLowerCase();
      const student = lab.students.find((s) => s.id === id);
      if (student === undefined) throw new NotFoundError('student', studentId);
      const vm = labVmsByStudent(lab, await deps.vms.list(tenantId)).get(id);
      const view = rosterStudentView(lab, student, vm, lab.status.failures[id]);
      if (view.status !== 'failed' && view.status !== 'pending') {
        throw new ConflictError('STUDENT_NOT_FAILED', `Student '${studentId}' is ${view.status}; only a failed or pending student can be retried.`, {
          details: { status: view.status },
        });
      }
      if (vm === undefined) await refuseOverLabQuota(tenant, lab.template, 1, `Student '${studentId}' of lab '${name}'`);
      await deps.labs.updateStatus(tenantId, name, (s) =>
        s.failures[id] === undefined ? undefined : { ...s, failures: Object.fromEntries(Object.entries(s.failures).filter(([k]) => k !== id)) },
      );
      return startSync(p, lab, 'retry', { students: [id] });
    },

    async reconcile(p, tenantId, name) {
      const { lab } = await load(p, tenantId, name, 'lab.write');
      if (lab.status.deletionRequestedAt !== undefined || lab.generation <= (lab.status.observedGeneration ?? 0)) return undefined;
      return startSync(p, lab, 'reconcile');
    },

    async addUsageHours(p, tenantId, name, studentId, hours) {
      await tenantOf(p, tenantId, 'lab.write');
      refuseIssues('The hours are not acceptable.', addedHoursIssues(hours));
      const id = studentId.toLowerCase();
      return retryStale(
        true,
        async () => {
          const { lab } = await load(p, tenantId, name, 'lab.write');
          refuseDeleting(lab);
          if (!lab.students.some((s) => s.id === id)) throw new NotFoundError('student', studentId);
          const controls = lab.costControls;
          if (controls === undefined) {
            throw new ConflictError(
              'LAB_COST_CONTROLS_UNSET',
              `Lab '${name}' has no cost controls (it was made before they existed); set them with a PATCH of costControls first.`,
            );
          }
          const current = controls.addedHours[id] ?? 0;
          const total = current + hours;
          if (total < 0 || total > MAX_QUOTA_HOURS) {
            throw new UnprocessableError(
              'ADDED_HOURS_OUT_OF_RANGE',
              `Student '${id}' has ${current} added hour(s); adding ${hours} would make ${total}, outside 0 to ${MAX_QUOTA_HOURS}.`,
              {
                details: { student: id, addedHours: current, hours, min: 0, max: MAX_QUOTA_HOURS },
                issues: [{ field: '/hours', message: `the student's added hours must stay within 0 and ${MAX_QUOTA_HOURS} (now ${current})` }],
              },
            );
          }
          const addedHours: Record<string, number> = { ...controls.addedHours, [id]: total };
          if (total === 0) delete addedHours[id];
          const updated = await deps.labs.update(tenantId, name, { ...specOf(lab), costControls: { ...controls, addedHours } }, lab.version);
          await settleWithoutSync(lab, updated);
          return { student: id, addedHours: total };
        },
        5,
      );
    },

    async watchProgress(p, tenantId, name, listener) {
      await load(p, tenantId, name, 'lab.read');
      return watchLabProgress({ labs: deps.labs, vms: deps.vms, clock }, tenantId, name, listener);
    },
  };
}
