import { describe, expect, it } from 'vitest';
import { createMemoryAuditLog } from '../../src/adapters/memory/audit-log.js';
import { createMemoryLabRepository, type MemoryLabRepository } from '../../src/adapters/memory/lab-repository.js';
import type { AuditLog } from '../../src/domain/audit/audit.js';
import { createLabService } from '../../src/domain/labs/lab-service.js';
import type { LabPerson, LabSpec } from '../../src/domain/labs/lab.js';
import type { LtiRegistration } from '../../src/domain/lti/registration.js';
import type { Directory, DirectoryMatch, LtiMember, MembershipSource } from '../../src/domain/lti/ports.js';
import { ROLE } from '../../src/domain/lti/claims.js';
import { labRoleOf } from '../../src/domain/lti/roles.js';
import { LTI_ROSTER_SYNC_KIND } from '../../src/domain/lti/roster-sync.js';
import { newOperationRecord } from '../../src/domain/operations/operation-lifecycle.js';
import type { Operation, OperationRecord } from '../../src/domain/operations/operation.js';
import type { StartOperationInput } from '../../src/domain/operations/operation-service.js';
import { UpstreamUnavailableError } from '../../src/domain/shared/errors.js';
import type { Tenant } from '../../src/domain/tenants/tenant.js';
import type { StepOutcome } from '../../src/jobs/job-kind.js';
import { LTI_ROSTER_RETRY, ltiRosterSyncJob } from '../../src/jobs/kinds/lti-roster-sync.js';

const TENANT = 'physics';
const NOW = new Date('2026-03-02T10:00:00Z');
const clock = { now: () => NOW };
const NRPS_URL = 'https://lms.example.edu/api/lti/courses/7/names_and_roles';

const guid = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

const REGISTRATION: LtiRegistration = {
  id: 'reg-1',
  tenant: TENANT,
  issuer: 'https://lms.example.edu',
  clientId: 'client-1',
  deploymentIds: ['dep-1'],
  authLoginUrl: 'https://lms.example.edu/auth',
  accessTokenUrl: 'https://lms.example.edu/token',
  jwksUrl: 'https://lms.example.edu/jwks',
  createdAt: NOW.toISOString(),
  createdBy: 'olga',
  version: '1',
};

const TENANT_RECORD: Tenant = {
  id: TENANT,
  displayName: 'Physics',
  profile: 'faculty',
  quota: {
    requestsCpu: 1000,
    requestsMemoryGi: 4000,
    limitsCpu: 1000,
    limitsMemoryGi: 4000,
    storageGi: 100_000,
    persistentVolumeClaims: 1000,
    virtualMachines: 1000,
  },
  vmCaps: { maxCpu: 16, maxMemoryGi: 64 },
  phase: 'Active',
  createdAt: NOW.toISOString(),
  version: '1',
} as Tenant;

function labSpec(extra: Partial<LabSpec> = {}): LabSpec {
  return {
    tenant: TENANT,
    name: 'optics',
    template: {
      image: { scope: 'platform', name: 'ubuntu-24' },
      cpu: 1,
      memoryGi: 2,
      diskGi: 10,
      storageClass: 'kv-standard',
      arc: false,
      studentRole: 'user',
      sshPublicKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBreakGlass'],
    },
    instructors: [],
    students: [],
    schedules: [],
    dropGracePeriodHours: 72,
    endGracePeriodDays: 14,
    lti: { registrationId: 'reg-1', deploymentId: 'dep-1', contextId: 'ctx-7', membershipsUrl: NRPS_URL, boundAt: NOW.toISOString() },
    ...extra,
  };
}

/** A directory of users `user<n>@uni.example` → guid(n); `twin@uni.example` is ambiguous. */
function fakeDirectory(): Directory & { calls: string[][] } {
  const calls: string[][] = [];
  return {
    calls,
    async lookup(addresses) {
      calls.push([...addresses]);
      const out = new Map<string, DirectoryMatch>();
      for (const a of addresses) {
        const m = /^user(\d+)@uni\.example$/.exec(a.toLowerCase());
        out.set(
          a.toLowerCase(),
          a.toLowerCase() === 'twin@uni.example' ? 'ambiguous' : m ? { id: guid(Number(m[1])), displayName: `Dir ${m[1]}` } : 'not-found',
        );
      }
      return out;
    },
  };
}

