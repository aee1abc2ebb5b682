import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CourseRef, LabPerson, LabSchedule, LabTemplate } from '../../domain/labs/lab.js';
import type { CreateLabInput, LabListFilter, LabPersonInput, LabService, LabTemplateInput, UpdateLabInput } from '../../domain/labs/lab-service.js';
import type { LtiSyncStatus } from '../../domain/lti/binding.js';
import type { LtiRosterSyncService } from '../../domain/lti/roster-sync.js';
import type { LabPhase, LabSummary, LabView, RosterDiff, StudentStatus, StudentView } from '../../domain/labs/lab-view.js';
import { etagOf, ifMatchPrecondition, ifMatchVersion } from './etag.js';
import { DEFAULT_PAGE_LIMIT, type PageRequest } from '../../domain/shared/page.js';
import type { components } from '../generated/openapi.js';
import { principalOf } from '../plugins/auth.js';
import { accepted, operationDto, sendAccepted } from './operations.js';
import { labCostControlsDto, labCostControlsInputOf } from './cost-controls.js';

type Schemas = components['schemas'];
type Req<P = unknown, Q = unknown, B = unknown, H = unknown> = FastifyRequest<{ Params: P; Querystring: Q; Body: B; Headers: H }>;
type LabParams = { tenant: string; lab: string };
type PageQuery = { limit?: number; cursor?: string };

/** A person as sent (`LabPersonInput`: the contract checks that `id` or `email` is there). */
export interface PersonBody {
  readonly id?: string | null | undefined;
  readonly email?: string | null | undefined;
  readonly displayName?: string | null | undefined;
  readonly lmsUserId?: string | null | undefined;
}

/** The people of a body (typed `unknown` by the generator, which cannot type `anyOf` of `required`). */
function peopleOf(people: readonly unknown[]): LabPersonInput[] {
  return (people as readonly PersonBody[]).map(personOf);
}

/**
 * Azure AD object ids are compared in lower case; the contract accepts either case. Without an id,
 * the person is given by email (resolved through the directory by the use case).
 */
export function personOf(p: PersonBody): LabPersonInput {
  const rest = {
    ...(p.displayName == null ? {} : { displayName: p.displayName }),
    ...(p.lmsUserId == null ? {} : { lmsUserId: p.lmsUserId }),
  };
  if (p.id == null) return { email: p.email ?? '', ...rest };
  return { id: p.id.toLowerCase(), ...(p.email == null ? {} : { email: p.email }), ...rest };
}

export function personDto(p: LabPerson): Schemas['LabPerson'] {
  return {
    id: p.id,
    ...(p.email === undefined ? {} : { email: p.email }),
    ...(p.displayName === undefined ? {} : { displayName: p.displayName }),
    ...(p.lmsUserId === undefined ? {} : { lmsUserId: p.lmsUserId }),
  };
}

export function ltiSyncDto(s: LtiSyncStatus): Schemas['LtiSyncStatus'] {
  return {
    at: s.at,
    trigger: s.trigger,
    outcome: s.outcome,
    ...(s.code === undefined ? {} : { code: s.code }),
    ...(s.message === undefined ? {} : { message: s.message }),
    ...(s.operationId === undefined ? {} : { operationId: s.operationId }),
    ...(s.members === undefined ? {} : { members: s.members }),
    ...(s.students === undefined ? {} : { students: s.students }),
    ...(s.instructors === undefined ? {} : { instructors: s.instructors }),
    ...(s.unresolved === undefined
      ? {}
      : {
          unresolved: s.unresolved.map((u) => ({
            lmsUserId: u.lmsUserId,
            ...(u.email === undefined ? {} : { email: u.email }),
            ...(u.name === undefined ? {} : { name: u.name }),
            role: u.role,
            reason: u.reason,
          })),
        }),
  };
}

/** A schedule copied field by field; the wire and domain shapes are the same, so requests use it too. */
export function scheduleDto(s: LabSchedule): Schemas['LabSchedule'] {
  return {
    name: s.name,
    days: [...s.days],
    ...(s.startTime === undefined ? {} : { startTime: s.startTime }),
    ...(s.stopTime === undefined ? {} : { stopTime: s.stopTime }),
    timeZone: s.timeZone,
    ...(s.startDate === undefined ? {} : { startDate: s.startDate }),
    ...(s.endDate === undefined ? {} : { endDate: s.endDate }),
  };
}

export function templateDto(t: LabTemplate): Schemas['LabTemplate'] {
  return {
    image: { scope: t.image.scope, name: t.image.name },
    ...(t.instanceType === undefined ? {} : { instanceType: t.instanceType }),
    cpu: t.cpu,
    memoryGi: t.memoryGi,
    diskGi: t.diskGi,
    storageClass: t.storageClass,
    arc: t.arc,
    studentRole: t.studentRole,
    sshPublicKeys: [...t.sshPublicKeys],
  };
}

