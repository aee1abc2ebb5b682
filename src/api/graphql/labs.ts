import type { GraphQLResolveInfo } from 'graphql';
import type { AccessRole } from '../../domain/identity/access.js';
import type { ImageScope } from '../../domain/images/image.js';
import type { LabSchedule, Weekday } from '../../domain/labs/lab.js';
import type { CreateLabInput, LabService, LabTemplateInput, UpdateLabInput } from '../../domain/labs/lab-service.js';
import type { LabPhase, LabProgressEvent, StudentStatus } from '../../domain/labs/lab-view.js';
import { ValidationError } from '../../domain/shared/errors.js';
import { MAX_PAGE_LIMIT, type PageRequest } from '../../domain/shared/page.js';
import type { LtiRosterSyncService } from '../../domain/lti/roster-sync.js';
import { labDto, labFilterOf, personOf, rosterDiffDto, studentDto, summaryDto } from '../rest/labs.js';
import { requirePrincipal, type GraphQLContext } from './context.js';
import { distinctBySelection, pushToAsyncIterator } from './event-iterator.js';
import { operationGraphQL } from './operation-dto.js';
import { labCostControlsOf, labCostControlsResolvers, type LabCostControlsArg } from './cost-controls.js';

/**
 * Course labs over the same use cases as REST (uses `Operation`, `VmState`, `VmImageRef`,
 * `VmImageRefInput` and `VmAccessRole` of the operations, vms and vm-access modules).
 */