const member = (n: number, roles: string[], extra: { [K in keyof LtiMember]?: LtiMember[K] | undefined } = {}): LtiMember =>
  ({
    lmsUserId: `lms-${n}`,
    email: `user${n}@uni.example`,
    name: `Person ${n}`,
    roles,
    status: 'Active',
    ...extra,
  }) as LtiMember;

interface Harness {
  readonly labs: MemoryLabRepository;
  readonly audit: AuditLog;
  readonly started: StartOperationInput[];
  readonly directory: ReturnType<typeof fakeDirectory>;
  members: readonly LtiMember[] | Error;
  registration: LtiRegistration | undefined;
  run(op?: OperationRecord, attempt?: number): Promise<StepOutcome>;
  op(trigger?: string, by?: string, createdBy?: string): OperationRecord;
}

function harness(spec: LabSpec = labSpec(), others: OperationRecord[] = []): Harness {
  const labs = createMemoryLabRepository({ clock, labs: [{ spec }] });
  const audit = createMemoryAuditLog();
  const started: StartOperationInput[] = [];
  let seq = 0;
  const operations = {
    async start(_p: unknown, input: StartOperationInput): Promise<Operation> {
      started.push(input);
      seq += 1;
      return { id: `op-${seq}`, kind: input.kind } as Operation;
    },
  };
  const labService = createLabService({
    labs,
    vms: { list: async () => [], watch: () => () => undefined },
    tenants: {
      get: async (id) => (id === TENANT ? TENANT_RECORD : undefined),
      usage: async () => ({
        ...TENANT_RECORD.quota,
        requestsCpu: 0,
        requestsMemoryGi: 0,
        limitsCpu: 0,
        limitsMemoryGi: 0,
        storageGi: 0,
        persistentVolumeClaims: 0,
        virtualMachines: 0,
      }),
    },
    images: {
      resolve: async () => {
        throw new Error('not used');
      },
    } as never,
    operations,
    arcAvailable: false,
    clock,
  });
  const directory = fakeDirectory();
  const h: Harness = {
    labs,
    audit,
    started,
    directory,
    members: [],
    registration: REGISTRATION,
    async run(op = h.op(), attempt = 1) {
      const source: MembershipSource = {
        async members(reg, url) {
          expect([reg.id, url]).toEqual([REGISTRATION.id, NRPS_URL]);
          if (h.members instanceof Error) throw h.members;
          return h.members;
        },
      };
      const job = ltiRosterSyncJob({
        labs,
        labService,
        registrations: { get: async (t, id) => (t === TENANT && id === h.registration?.id ? h.registration : undefined) },
        membershipSource: source,
        directory,
        operationStore: { list: async () => ({ items: others }) },
        auditLog: audit,
        clock,
      });
      const step = job.steps[job.firstStep];
      if (step === undefined) throw new Error('no first step');
      return step({ operation: op, step: job.firstStep, attempt, signal: new AbortController().signal, report: async () => undefined });
    },
    op(trigger = 'manual', by = 'olga', createdBy = by) {
      return {
        ...newOperationRecord(
          {
            id: `sync-${++seq}`,
            kind: LTI_ROSTER_SYNC_KIND,
            tenant: TENANT,
            target: { type: 'lab', id: `${TENANT}/optics`, name: 'optics' },
            createdBy,
            input: { tenant: TENANT, lab: 'optics', trigger, requestedBy: by },
            firstStep: 'sync',
          },
          NOW,
        ),
        status: 'running',
      };
    },
  };
  return h;
}

const lab = async (h: Harness) => {
  const l = await h.labs.get(TENANT, 'optics');
  if (l === undefined) throw new Error('lab gone');
  return l;
};
const ids = (people: readonly LabPerson[]) => people.map((p) => p.id);