export function templateInputOf(t: Schemas['LabTemplateInput']): LabTemplateInput {
  return {
    image: { scope: t.image.scope, name: t.image.name },
    ...(t.instanceType === undefined ? {} : { instanceType: t.instanceType }),
    ...(t.cpu === undefined ? {} : { cpu: t.cpu }),
    ...(t.memoryGi === undefined ? {} : { memoryGi: t.memoryGi }),
    diskGi: t.diskGi,
    storageClass: t.storageClass,
    ...(t.arc === undefined ? {} : { arc: t.arc }),
    ...(t.studentRole === undefined ? {} : { studentRole: t.studentRole }),
    ...(t.sshPublicKeys === undefined ? {} : { sshPublicKeys: [...t.sshPublicKeys] }),
  };
}

export function summaryDto(s: LabSummary): Schemas['LabSummary'] {
  return { total: s.total, pending: s.pending, provisioning: s.provisioning, ready: s.ready, failed: s.failed, dropped: s.dropped };
}

/** The wire shape of a lab (the generated contract type keeps it honest). */
export function labDto(l: LabView): Schemas['Lab'] {
  return {
    tenant: l.tenant,
    name: l.name,
    ...(l.displayName === undefined ? {} : { displayName: l.displayName }),
    ...(l.course === undefined ? {} : { course: { lms: l.course.lms, courseId: l.course.courseId } }),
    template: templateDto(l.template),
    instructors: l.instructors.map(personDto),
    schedules: l.schedules.map(scheduleDto),
    ...(l.endsAt === undefined ? {} : { endsAt: l.endsAt }),
    dropGracePeriodHours: l.dropGracePeriodHours,
    endGracePeriodDays: l.endGracePeriodDays,
    createdAt: l.createdAt,
    version: l.version,
    phase: l.phase,
    summary: summaryDto(l.summary),
    ...(l.lastOperationId === undefined ? {} : { lastOperationId: l.lastOperationId }),
    ...(l.nextScheduledEvent === undefined ? {} : { nextScheduledEvent: { action: l.nextScheduledEvent.action, at: l.nextScheduledEvent.at } }),
    ...(l.lti === undefined
      ? {}
      : {
          lti: {
            registrationId: l.lti.registrationId,
            deploymentId: l.lti.deploymentId,
            contextId: l.lti.contextId,
            ...(l.lti.contextTitle === undefined ? {} : { contextTitle: l.lti.contextTitle }),
            ...(l.lti.membershipsUrl === undefined ? {} : { membershipsUrl: l.lti.membershipsUrl }),
            boundAt: l.lti.boundAt,
          },
        }),
    ...(l.ltiSync === undefined ? {} : { ltiSync: ltiSyncDto(l.ltiSync) }),
    ...(l.costControls === undefined ? {} : { costControls: labCostControlsDto(l.costControls) }),
  };
}

export function studentDto(s: StudentView): Schemas['Student'] {
  return {
    ...personDto(s),
    status: s.status,
    vm: s.vm,
    ...(s.vmState === undefined ? {} : { vmState: s.vmState }),
    ...(s.identityReady === undefined ? {} : { identityReady: s.identityReady }),
    ...(s.code === undefined ? {} : { code: s.code }),
    ...(s.reason === undefined ? {} : { reason: s.reason }),
    ...(s.operationId === undefined ? {} : { operationId: s.operationId }),
    ...(s.deleteAfter === undefined ? {} : { deleteAfter: s.deleteAfter }),
  };
}

export function rosterDiffDto(d: RosterDiff): Schemas['RosterDiff'] {
  return { added: [...d.added], removed: [...d.removed], updated: [...d.updated], unchanged: d.unchanged };
}

/** The use-case input of a create request (the contract has validated its shape). */
export function createLabInputOf(b: Schemas['LabCreate']): CreateLabInput {
  return {
    name: b.name,
    ...(b.displayName === undefined ? {} : { displayName: b.displayName }),
    ...(b.course === undefined ? {} : { course: courseOf(b.course) }),
    template: templateInputOf(b.template),
    ...(b.instructors === undefined ? {} : { instructors: peopleOf(b.instructors) }),
    ...(b.students === undefined ? {} : { students: peopleOf(b.students) }),
    ...(b.schedules === undefined ? {} : { schedules: b.schedules.map(scheduleDto) }),
    ...(b.endsAt === undefined ? {} : { endsAt: b.endsAt }),
    ...(b.dropGracePeriodHours === undefined ? {} : { dropGracePeriodHours: b.dropGracePeriodHours }),
    ...(b.endGracePeriodDays === undefined ? {} : { endGracePeriodDays: b.endGracePeriodDays }),
    ...(b.costControls === undefined ? {} : { costControls: labCostControlsInputOf(b.costControls) }),
  };
}

/** The use-case input of a PATCH: absent stays absent, `null` clears (displayName, course, endsAt). */
export function updateLabInputOf(b: Schemas['LabPatch']): UpdateLabInput {
  return {
    ...(b.displayName === undefined ? {} : { displayName: b.displayName }),
    ...(b.course === undefined ? {} : { course: b.course === null ? null : courseOf(b.course) }),
    ...(b.template === undefined ? {} : { template: templateInputOf(b.template) }),
    ...(b.instructors === undefined ? {} : { instructors: peopleOf(b.instructors) }),
    ...(b.schedules === undefined ? {} : { schedules: b.schedules.map(scheduleDto) }),
    ...(b.endsAt === undefined ? {} : { endsAt: b.endsAt }),
    ...(b.dropGracePeriodHours === undefined ? {} : { dropGracePeriodHours: b.dropGracePeriodHours }),
    ...(b.endGracePeriodDays === undefined ? {} : { endGracePeriodDays: b.endGracePeriodDays }),
    ...(b.costControls === undefined ? {} : { costControls: labCostControlsInputOf(b.costControls) }),
  };
}