export const labTypeDefs = /* GraphQL */ `
  enum LabPhase {
    Empty
    Provisioning
    Ready
    Degraded
    Ended
    Deleting
  }
  enum StudentStatus {
    pending
    provisioning
    ready
    failed
    dropped
  }
  enum Weekday {
    mon
    tue
    wed
    thu
    fri
    sat
    sun
  }
  enum LabScheduleAction {
    start
    stop
    end
    remove
  }

  type CourseRef {
    lms: String!
    courseId: String!
  }
  "An Azure AD user of a lab (object id); lmsUserId when the roster comes from an LMS."
  type LabPerson {
    id: ID!
    email: String
    displayName: String
    lmsUserId: String
  }
  "The LMS course (LTI context) a lab is bound to by Deep Linking."
  type LabLtiBinding {
    registrationId: ID!
    deploymentId: String!
    contextId: String!
    contextTitle: String
    "The course's NRPS membership URL; null: the LMS offered no roster service."
    membershipsUrl: String
    boundAt: String!
  }
  enum LtiSyncTrigger {
    schedule
    launch
    manual
  }
  enum LtiSyncOutcome {
    succeeded
    failed
  }
  enum LtiUnresolvedReason {
    no_email
    not_in_directory
    ambiguous
  }
  enum LtiMemberRole {
    student
    instructor
  }
  "A course member who got no VM: no single directory user matched them."
  type LtiUnresolvedMember {
    lmsUserId: String!
    email: String
    name: String
    role: LtiMemberRole!
    reason: LtiUnresolvedReason!
  }
  "The last roster sync from the LMS course."
  type LtiSyncStatus {
    at: String!
    trigger: LtiSyncTrigger!
    outcome: LtiSyncOutcome!
    code: String
    message: String
    operationId: ID
    members: Int
    students: Int
    instructors: Int
    unresolved: [LtiUnresolvedMember!]!
  }
  type LabTemplate {
    image: VmImageRef!
    instanceType: String
    cpu: Float!
    memoryGi: Float!
    diskGi: Float!
    storageClass: String!
    arc: Boolean!
    studentRole: VmAccessRole!
    sshPublicKeys: [String!]!
  }
  "A weekly window, wall-clock in timeZone; startTime/stopTime are HH:MM, dates YYYY-MM-DD."
  type LabSchedule {
    name: ID!
    days: [Weekday!]!
    startTime: String
    stopTime: String
    timeZone: String!
    startDate: String
    endDate: String
  }
  "Counts by student status; total is their sum (dropped students included), the roster is total - dropped."
  type LabSummary {
    "Every student listed, dropped ones included: pending + provisioning + ready + failed + dropped."
    total: Int!
    pending: Int!
    provisioning: Int!
    ready: Int!
    failed: Int!
    dropped: Int!
  }
  type LabScheduledEvent {
    action: LabScheduleAction!
    at: String!
  }

  type Student {
    id: ID!
    email: String
    displayName: String
    lmsUserId: String
    status: StudentStatus!
    vm: String!
    vmState: VmState
    identityReady: Boolean
    code: String
    reason: String
    operationId: ID
    deleteAfter: String
  }
  type StudentConnection {
    items: [Student!]!
    nextCursor: String
  }

  type Lab {
    tenant: ID!
    name: ID!
    displayName: String
    course: CourseRef
    template: LabTemplate!
    instructors: [LabPerson!]!
    schedules: [LabSchedule!]!
    endsAt: String
    dropGracePeriodHours: Int!
    endGracePeriodDays: Int!
    createdAt: String!
    "Opaque; pass it as ifMatch to updateLab."
    version: String!
    phase: LabPhase!
    summary: LabSummary!
    lastOperationId: ID
    nextScheduledEvent: LabScheduledEvent
    lti: LabLtiBinding
    ltiSync: LtiSyncStatus
    "null on labs made before cost controls existed."
    costControls: LabCostControls
    "Roster students (and dropped ones still holding a VM), sorted by id."
    students(status: StudentStatus, limit: Int = 50, cursor: String): StudentConnection!
  }
  "Hours instructors gave one student beyond the lab's quota."
  type StudentAddedHours {
    student: ID!
    hours: Float!
  }
  "A lab's cost controls (uses AutoShutdownProfile of the tenants module)."
  type LabCostControls {
    autoShutdown: AutoShutdownProfile!
    warningPeriod: String!
    "Auto-shutdown does not act during the lab's scheduled class hours."
    exemptClassHours: Boolean!
    "Hours each student's VM may run outside class hours; null: no quota."
    usageQuotaHours: Float
    "Sorted by student id; change them with addLabUsageHours."
    addedHours: [StudentAddedHours!]!
  }
  type UsageHoursAdded {
    student: ID!
    "The student's added hours after the change."
    addedHours: Float!
  }
  "Absent parts take the defaults (create) or stay (update; usageQuotaHours: null removes the quota)."
  input LabCostControlsInput {
    autoShutdown: AutoShutdownProfileInput
    warningPeriod: String
    exemptClassHours: Boolean
    usageQuotaHours: Float
  }
  type LabConnection {
    items: [Lab!]!
    nextCursor: String
  }

  type RosterDiff {
    added: [ID!]!
    removed: [ID!]!
    updated: [ID!]!
    unchanged: Int!
  }
  type RosterSync {
    operation: Operation!
    diff: RosterDiff!
  }
  "One update of a lab's progress: the summary and the students whose status changed."
  type LabProgress {
    tenant: ID!
    lab: ID!
    phase: LabPhase!
    summary: LabSummary!
    students: [Student!]!
  }

  "Give id (the directory object id), or email alone: it is resolved to the one directory user with that address."
  input LabPersonInput {
    id: ID
    email: String
    displayName: String
    lmsUserId: String
  }
  input CourseRefInput {
    lms: String!
    courseId: String!
  }
  input LabScheduleInput {
    name: ID!
    days: [Weekday!]!
    startTime: String
    stopTime: String
    timeZone: String!
    startDate: String
    endDate: String
  }
  "Give instanceType, or cpu and memoryGi."
  input LabTemplateInput {
    image: VmImageRefInput!
    instanceType: String
    cpu: Int
    memoryGi: Int
    diskGi: Int!
    "kv-premium-retain or kv-standard."
    storageClass: String!
    arc: Boolean
    studentRole: VmAccessRole
    sshPublicKeys: [String!]
  }
  input CreateLabInput {
    name: ID!
    displayName: String
    course: CourseRefInput
    template: LabTemplateInput!
    instructors: [LabPersonInput!]
    students: [LabPersonInput!]
    schedules: [LabScheduleInput!]
    endsAt: String
    dropGracePeriodHours: Int
    endGracePeriodDays: Int
    costControls: LabCostControlsInput
  }
  "Absent fields stay; null clears displayName, course or endsAt."
  input UpdateLabInput {
    displayName: String
    course: CourseRefInput
    template: LabTemplateInput
    instructors: [LabPersonInput!]
    schedules: [LabScheduleInput!]
    endsAt: String
    dropGracePeriodHours: Int
    endGracePeriodDays: Int
    costControls: LabCostControlsInput
  }

  extend type Query {
    lab(tenant: ID!, name: ID!): Lab!
    labs(tenant: ID!, lms: String, courseId: String, phase: LabPhase, limit: Int = 50, cursor: String): LabConnection!
  }

  extend type Mutation {
    "Starts a lab.sync operation that provisions one VM per student."
    createLab(tenant: ID!, input: CreateLabInput!): Operation!
    "ifMatch: the lab's version; a stale one is refused (VERSION_MISMATCH)."
    updateLab(tenant: ID!, name: ID!, input: UpdateLabInput!, ifMatch: String): Lab!
    deleteLab(tenant: ID!, name: ID!): Operation!
    "Replaces the roster (idempotent)."
    syncLabRoster(tenant: ID!, name: ID!, students: [LabPersonInput!]!): RosterSync!
    retryLabStudent(tenant: ID!, name: ID!, student: ID!): Operation!
    "Syncs the roster of a lab bound to an LMS course from the course now (lti.roster-sync)."
    syncLabFromLms(tenant: ID!, name: ID!): Operation!
    "Gives a student of the roster hours beyond the lab's quota (quarters of an hour; negative takes back); the total stays within 0 and 2000."
    addLabUsageHours(tenant: ID!, lab: ID!, student: ID!, hours: Float!): UsageHoursAdded!
  }

  extend type Subscription {
    "The lab's progress as its VMs and operations change."
    labProgress(tenant: ID!, lab: ID!): LabProgress!
  }
`;

