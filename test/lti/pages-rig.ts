import type { FastifyInstance } from 'fastify';
import { arcMachineName } from '../../src/domain/identity/arc-machine.js';
import { Registry } from 'prom-client';
import { createMemoryAuditLog } from '../../src/adapters/memory/audit-log.js';
import type { AuditLog } from '../../src/domain/audit/audit.js';
import { createMemoryIdempotencyStore } from '../../src/adapters/memory/idempotency-store.js';
import { createMemoryLabRepository, type MemoryLabRepository } from '../../src/adapters/memory/lab-repository.js';
import { createMemoryTenantRepository } from '../../src/adapters/memory/tenant-repository.js';
import { createMemoryVmRepository, type MemoryVmRepository } from '../../src/adapters/memory/vm-repository.js';
import { buildApp } from '../../src/api/app.js';
import { ltiPagesModule, ltiStylesheetModule } from '../../src/api/lti/pages.js';
import type { Principal } from '../../src/domain/auth/principal.js';
import { studentVmName } from '../../src/domain/labs/lab-rules.js';
import { createLabService } from '../../src/domain/labs/lab-service.js';
import type { LabSpec, LabStoredStatus } from '../../src/domain/labs/lab.js';
import type { LtiSession, LtiSessionStore } from '../../src/domain/lti/ports.js';
import type { Operation } from '../../src/domain/operations/operation.js';
import { UnauthenticatedError } from '../../src/domain/shared/errors.js';
import { PROFILE_DEFAULTS, type TenantSpec } from '../../src/domain/tenants/tenant.js';
import type { VmSpec } from '../../src/domain/vms/vm.js';
import { createVmService } from '../../src/domain/vms/vm-service.js';

export const TENANT_A = 'uni-a';
export const TENANT_B = 'uni-b';
export const LAB = 'os-lab';
export const LAB_B = 'bio-lab';
/** Directory object ids (lower-case GUIDs). */
export const ADA = '00000000-0000-4000-8000-00000000000a';
export const BOB = '00000000-0000-4000-8000-00000000000b';
export const CY = '00000000-0000-4000-8000-00000000000c';
/** On no roster, but in the directory. */
export const DEE = '00000000-0000-4000-8000-00000000000d';
export const MACHINE_ID = `/subscriptions/0b1f6471-1bf0-4dda-aec3-111122223333/resourceGroups/rg-labs/providers/Microsoft.HybridCompute/machines/${arcMachineName(TENANT_A, studentVmName(LAB, ADA))}`;
export const NOW = Date.parse('2026-12-06T12:00:00Z');

function tenant(id: string): TenantSpec {
  return { id, displayName: id, profile: 'faculty', quota: PROFILE_DEFAULTS.faculty.quota, vmCaps: PROFILE_DEFAULTS.faculty.vmCaps, members: [] };
}

function labSpec(tenantId: string, name: string, students: LabSpec['students'], extra: Partial<LabSpec> = {}): LabSpec {
  return {
    tenant: tenantId,
    name,
    displayName: name === LAB ? 'Operating Systems lab' : 'Biology lab',
    template: {
      image: { scope: 'platform', name: 'ubuntu-24' },
      cpu: 1,
      memoryGi: 2,
      diskGi: 10,
      storageClass: 'kv-standard',
      arc: true,
      studentRole: 'user',
      sshPublicKeys: [],
    },
    instructors: [],
    students,
    schedules: [],
    dropGracePeriodHours: 72,
    endGracePeriodDays: 14,
    ...extra,
  };
}

function vmSpec(tenantId: string, lab: string, owner: string, running: boolean): VmSpec {
  const name = studentVmName(lab, owner);
  return {
    tenant: tenantId,
    name,
    id: `id-${name}`,
    ownerId: owner,
    lab,
    image: { scope: 'platform', name: 'ubuntu-24' },
    source: { namespace: 'labplane-images', pvcName: 'ubuntu-24' },
    cpu: 1,
    memoryGi: 2,
    diskGi: 10,
    storageClass: 'kv-standard',
    arc: true,
    running,
    labels: {},
  };
}

