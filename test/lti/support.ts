import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey as JoseCryptoKey, type JWK } from 'jose';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { createMemoryAuditLog } from '../../src/adapters/memory/audit-log.js';
import { createMemoryIdempotencyStore } from '../../src/adapters/memory/idempotency-store.js';
import { createMemoryImageRepository } from '../../src/adapters/memory/image-repository.js';
import { createMemoryLabRepository, type MemoryLabRepository } from '../../src/adapters/memory/lab-repository.js';
import { createMemoryLaunchStateStore, createMemoryLtiSessionStore, createMemoryNonceLedger } from '../../src/adapters/memory/lti-stores.js';
import { createMemoryTenantRepository } from '../../src/adapters/memory/tenant-repository.js';
import { createMemoryVmRepository } from '../../src/adapters/memory/vm-repository.js';
import { createIdTokenVerifier } from '../../src/adapters/lti/id-token-verifier.js';
import { buildApp } from '../../src/api/app.js';
import { operationTypeDefs } from '../../src/api/graphql/operations.js';
import { tenantTypeDefs } from '../../src/api/graphql/schema.js';
import { ltiLaunchModule, LTI_SESSION_COOKIE } from '../../src/api/lti/launch.js';
import { ltiStylesheetModule } from '../../src/api/lti/pages.js';
import type { AuditEvent, AuditLog } from '../../src/domain/audit/audit.js';
import type { Image, ImageSpec } from '../../src/domain/images/image.js';
import { createImageLocator } from '../../src/domain/images/image-locator.js';
import { CLAIM, LTI_VERSION, MESSAGE_TYPE, ROLE } from '../../src/domain/lti/claims.js';
import type { DirectoryMatch, LaunchState, LaunchStateStore, LtiSession, LtiSessionStore, ToolKeys } from '../../src/domain/lti/ports.js';
import type { LtiRegistration } from '../../src/domain/lti/registration.js';
import { createLabService, type LabService } from '../../src/domain/labs/lab-service.js';
import type { Operation } from '../../src/domain/operations/operation.js';
import { PROFILE_DEFAULTS } from '../../src/domain/tenants/tenant.js';

export const TOOL = 'https://tool.example.edu';
export const LMS_A = 'https://lms-a.example.com';
export const LMS_B = 'https://lms-b.example.com';

/** A platform in the test: its key pairs, its JWKS served through the injected fetch. */
export interface TestPlatform {
  readonly issuer: string;
  kid: string;
  readonly keys: Map<string, JoseCryptoKey>;
  /** Public keys served at `${issuer}/jwks`. */
  published: JWK[];
  addKey(kid: string): Promise<void>;
}