type Maybe<T> = T | null | undefined;
type LabArgs = { tenant: string; name: string };
type PersonArg = { id?: Maybe<string>; email?: Maybe<string>; displayName?: Maybe<string>; lmsUserId?: Maybe<string> };
type ScheduleArg = {
  name: string;
  days: Weekday[];
  startTime?: Maybe<string>;
  stopTime?: Maybe<string>;
  timeZone: string;
  startDate?: Maybe<string>;
  endDate?: Maybe<string>;
};
type TemplateArg = {
  image: { scope: ImageScope; name: string };
  instanceType?: Maybe<string>;
  cpu?: Maybe<number>;
  memoryGi?: Maybe<number>;
  diskGi: number;
  storageClass: string;
  arc?: Maybe<boolean>;
  studentRole?: Maybe<AccessRole>;
  sshPublicKeys?: Maybe<string[]>;
};
type CourseArg = { lms: string; courseId: string };
interface LabFieldsArg {
  displayName?: Maybe<string>;
  course?: Maybe<CourseArg>;
  instructors?: Maybe<PersonArg[]>;
  schedules?: Maybe<ScheduleArg[]>;
  endsAt?: Maybe<string>;
  dropGracePeriodHours?: Maybe<number>;
  endGracePeriodDays?: Maybe<number>;
  costControls?: Maybe<LabCostControlsArg>;
}
type CreateArg = LabFieldsArg & { name: string; template: TemplateArg; students?: Maybe<PersonArg[]> };
type UpdateArg = LabFieldsArg & { template?: Maybe<TemplateArg> };