const OS_LAB_STATUS: LabStoredStatus = {
  failures: {
    [CY]: { code: 'VM_ERROR', reason: 'The image could not be cloned: <disk full>.', operationId: 'op-failed', at: '2026-12-06T11:00:00Z' },
  },
  ltiSync: {
    at: '2026-12-06T11:30:00Z',
    trigger: 'schedule',
    outcome: 'succeeded',
    operationId: 'op-sync-1',
    members: 5,
    students: 3,
    instructors: 1,
    unresolved: [{ lmsUserId: 'lms-zed', email: 'zed@elsewhere.example', name: 'Zed <Z>', role: 'student', reason: 'not-in-directory' }],
  },
};

/** A memory session store (H2's Redis one has the same port). */
export function memorySessions(): LtiSessionStore & { readonly map: Map<string, LtiSession> } {
  const map = new Map<string, LtiSession>();
  return {
    map,
    async put(s) {
      map.set(s.id, s);
    },
    async get(id) {
      return map.get(id);
    },
    async delete(id) {
      map.delete(id);
    },
  };
}

export interface PagesRig {
  readonly app: FastifyInstance;
  readonly sessions: ReturnType<typeof memorySessions>;
  readonly vmRepo: MemoryVmRepository;
  readonly labRepo: MemoryLabRepository;
  readonly auditLog: AuditLog;
  /** Operations the use cases started (kind, tenant, target name, who). */
  readonly started: { kind: string; tenant: string | undefined; target: string; by: Principal }[];
  /** Roster syncs the instructor page started. */
  readonly syncs: { tenant: string; lab: string; trigger: string; by: string }[];
  /** Puts a session and returns its cookie header value. */
  /** `lab: undefined` makes a session without a lab (the default is {@link LAB}). */
  session(
    init: Partial<Omit<LtiSession, 'lab'>> & Pick<LtiSession, 'role'> & { lab?: string | undefined },
  ): Promise<{ cookie: string; session: LtiSession }>;
  close(): Promise<void>;
}

let seq = 0;

/**
 * The pages over the real VM and lab use cases (memory repositories, the real policy) in the whole
 * app (`buildApp`: auth, helmet, rate limit, form parser). Operations are recorded; power ones are
 * applied at once to the memory cluster, as the job would.
 */