async function newPlatform(issuer: string): Promise<TestPlatform> {
  const p: TestPlatform = {
    issuer,
    kid: 'k1',
    keys: new Map(),
    published: [],
    async addKey(kid) {
      const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
      p.keys.set(kid, privateKey);
      p.published.push({ ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' });
    },
  };
  await p.addKey('k1');
  return p;
}

export interface Harness {
  readonly app: FastifyInstance;
  readonly a: LtiRegistration;
  /** Every registration the launch can find (push to add one). */
  readonly registrations: LtiRegistration[];
  readonly b: LtiRegistration;
  readonly platformA: TestPlatform;
  readonly platformB: TestPlatform;
  readonly labRepo: MemoryLabRepository;
  readonly labService: LabService;
  readonly sessions: LtiSessionStore;
  readonly audit: AuditLog;
  readonly toolKeys: ToolKeys;
  /** JWKS fetches by URL. */
  readonly jwksFetches: Map<string, number>;
  readonly rosterStarts: { tenant: string; lab: string; trigger: string }[];
  /** Makes the roster sync starter fail. */
  rosterFails: boolean;
  readonly directory: Map<string, DirectoryMatch>;
  /** Log lines (JSON) of the LTI module. */
  readonly logs: string[];
  readonly now: { ms: number };
  auditEvents(): Promise<readonly AuditEvent[]>;
  close(): Promise<void>;
}

const ubuntu: Image & { source: ImageSpec['source'] } = {
  scope: 'platform',
  name: 'ubuntu-24-04',
  displayName: 'Ubuntu 24.04',
  source: { type: 'http', url: 'https://images.example.com/u.qcow2' },
  sizeGi: 10,
  storageClass: 'kv-standard',
  phase: 'Ready',
  progress: 100,
  importRestarts: 0,
  createdAt: '2026-01-01T00:00:00.000Z',
};

export interface HarnessOptions {
  /** Launch states that are never removed (a store that failed to forget): the nonce ledger must still refuse a replay. */
  readonly statesNeverForget?: boolean;
  /** The tool's origin is the request's (a browser test on a real port) instead of {@link TOOL}. */
  readonly requestOrigin?: boolean;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const now = { ms: Date.parse('2026-12-06T12:00:00Z') };
  const clock = { now: () => new Date(now.ms) };
  const platformA = await newPlatform(LMS_A);
  const platformB = await newPlatform(LMS_B);
  const reg = (tenant: string, issuer: string, clientId: string): LtiRegistration => ({
    id: randomUUID(),
    tenant,
    displayName: `LMS of ${tenant}`,
    issuer,
    clientId,
    deploymentIds: ['dep-1'],
    authLoginUrl: `${issuer}/auth`,
    accessTokenUrl: `${issuer}/token`,
    jwksUrl: `${issuer}/jwks`,
    createdAt: '2026-01-01T00:00:00.000Z',
    createdBy: 'olga',
    version: '1',
  });
  const a = reg('ta', LMS_A, 'client-a');
  const b = reg('tb', LMS_B, 'client-b');
  const registrations = [a, b];
  const jwksFetches = new Map<string, number>();
  const platforms = new Map([
    [`${LMS_A}/jwks`, platformA],
    [`${LMS_B}/jwks`, platformB],
  ]);
  const fetch = async (url: string): Promise<Response> => {
    jwksFetches.set(url, (jwksFetches.get(url) ?? 0) + 1);
    const p = platforms.get(url);
    if (p === undefined) return new Response('not found', { status: 404 });
    return new Response(JSON.stringify({ keys: p.published }), { status: 200, headers: { 'content-type': 'application/json' } });
  };

  const tool = await generateKeyPair('RS256', { extractable: true });
  const toolKeys: ToolKeys = {
    current: async () => ({ kid: 'tool-1', alg: 'RS256', privateKey: tool.privateKey }),
    jwks: async () => ({ keys: [{ ...(await exportJWK(tool.publicKey)), kid: 'tool-1', alg: 'RS256', use: 'sig' }] }),
    rotate: async () => undefined,
  };

  const tenants = createMemoryTenantRepository({
    tenants: ['ta', 'tb'].map((id) => ({ id, displayName: id, profile: 'faculty' as const, ...PROFILE_DEFAULTS.faculty, members: [] })),
  });
  await tenants.start();
  const labRepo = createMemoryLabRepository({ clock });
  const imageRepo = createMemoryImageRepository({ images: [{ spec: { owner: { scope: 'platform' }, ...ubuntu } }] });
  const operations = {
    start: async (_p: unknown, req: { kind: string; tenant?: string; target: Operation['target'] }) =>
      ({ id: randomUUID(), kind: req.kind, tenant: req.tenant, target: req.target, status: 'queued' }) as unknown as Operation,
  };
  const labService = createLabService({
    labs: labRepo,
    vms: createMemoryVmRepository(),
    tenants,
    images: createImageLocator({ repo: imageRepo }),
    operations,
    arcAvailable: true,
    clock,
  });
  const audit = createMemoryAuditLog();
  const sessions = createMemoryLtiSessionStore(clock);
  const rosterStarts: Harness['rosterStarts'] = [];
  const directory = new Map<string, DirectoryMatch>();
  const logs: string[] = [];
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk: Buffer, _enc, done) {
        logs.push(chunk.toString());
        done();
      },
    }),
  );
  const h: Harness = {
    a,
    registrations,
    b,
    platformA,
    platformB,
    labRepo,
    labService,
    sessions,
    audit,
    toolKeys,
    jwksFetches,
    rosterStarts,
    rosterFails: false,
    directory,
    logs,
    now,
    app: undefined as unknown as FastifyInstance,
    auditEvents: async () => (await audit.list({}, { limit: 500 })).items,
    close: async () => {
      await h.app.close();
      await tenants.close();
    },
  };
  const module = ltiLaunchModule({
    registrations: {
      findByClient: async (iss, clientId) => registrations.find((r) => r.issuer === iss && r.clientId === clientId),
      findByIssuer: async (iss) => registrations.filter((r) => r.issuer === iss),
      get: async (tenant, id) => registrations.find((r) => r.tenant === tenant && r.id === id),
    },
    verifier: createIdTokenVerifier({ fetch, clock, cooldownMs: 0 }),
    toolKeys,
    states: options.statesNeverForget === true ? neverForget(createMemoryLaunchStateStore(clock)) : createMemoryLaunchStateStore(clock),
    nonces: createMemoryNonceLedger(clock),
    sessions,
    directory: {
      lookup: async (addresses) => new Map(addresses.map((x) => [x.toLowerCase(), directory.get(x.toLowerCase()) ?? 'not-found'])),
    },
    rosterSync: {
      start: async (tenant, lab, trigger) => {
        if (h.rosterFails) throw new Error('roster sync down');
        rosterStarts.push({ tenant, lab, trigger });
        return { operationId: randomUUID() };
      },
    },
    labRepo,
    labs: labService,
    images: { list: async (_p, owner) => ({ items: owner.scope === 'platform' ? [ubuntu] : [] }) },
    auditLog: audit,
    logger,
    clock,
    ...(options.requestOrigin === true ? {} : { publicUrl: TOOL }),
    frameAncestors: 'https://*.example.com',
  });
  const app = await buildApp({
    logger: false,
    devMode: false,
    corsOrigins: [],
    bodyLimitBytes: 1024 * 1024,
    // The GraphQL schema needs the tenants' base types; no other REST module is mounted.
    modules: [
      module,
      ltiStylesheetModule(),
      { name: 'graphql-base', handlers: {}, graphql: { typeDefs: [tenantTypeDefs, operationTypeDefs].join('\n'), resolvers: {} } },
    ],
    principals: { resolve: async () => Promise.reject(new Error('no bearer tokens here')) },
    idempotency: createMemoryIdempotencyStore(),
    auditLog: audit,
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
  (h as { app: FastifyInstance }).app = app;
  return h;
}

function neverForget(store: LaunchStateStore): LaunchStateStore {
  const seen = new Map<string, LaunchState>();
  return {
    put: async (state, value, ttl) => {
      seen.set(state, value);
      await store.put(state, value, ttl);
    },
    take: async (state) => seen.get(state),
  };
}

/** Puts back what tests change: extra registrations, keys in use, the directory, labs, roster starts. */
export async function resetHarness(h: Harness): Promise<void> {
  h.registrations.splice(2);
  h.rosterFails = false;
  h.rosterStarts.length = 0;
  h.directory.clear();
  for (const p of [h.platformA, h.platformB]) p.kid = 'k1';
  for (const lab of await h.labRepo.list()) await h.labRepo.delete(lab.tenant, lab.name);
}

/** What a login initiation gave the browser. */
export interface Started {
  readonly state: string;
  readonly nonce: string;
  /** `name=value` of the state cookie. */
  readonly cookie: string;
  readonly location: URL;
}

export async function login(h: Harness, reg: LtiRegistration = h.a, extra: Record<string, string> = {}): Promise<Started> {
  const q = new URLSearchParams({ iss: reg.issuer, login_hint: 'hint-1', target_link_uri: `${TOOL}/lti/launch`, client_id: reg.clientId, ...extra });
  const res = await h.app.inject({ method: 'GET', url: `/lti/login?${q}` });
  if (res.statusCode !== 302) throw new Error(`login answered ${res.statusCode}: ${res.body}`);
  const location = new URL(String(res.headers.location));
  const setCookie = String(res.headers['set-cookie']);
  return {
    state: location.searchParams.get('state') ?? '',
    nonce: location.searchParams.get('nonce') ?? '',
    cookie: setCookie.split(';')[0] ?? '',
    location,
  };
}

export type Claims = Record<string, unknown>;

/** Claims of a resource link launch by platform A (override or delete with `undefined`). */
export function launchClaims(h: Harness, started: Started, overrides: Claims = {}): Claims {
  const iat = Math.floor(h.now.ms / 1000);
  const base: Claims = {
    iss: h.a.issuer,
    aud: h.a.clientId,
    sub: 'lms-user-1',
    iat,
    exp: iat + 300,
    nonce: started.nonce,
    name: 'Sam Student',
    email: 'sam@uni.example',
    [CLAIM.deploymentId]: 'dep-1',
    [CLAIM.messageType]: MESSAGE_TYPE.resourceLink,
    [CLAIM.version]: LTI_VERSION,
    [CLAIM.roles]: [ROLE.learner],
    [CLAIM.resourceLink]: { id: 'rl-1', title: 'Lab' },
    [CLAIM.context]: { id: 'course-1', title: 'Networks 101' },
    [CLAIM.targetLinkUri]: `${TOOL}/lti/launch`,
  };
  const out = { ...base, ...overrides };
  for (const [k, v] of Object.entries(out)) if (v === undefined) delete out[k];
  return out;
}

export async function sign(platform: TestPlatform, claims: Claims, header: Record<string, unknown> = {}): Promise<string> {
  const key = platform.keys.get(platform.kid);
  if (key === undefined) throw new Error('no key');
  return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: platform.kid, typ: 'JWT', ...header }).sign(key);
}