function pageArgs(a: { limit: number; cursor?: Maybe<string> }): PageRequest {
  if (!Number.isInteger(a.limit) || a.limit < 1 || a.limit > MAX_PAGE_LIMIT) {
    throw new ValidationError('limit is out of range.', [{ field: '/limit', message: `must be 1-${MAX_PAGE_LIMIT}` }]);
  }
  return { limit: a.limit, ...(a.cursor == null ? {} : { cursor: a.cursor }) };
}

function opt<K extends string, V>(key: K, v: Maybe<V>): { [P in K]?: V } {
  return (v == null ? {} : { [key]: v }) as { [P in K]?: V };
}

function scheduleOf(s: ScheduleArg): LabSchedule {
  return {
    name: s.name,
    days: s.days,
    ...opt('startTime', s.startTime),
    ...opt('stopTime', s.stopTime),
    timeZone: s.timeZone,
    ...opt('startDate', s.startDate),
    ...opt('endDate', s.endDate),
  };
}

function templateOf(t: TemplateArg): LabTemplateInput {
  return {
    image: { scope: t.image.scope, name: t.image.name },
    ...opt('instanceType', t.instanceType),
    ...opt('cpu', t.cpu),
    ...opt('memoryGi', t.memoryGi),
    diskGi: t.diskGi,
    storageClass: t.storageClass,
    ...opt('arc', t.arc),
    ...opt('studentRole', t.studentRole),
    ...opt('sshPublicKeys', t.sshPublicKeys),
  };
}

/** Fields shared by create and update; nulls dropped (update handles its clearable fields itself). */
function commonOf(i: LabFieldsArg) {
  return {
    ...opt('displayName', i.displayName),
    ...(i.course == null ? {} : { course: { lms: i.course.lms, courseId: i.course.courseId } }),
    ...(i.instructors == null ? {} : { instructors: peopleOf(i.instructors, '/input/instructors') }),
    ...(i.schedules == null ? {} : { schedules: i.schedules.map(scheduleOf) }),
    ...opt('endsAt', i.endsAt),
    ...opt('dropGracePeriodHours', i.dropGracePeriodHours),
    ...opt('endGracePeriodDays', i.endGracePeriodDays),
  };
}

function createOf(i: CreateArg): CreateLabInput {
  return {
    name: i.name,
    ...commonOf(i),
    template: templateOf(i.template),
    ...(i.students == null ? {} : { students: peopleOf(i.students, '/input/students') }),
    ...(i.costControls == null ? {} : { costControls: labCostControlsOf(i.costControls, false) }),
  };
}

/** An explicit `null` clears displayName, course and endsAt; on other fields it means "unchanged". */
function updateOf(i: UpdateArg): UpdateLabInput {
  return {
    ...commonOf(i),
    ...(i.displayName === null ? { displayName: null } : {}),
    ...(i.course === null ? { course: null } : {}),
    ...(i.endsAt === null ? { endsAt: null } : {}),
    ...(i.template == null ? {} : { template: templateOf(i.template) }),
    ...(i.costControls == null ? {} : { costControls: labCostControlsOf(i.costControls, true) }),
  };
}

function progressGraphQL(e: LabProgressEvent) {
  return { tenant: e.tenant, lab: e.lab, phase: e.phase, summary: summaryDto(e.summary), students: e.students.map(studentDto) };
}

/** Exactly one of id and email identifies a person; the field names which entry lacks both. */
function peopleOf(people: readonly PersonArg[], field: string) {
  const missing = people.flatMap((p, i) => (p.id == null && p.email == null ? [{ field: `${field}/${i}`, message: 'give id or email' }] : []));
  if (missing.length > 0) throw new ValidationError('A person needs an id or an email.', missing);
  return people.map(personOf);
}

/** GraphQL enums cannot hold '-': `not-in-directory` is `not_in_directory`. */
function ltiSyncGraphQL(l: ReturnType<typeof labDto>) {
  return l.ltiSync === undefined
    ? { ...l, ltiSync: null }
    : {
        ...l,
        ltiSync: { ...l.ltiSync, unresolved: (l.ltiSync.unresolved ?? []).map((u) => ({ ...u, reason: u.reason.replaceAll('-', '_') })) },
      };
}