function courseOf(c: { lms: string; courseId: string }): CourseRef {
  return { lms: c.lms, courseId: c.courseId };
}

export function labFilterOf(q: {
  lms?: string | null | undefined;
  courseId?: string | null | undefined;
  phase?: LabPhase | null | undefined;
}): LabListFilter {
  return {
    ...(q.lms == null ? {} : { lms: q.lms }),
    ...(q.courseId == null ? {} : { courseId: q.courseId }),
    ...(q.phase == null ? {} : { phase: q.phase }),
  };
}

function pageOf(q: PageQuery): PageRequest {
  return { limit: q.limit ?? DEFAULT_PAGE_LIMIT, ...(q.cursor === undefined ? {} : { cursor: q.cursor }) };
}

/** REST handlers for course labs and their rosters, keyed by the contract's operationIds. */
export function labHandlers(labs: LabService, lti: Pick<LtiRosterSyncService, 'syncFromLms'>) {
  return {
    async listLabs(req: Req<{ tenant: string }, PageQuery & { lms?: string; courseId?: string; phase?: LabPhase }>) {
      const page = await labs.list(principalOf(req), req.params.tenant, labFilterOf(req.query), pageOf(req.query));
      const body: Schemas['LabList'] = { items: page.items.map(labDto) };
      if (page.nextCursor !== undefined) body.nextCursor = page.nextCursor;
      return body;
    },

    async createLab(req: Req<{ tenant: string }, unknown, Schemas['LabCreate']>, reply: FastifyReply) {
      return sendAccepted(reply, await labs.create(principalOf(req), req.params.tenant, createLabInputOf(req.body)));
    },

    async getLab(req: Req<LabParams>, reply: FastifyReply) {
      const lab = await labs.get(principalOf(req), req.params.tenant, req.params.lab);
      return reply.header('etag', etagOf(lab.version)).send(labDto(lab));
    },

    async updateLab(req: Req<LabParams, unknown, Schemas['LabPatch'], { 'if-match'?: string }>, reply: FastifyReply) {
      const lab = await labs.update(
        principalOf(req),
        req.params.tenant,
        req.params.lab,
        updateLabInputOf(req.body),
        ifMatchVersion(req.headers['if-match']),
      );
      return reply.header('etag', etagOf(lab.version)).send(labDto(lab));
    },

    async deleteLab(req: Req<LabParams, unknown, unknown, { 'if-match'?: string }>, reply: FastifyReply) {
      const { tenant, lab } = req.params;
      const precondition = ifMatchPrecondition(req.headers['if-match'], (l: { version: string }) => l.version, `Lab '${lab}'`);
      return sendAccepted(reply, await labs.delete(principalOf(req), tenant, lab, precondition));
    },

    /** 202 with the operation and the diff; `Location` / `Operation-Location` name the operation. */
    async syncLabRoster(req: Req<LabParams, unknown, Schemas['LabRoster']>, reply: FastifyReply) {
      const { operation, diff } = await labs.syncRoster(principalOf(req), req.params.tenant, req.params.lab, peopleOf(req.body.students));
      const body: Schemas['RosterSyncAccepted'] = { operation: operationDto(operation), diff: rosterDiffDto(diff) };
      return accepted(reply, operation).send(body);
    },

    async syncLabFromLms(req: Req<LabParams>, reply: FastifyReply) {
      return sendAccepted(reply, await lti.syncFromLms(principalOf(req), req.params.tenant, req.params.lab));
    },

    async listLabStudents(req: Req<LabParams, PageQuery & { status?: StudentStatus }>) {
      const q = req.query;
      const page = await labs.students(
        principalOf(req),
        req.params.tenant,
        req.params.lab,
        q.status === undefined ? {} : { status: q.status },
        pageOf(q),
      );
      const body: Schemas['StudentList'] = { items: page.items.map(studentDto) };
      if (page.nextCursor !== undefined) body.nextCursor = page.nextCursor;
      return body;
    },

    async addLabUsageHours(req: Req<LabParams & { student: string }, unknown, Schemas['UsageHoursAdd']>) {
      const added = await labs.addUsageHours(principalOf(req), req.params.tenant, req.params.lab, req.params.student, req.body.hours);
      const body: Schemas['UsageHoursAdded'] = { student: added.student, addedHours: added.addedHours };
      return body;
    },

    async retryLabStudent(req: Req<LabParams & { student: string }>, reply: FastifyReply) {
      return sendAccepted(reply, await labs.retryStudent(principalOf(req), req.params.tenant, req.params.lab, req.params.student.toLowerCase()));
    },
  };
}
