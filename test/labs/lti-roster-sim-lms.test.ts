import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNrpsClient } from '../../src/adapters/lti/nrps-client.js';
import { createPlatformFetch } from '../../src/adapters/lti/platform-fetch.js';
import { createMemoryLabRepository } from '../../src/adapters/memory/lab-repository.js';
import { createSimDirectory } from '../../src/adapters/sim/directory.js';
import { seedSimLmsRegistration } from '../../src/adapters/sim/lms/index.js';
import { createLabService } from '../../src/domain/labs/lab-service.js';
import type { LabSpec } from '../../src/domain/labs/lab.js';
import type { LtiRegistration } from '../../src/domain/lti/registration.js';
import { LTI_ROSTER_SYNC_KIND } from '../../src/domain/lti/roster-sync.js';
import { newOperationRecord } from '../../src/domain/operations/operation-lifecycle.js';
import type { Operation } from '../../src/domain/operations/operation.js';
import type { StartOperationInput } from '../../src/domain/operations/operation-service.js';
import { isRetryable } from '../../src/domain/shared/errors.js';
import type { Tenant } from '../../src/domain/tenants/tenant.js';
import { ltiRosterSyncJob } from '../../src/jobs/kinds/lti-roster-sync.js';
import { startSimLms, type SimLmsHarness } from '../lti/support/sim-lms-harness.js';

/**
 * The roster sync against the simulated LMS over HTTP: the real NRPS client (token by signed client
 * assertion, every page followed), the simulated directory and the lab's own roster sync.
 */
let h: SimLmsHarness;
let registration: LtiRegistration;
const QUOTA = {
  requestsCpu: 1000,
  requestsMemoryGi: 4000,
  limitsCpu: 1000,
  limitsMemoryGi: 4000,
  storageGi: 100_000,
  persistentVolumeClaims: 1000,
  virtualMachines: 1000,
};
const ZERO = Object.fromEntries(Object.keys(QUOTA).map((k) => [k, 0])) as typeof QUOTA;

beforeAll(async () => {
  h = await startSimLms();
  registration = { ...seedSimLmsRegistration(h.origin), id: 'reg-1', createdAt: '2026-12-01T00:00:00Z', createdBy: 'alice', version: '1' };
});
afterAll(async () => h?.close());

function setup() {
  const spec: LabSpec = {
    tenant: 'demo',
    name: 'linux',
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
    lti: {
      registrationId: 'reg-1',
      deploymentId: registration.deploymentIds[0] ?? '',
      contextId: 'CS101',
      membershipsUrl: `${h.origin}/sim/lms/courses/CS101/memberships?limit=10`,
      boundAt: '2026-12-01T00:00:00Z',
    },
  };
  const labs = createMemoryLabRepository({ labs: [{ spec }] });
  const started: StartOperationInput[] = [];
  const labService = createLabService({
    labs,
    vms: { list: async () => [], watch: () => () => undefined },
    tenants: { get: async () => ({ id: 'demo', profile: 'faculty', quota: QUOTA }) as Tenant, usage: async () => ZERO },
    images: { resolve: async () => Promise.reject(new Error('not used')) } as never,
    operations: {
      async start(_p: unknown, input: StartOperationInput) {
        started.push(input);
        return { id: `op-${started.length}`, kind: input.kind } as Operation;
      },
    },
    arcAvailable: false,
  });
  const job = ltiRosterSyncJob({
    labs,
    labService,
    registrations: { get: async (_t, id) => (id === registration.id ? registration : undefined) },
    membershipSource: createNrpsClient({ fetch: createPlatformFetch({ allowPrivate: true, timeoutMs: 5000 }), keys: h.keys }),
    directory: createSimDirectory(),
    operationStore: { list: async () => ({ items: [] }) },
  });
  let seq = 0;
  const run = (attempt = 1) => {
    const operation = {
      ...newOperationRecord(
        {
          id: `sync-${++seq}`,
          kind: LTI_ROSTER_SYNC_KIND,
          tenant: 'demo',
          target: { type: 'lab', id: 'demo/linux', name: 'linux' },
          createdBy: 'labplane-maintenance',
          input: { tenant: 'demo', lab: 'linux', trigger: 'schedule', requestedBy: 'labplane-maintenance' },
          firstStep: 'sync',
        },
        new Date(),
      ),
      status: 'running' as const,
    };
    return job.steps['sync']?.({ operation, step: 'sync', attempt, signal: new AbortController().signal, report: async () => undefined });
  };
  const lab = async () => {
    const l = await labs.get('demo', 'linux');
    if (l === undefined) throw new Error('lab gone');
    return l;
  };
  return { run, lab, started };
}

describe('LMS roster sync against the simulated LMS', () => {
  it('takes learners as students and the instructor and TA as instructors, lists who did not resolve, and drops who left', async () => {
    const s = setup();
    expect(await s.run()).toMatchObject({ type: 'done' });
    const lab = await s.lab();
    expect(lab.students).toHaveLength(30);
    expect(lab.instructors.map((i) => i.lmsUserId).sort()).toEqual(['sim-instructor', 'sim-ta']);
    expect(lab.students.every((p) => p.lmsUserId?.startsWith('sim-learner-') === true)).toBe(true);
    expect(lab.status.ltiSync).toMatchObject({ outcome: 'succeeded', trigger: 'schedule', members: 35, students: 30, instructors: 2 });
    expect(lab.status.ltiSync?.unresolved?.map((u) => [u.lmsUserId, u.reason])).toEqual([
      ['sim-private-1', 'no-email'],
      ['sim-visitor-1', 'not-in-directory'],
      ['sim-visitor-2', 'not-in-directory'],
    ]);

    const gone = lab.students.filter((p) => p.lmsUserId === 'sim-learner-01' || p.lmsUserId === 'sim-learner-02').map((p) => p.id);
    h.lms.setStatus('CS101', 'sim-learner-01', 'Inactive');
    expect(h.lms.removeMember('CS101', 'sim-learner-02')).toBe(true);
    try {
      await s.run();
      expect((await s.lab()).students).toHaveLength(28);
      expect(s.started.at(-1)?.input['diff']).toMatchObject({ added: [], removed: gone.sort() });
    } finally {
      h.lms.setStatus('CS101', 'sim-learner-01', 'Active');
      h.lms.addMember('CS101', { userId: 'sim-learner-02', name: 'back', roles: ['http://purl.imsglobal.org/vocab/lis/v2/membership#Learner'] });
    }
  });

  it('an LMS outage is retried (not recorded) until the last attempt', async () => {
    const s = setup();
    h.lms.injectFault({ endpoint: 'memberships', status: 503 });
    const err = await Promise.resolve(s.run()).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isRetryable(err)).toBe(true);
    expect((await s.lab()).status.ltiSync).toBeUndefined();
  });
});