export function labResolvers(labs: LabService, lti: Pick<LtiRosterSyncService, 'syncFromLms'>) {
  return {
    Query: {
      lab: async (_: unknown, a: LabArgs, ctx: GraphQLContext) => ltiSyncGraphQL(labDto(await labs.get(requirePrincipal(ctx), a.tenant, a.name))),
      labs: async (
        _: unknown,
        a: { tenant: string; lms?: Maybe<string>; courseId?: Maybe<string>; phase?: Maybe<LabPhase>; limit: number; cursor?: Maybe<string> },
        ctx: GraphQLContext,
      ) => {
        const page = await labs.list(requirePrincipal(ctx), a.tenant, labFilterOf(a), pageArgs(a));
        return { items: page.items.map((l) => ltiSyncGraphQL(labDto(l))), nextCursor: page.nextCursor ?? null };
      },
    },
    Lab: {
      students: async (
        parent: { tenant: string; name: string },
        a: { status?: Maybe<StudentStatus>; limit: number; cursor?: Maybe<string> },
        ctx: GraphQLContext,
      ) => {
        const page = await labs.students(
          requirePrincipal(ctx),
          parent.tenant,
          parent.name,
          a.status == null ? {} : { status: a.status },
          pageArgs(a),
        );
        return { items: page.items.map(studentDto), nextCursor: page.nextCursor ?? null };
      },
    },
    Mutation: {
      createLab: async (_: unknown, a: { tenant: string; input: CreateArg }, ctx: GraphQLContext) =>
        operationGraphQL(await labs.create(requirePrincipal(ctx), a.tenant, createOf(a.input))),
      updateLab: async (_: unknown, a: LabArgs & { input: UpdateArg; ifMatch?: Maybe<string> }, ctx: GraphQLContext) =>
        ltiSyncGraphQL(labDto(await labs.update(requirePrincipal(ctx), a.tenant, a.name, updateOf(a.input), a.ifMatch ?? undefined))),
      deleteLab: async (_: unknown, a: LabArgs, ctx: GraphQLContext) => operationGraphQL(await labs.delete(requirePrincipal(ctx), a.tenant, a.name)),
      syncLabRoster: async (_: unknown, a: LabArgs & { students: PersonArg[] }, ctx: GraphQLContext) => {
        const { operation, diff } = await labs.syncRoster(requirePrincipal(ctx), a.tenant, a.name, peopleOf(a.students, '/students'));
        return { operation: operationGraphQL(operation), diff: rosterDiffDto(diff) };
      },
      retryLabStudent: async (_: unknown, a: LabArgs & { student: string }, ctx: GraphQLContext) =>
        operationGraphQL(await labs.retryStudent(requirePrincipal(ctx), a.tenant, a.name, a.student.toLowerCase())),
      syncLabFromLms: async (_: unknown, a: LabArgs, ctx: GraphQLContext) =>
        operationGraphQL(await lti.syncFromLms(requirePrincipal(ctx), a.tenant, a.name)),
      addLabUsageHours: async (_: unknown, a: { tenant: string; lab: string; student: string; hours: number }, ctx: GraphQLContext) =>
        labs.addUsageHours(requirePrincipal(ctx), a.tenant, a.lab, a.student, a.hours),
    },
    ...labCostControlsResolvers,
    Subscription: {
      labProgress: {
        // A student's VM moving from Provisioning to Starting to Running is a change, but a client that
        // selected only its status would get the same frame three times: send what it sees once.
        subscribe: async (_: unknown, a: { tenant: string; lab: string }, ctx: GraphQLContext, info: GraphQLResolveInfo) =>
          distinctBySelection(
            await pushToAsyncIterator((push) =>
              labs.watchProgress(requirePrincipal(ctx), a.tenant, a.lab, (e) => push({ labProgress: progressGraphQL(e) })),
            ),
            info,
            ctx,
          ),
      },
    },
  };
}