export async function startPagesRig(options: { readonly frameAncestors?: string } = {}): Promise<PagesRig> {
  const clock = { now: () => new Date(NOW) };
  const tenants = createMemoryTenantRepository({ tenants: [tenant(TENANT_A), tenant(TENANT_B)] });
  const vmRepo = createMemoryVmRepository({
    vms: [vmSpec(TENANT_A, LAB, ADA, false), vmSpec(TENANT_A, LAB, BOB, true), vmSpec(TENANT_B, LAB_B, ADA, true)],
  });
  await vmRepo.setIdentity(TENANT_A, studentVmName(LAB, ADA), {
    arcStatus: 'Connected',
    machineResourceId: MACHINE_ID,
    extensionState: 'Succeeded',
    ready: true,
  });
  const labRepo = createMemoryLabRepository({
    labs: [
      {
        spec: labSpec(
          TENANT_A,
          LAB,
          [
            { id: ADA, email: 'ada@uni.example', displayName: 'Ada Lovelace' },
            { id: BOB, email: 'bob@uni.example', displayName: 'Bob <script>' },
            { id: CY, email: 'cy@uni.example', displayName: 'Cy Young' },
          ],
          {
            lti: {
              registrationId: 'reg-1',
              deploymentId: 'dep-1',
              contextId: 'ctx-1',
              contextTitle: 'Operating Systems 101',
              membershipsUrl: 'https://lms.example/api/lti/courses/1/names_and_roles',
              boundAt: '2026-12-01T00:00:00Z',
            },
          },
        ),
        status: OS_LAB_STATUS,
      },
      { spec: labSpec(TENANT_B, LAB_B, [{ id: ADA, email: 'ada@uni.example', displayName: 'Ada Lovelace' }]) },
    ],
  });
  const started: PagesRig['started'] = [];
  const operations = {
    async start(p: Principal, req: { kind: string; tenant?: string; target: { name?: string; id: string }; input?: unknown }): Promise<Operation> {
      started.push({ kind: req.kind, tenant: req.tenant, target: req.target.name ?? req.target.id, by: p });
      const name = req.target.name;
      if (req.tenant !== undefined && name !== undefined && (req.kind === 'vm.start' || req.kind === 'vm.stop'))
        await vmRepo.update(req.tenant, name, { running: req.kind === 'vm.start' });
      return { id: `op-${started.length}`, kind: req.kind, target: req.target } as unknown as Operation;
    },
  };
  const images = {
    async resolve(): Promise<never> {
      throw new Error('no images in this rig');
    },
  };
  const vms = createVmService({ repo: vmRepo, tenants, images, operations });
  const labs = createLabService({ labs: labRepo, vms: vmRepo, tenants, images, operations, arcAvailable: true, clock });
  const syncs: PagesRig['syncs'] = [];
  const rosterSync = {
    async start(tenantId: string, lab: string, trigger: 'schedule' | 'launch' | 'manual', by: string) {
      syncs.push({ tenant: tenantId, lab, trigger, by });
      return { operationId: `sync-${syncs.length}` };
    },
  };
  const sessions = memorySessions();
  const auditLog = createMemoryAuditLog();
  const app = await buildApp({
    logger: false,
    devMode: false,
    corsOrigins: [],
    bodyLimitBytes: 1024 * 1024,
    modules: [
      // The base GraphQL schema names the tenant roles and has empty Mutation and Subscription types
      // that the app's modules fill; this rig has none of them.
      {
        name: 'graphql-base',
        handlers: {},
        graphql: {
          typeDefs: 'enum TenantRole { owner member }\nextend type Mutation { unused: Boolean }\nextend type Subscription { unused: Boolean }',
          resolvers: {},
        },
      },
      ltiPagesModule({ sessions, labs, vms, rosterSync, clock, frameAncestors: options.frameAncestors ?? '*' }),
      ltiStylesheetModule(),
    ],
    principals: {
      async resolve() {
        throw new UnauthenticatedError('no tokens in this rig');
      },
    },
    idempotency: createMemoryIdempotencyStore(),
    auditLog,
    dashboardQueues: [],
    dashboardWrite: false,
    devTokens: undefined,
    readiness: [],
    metrics: new Registry(),
    rateLimitPerMinute: 1_000_000,
    rateLimitRedis: undefined,
    maxEventLoopDelayMs: 0,
  });
  await app.ready();
  return {
    app,
    sessions,
    vmRepo,
    labRepo,
    auditLog,
    started,
    syncs,
    async session(given) {
      const { lab: _lab, ...init } = given;
      const lab = Object.hasOwn(given, 'lab') ? given.lab : LAB;
      seq += 1;
      let session: LtiSession = {
        id: `sess-${seq}-${Math.random().toString(36).slice(2)}`,
        tenant: TENANT_A,
        registrationId: 'reg-1',
        deploymentId: 'dep-1',
        contextId: 'ctx-1',
        contextTitle: 'Operating Systems 101',
        lmsUserId: `lms-${seq}`,
        csrf: `csrf-${seq}-${Math.random().toString(36).slice(2)}`,
        expiresAt: NOW + 3_600_000,
        ...init,
      };
      if (lab !== undefined) session = { ...session, lab };
      await sessions.put(session);
      return { cookie: `lp_lti_session=${session.id}`, session };
    },
    async close() {
      await app.close();
    },
  };
}