describe('LTI roles → lab roles', () => {
  it('maps Learner to student and Instructor / TeachingAssistant (full, sub-role and short forms) to instructor', () => {
    expect(labRoleOf(ROLE.learner)).toBe('student');
    expect(labRoleOf('Learner')).toBe('student');
    expect(labRoleOf('http://purl.imsglobal.org/vocab/lis/v2/membership/Learner#NonCreditLearner')).toBe('student');
    expect(labRoleOf(ROLE.instructor)).toBe('instructor');
    expect(labRoleOf(ROLE.teachingAssistant)).toBe('instructor');
    expect(labRoleOf('Instructor')).toBe('instructor');
    expect(labRoleOf('TeachingAssistant')).toBe('instructor');
    expect(labRoleOf('urn:lti:role:ims/lis/Instructor')).toBe('instructor');
    expect(labRoleOf(ROLE.contentDeveloper)).toBeUndefined();
    expect(labRoleOf(ROLE.administrator)).toBeUndefined();
    expect(labRoleOf('http://purl.imsglobal.org/vocab/lis/v2/institution/person#Instructor')).toBeUndefined();
    expect(labRoleOf('Mentor')).toBeUndefined();
  });
});

describe('lti.roster-sync', () => {
  it('syncs active learners as students and instructors / TAs as instructors, through the roster sync, and records the outcome', async () => {
    const h = harness();
    h.members = [
      member(1, [ROLE.learner]),
      member(2, ['Learner']),
      member(3, [ROLE.instructor]),
      member(4, [ROLE.teachingAssistant]),
      member(5, [ROLE.learner, ROLE.instructor]),
      member(6, [ROLE.learner], { status: 'Inactive' }),
      member(7, [ROLE.learner], { status: 'Deleted' }),
      member(8, [ROLE.contentDeveloper]),
      member(9, [ROLE.learner], { email: undefined }),
      member(10, [ROLE.learner], { email: 'nobody@uni.example' }),
      member(11, [ROLE.instructor], { email: 'twin@uni.example' }),
    ];
    const out = await h.run(h.op('manual', 'olga'));
    expect(out.type).toBe('done');
    const l = await lab(h);
    expect(ids(l.students)).toEqual([guid(1), guid(2)]);
    expect(l.students[0]).toEqual({ id: guid(1), email: 'user1@uni.example', displayName: 'Person 1', lmsUserId: 'lms-1' });
    expect(ids(l.instructors)).toEqual([guid(3), guid(4), guid(5)]);
    // Through the lab's own roster sync: one lab.sync with the diff.
    expect(h.started.map((s) => [s.kind, s.input['reason']])).toEqual([['lab.sync', 'roster']]);
    expect(h.started[0]?.input['diff']).toEqual({ added: [guid(1), guid(2)], removed: [], updated: [], unchanged: 0 });
    expect(l.status.ltiSync).toEqual({
      at: NOW.toISOString(),
      trigger: 'manual',
      outcome: 'succeeded',
      operationId: 'sync-1',
      members: 8,
      students: 2,
      instructors: 3,
      unresolved: [
        { lmsUserId: 'lms-10', email: 'nobody@uni.example', name: 'Person 10', role: 'student', reason: 'not-in-directory' },
        { lmsUserId: 'lms-11', email: 'twin@uni.example', name: 'Person 11', role: 'instructor', reason: 'ambiguous' },
        { lmsUserId: 'lms-9', name: 'Person 9', role: 'student', reason: 'no-email' },
      ],
    });
    const events = (await h.audit.list({ tenant: TENANT }, { limit: 10 })).items;
    expect(events.map((e) => [e.action, e.actor.id, e.target?.id, e.result.status])).toEqual([['lti.roster-sync', 'olga', 'optics', 200]]);
  });

  it('a second run with the same course changes nothing; a member who left is dropped on the next sync', async () => {
    const h = harness();
    h.members = [member(1, [ROLE.learner]), member(2, [ROLE.learner]), member(3, [ROLE.instructor])];
    await h.run();
    const generation = (await lab(h)).generation;
    await h.run();
    expect((await lab(h)).generation).toBe(generation);
    expect(h.started.at(-1)?.input['diff']).toEqual({ added: [], removed: [], updated: [], unchanged: 2 });

    h.members = [member(1, [ROLE.learner]), member(3, [ROLE.instructor])];
    await h.run();
    expect(ids((await lab(h)).students)).toEqual([guid(1)]);
    expect(h.started.at(-1)?.input['diff']).toEqual({ added: [], removed: [guid(2)], updated: [], unchanged: 1 });
  });

  it('updates the instructors when the course changed them, keeping those added by hand', async () => {
    const byHand = { id: guid(90), email: 'head@uni.example' };
    const h = harness(labSpec({ instructors: [byHand, { id: guid(3), lmsUserId: 'lms-3' }] }));
    h.members = [member(4, [ROLE.instructor])];
    await h.run();
    expect((await lab(h)).instructors).toEqual([byHand, { id: guid(4), email: 'user4@uni.example', displayName: 'Person 4', lmsUserId: 'lms-4' }]);
    const generation = (await lab(h)).generation;
    await h.run();
    expect((await lab(h)).generation).toBe(generation);
  });

  it('a lab without binding, without NRPS, or whose registration is gone fails with a catalogue code recorded in its status', async () => {
    const unbound = labSpec();
    const { lti: _lti, ...noBinding } = unbound;
    const h1 = harness(noBinding);
    await expect(h1.run()).rejects.toMatchObject({ code: 'LAB_NOT_LTI_BOUND' });
    expect((await lab(h1)).status.ltiSync).toMatchObject({ outcome: 'failed', code: 'LAB_NOT_LTI_BOUND', trigger: 'manual' });

    const h2 = harness(labSpec({ lti: { registrationId: 'reg-1', deploymentId: 'dep-1', contextId: 'c', boundAt: NOW.toISOString() } }));
    await expect(h2.run()).rejects.toMatchObject({ code: 'LTI_NO_MEMBERSHIP_SERVICE' });

    const h3 = harness();
    h3.registration = undefined;
    await expect(h3.run(h3.op('schedule', 'labplane-maintenance'))).rejects.toMatchObject({ code: 'LTI_REGISTRATION_GONE' });
    expect((await lab(h3)).status.ltiSync).toMatchObject({ outcome: 'failed', code: 'LTI_REGISTRATION_GONE', trigger: 'schedule' });
    const events = (await h3.audit.list({ tenant: TENANT }, { limit: 10 })).items;
    expect(events.map((e) => [e.actor.id, e.result.code])).toEqual([['labplane-maintenance', 'LTI_REGISTRATION_GONE']]);
    expect(h3.started).toEqual([]);
  });

  it('a transient NRPS failure is retried without recording; the last attempt records the failure', async () => {
    const h = harness();
    h.members = new UpstreamUnavailableError('SERVICE_UNAVAILABLE', 'The LMS did not answer.');
    await expect(h.run(h.op(), 1)).rejects.toBeInstanceOf(UpstreamUnavailableError);
    expect((await lab(h)).status.ltiSync).toBeUndefined();
    await expect(h.run(h.op(), LTI_ROSTER_RETRY.attempts)).rejects.toBeInstanceOf(UpstreamUnavailableError);
    expect((await lab(h)).status.ltiSync).toMatchObject({ outcome: 'failed', code: 'SERVICE_UNAVAILABLE' });
  });

  it('an empty membership does not drop every student', async () => {
    const h = harness();
    h.members = [member(1, [ROLE.learner])];
    await h.run();
    h.members = [];
    await expect(h.run()).rejects.toMatchObject({ code: 'LTI_EMPTY_MEMBERSHIP' });
    expect(ids((await lab(h)).students)).toEqual([guid(1)]);
    expect((await lab(h)).status.ltiSync).toMatchObject({ outcome: 'failed', code: 'LTI_EMPTY_MEMBERSHIP' });
  });

  it('looks the directory up in batches', async () => {
    const h = harness();
    h.members = Array.from({ length: 250 }, (_, i) => member(i + 1, [ROLE.learner]));
    await h.run();
    expect(h.directory.calls.map((c) => c.length)).toEqual([100, 100, 50]);
    expect((await lab(h)).students).toHaveLength(250);
  });

  it('waits while an earlier sync of the same lab is unfinished', async () => {
    const earlier = { ...harness().op(), id: 'earlier', createdAt: '2026-03-02T09:59:00.000Z' };
    const h = harness(labSpec(), [earlier]);
    expect(await h.run()).toMatchObject({ type: 'recheck' });
    expect(h.started).toEqual([]);
  });

  it('a launch acts as the LMS integration on behalf of the instructor', async () => {
    const h = harness();
    h.members = [member(1, [ROLE.learner])];
    await h.run(h.op('launch', 'instructor-7', 'labplane-lti'));
    const events = (await h.audit.list({ tenant: TENANT }, { limit: 10 })).items;
    expect([events[0]?.actor.id, events[0]?.actor.kind, events[0]?.onBehalfOf]).toEqual(['labplane-lti', 'service', 'instructor-7']);
    expect((await lab(h)).status.ltiSync?.trigger).toBe('launch');
  });
});