export async function postLaunch(h: Harness, form: Record<string, string>, cookie?: string) {
  return h.app.inject({
    method: 'POST',
    url: '/lti/launch',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie === undefined ? {} : { cookie }) },
    payload: new URLSearchParams(form).toString(),
  });
}

/** A full launch: login, sign `claims` (from {@link launchClaims}), post. */
export async function launch(h: Harness, overrides: Claims = {}, platform: TestPlatform = h.platformA) {
  const started = await login(h);
  const token = await sign(platform, launchClaims(h, started, overrides));
  const res = await postLaunch(h, { id_token: token, state: started.state }, started.cookie);
  return { res, started, token };
}

/** The session a launch answer opened. */
export async function sessionOf(h: Harness, res: { headers: Record<string, unknown> }): Promise<LtiSession | undefined> {
  const cookies = ([] as string[]).concat((res.headers['set-cookie'] as string | string[] | undefined) ?? []);
  const c = cookies.find((x) => x.startsWith(`${LTI_SESSION_COOKIE}=`));
  const id = c?.split(';')[0]?.slice(LTI_SESSION_COOKIE.length + 1);
  return id === undefined ? undefined : h.sessions.get(id);
}

export function sessionCookie(res: { headers: Record<string, unknown> }): string {
  const cookies = ([] as string[]).concat((res.headers['set-cookie'] as string | string[] | undefined) ?? []);
  return cookies.find((x) => x.startsWith(`${LTI_SESSION_COOKIE}=`))?.split(';')[0] ?? '';
}
