import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKubeClient } from '../../src/adapters/kubernetes/kube-client.js';
import { createKubeLabRepository, type KubeLabRepository } from '../../src/adapters/kubernetes/lab-repository.js';
import type { Directory, DirectoryMatch } from '../../src/domain/lti/ports.js';
import { loadConfig } from '../../src/main/config.js';
import { createLogger } from '../../src/main/logger.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { expectProblem } from '../vms/support.js';
import { labBody, labClient, person, personId } from './support.js';

/** The tenants' directory: `user<n>@uni.example` is personId(n); `twin@uni.example` names two users. */
const directory: Directory = {
  async lookup(addresses) {
    const out = new Map<string, DirectoryMatch>();
    for (const a of addresses) {
      const m = /^user(\d+)@uni\.example$/.exec(a);
      out.set(a, a === 'twin@uni.example' ? 'ambiguous' : m ? { id: personId(Number(m[1])), displayName: `User ${m[1]}` } : 'not-found');
    }
    return out;
  },
};

let t: TestApp;
let admin: string;
let olga: string;
let rest: ReturnType<typeof labClient>;
let labs: KubeLabRepository;

beforeAll(async () => {
  t = await startTestApp({}, { directory });
  admin = await t.bearer({ sub: 'admin-lti', roles: ['platform-admin'] });
  olga = await t.bearer({ sub: 'olga' });
  rest = labClient(t);
  const logger = createLogger(loadConfig({ LOG_LEVEL: 'silent' }));
  labs = createKubeLabRepository({ client: createKubeClient({ kubeConfig: t.deps.world.kubeConfig, logger }) });
  await labs.start();
});
afterAll(async () => {
  await labs?.close();
  await t?.close();
});

const gql = async (auth: string, query: string, variables: Record<string, unknown> = {}) =>
  (await request(t.app.server).post('/graphql').set('authorization', auth).send({ query, variables })).body as {
    data?: Record<string, any>;
    errors?: { message: string; extensions?: Record<string, any> }[];
  };

/** Binds a lab to an LMS course, as Deep Linking does. */
async function bind(tenant: string, name: string): Promise<void> {
  await expect.poll(async () => (await labs.get(tenant, name)) !== undefined).toBe(true);
  const lab = await labs.get(tenant, name);
  if (lab === undefined) throw new Error('no lab');
  const { uid: _u, createdAt: _c, version: _v, generation: _g, deleting: _d, status: _s, ...spec } = lab;
  await labs.update(tenant, name, {
    ...spec,
    lti: {
      registrationId: '5b0c7d4e-1d2f-4a55-9d61-1c0f3f6f9a01',
      deploymentId: 'dep-1',
      contextId: 'ctx-42',
      contextTitle: 'Databases',
      membershipsUrl: 'https://lms.example.edu/api/lti/courses/42/names_and_roles',
      boundAt: '2026-03-02T10:00:00.000Z',
    },
  });
}

describe('LMS roster sync over the API', () => {
  it('POST …/lti/sync: 409 for an unbound lab, 202 with the operation once bound, 404 from another tenant; the outcome shows on the lab', async () => {
    const tenant = await rest.createTenant(admin);
    await rest.createLab(olga, tenant, labBody('db101'));
    const sync = (auth: string, tn = tenant) => rest.api().post(`/v1/tenants/${tn}/labs/db101/lti/sync`).set('authorization', auth);

    expectProblem(await sync(olga), 409, 'LAB_NOT_LTI_BOUND');

    await bind(tenant, 'db101');
    const res = await sync(olga);
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.body).toMatchObject({ kind: 'lti.roster-sync', tenant, target: { type: 'lab', name: 'db101' } });
    expect(res.headers['operation-location']).toBe(`/v1/operations/${res.body.id}`);

    const other = await rest.createTenant(admin, { owners: [{ principalId: 'mallory' }] });
    const mallory = await t.bearer({ sub: 'mallory' });
    expectProblem(await sync(mallory), 404, 'TENANT_NOT_FOUND');
    expectProblem(await sync(olga, other), 404, 'TENANT_NOT_FOUND');
    expectProblem(await sync(admin, other), 404, 'LAB_NOT_FOUND');

    // No registration is known here: the sync fails with a clear code, recorded on the lab.
    const op = await rest.settle(olga, res.body.id as string);
    expect(op).toMatchObject({ status: 'failed', error: { code: 'LTI_REGISTRATION_GONE' } });
    const got = await rest.lab(olga, tenant, 'db101');
    expect(got.body.lti).toMatchObject({ contextId: 'ctx-42', contextTitle: 'Databases' });
    expect(got.body.ltiSync).toMatchObject({ trigger: 'manual', outcome: 'failed', code: 'LTI_REGISTRATION_GONE', operationId: res.body.id });

    const audit = await rest.api().get(`/v1/audit?tenant=${tenant}`).set('authorization', admin);
    expect(audit.body.items.map((e: { action: string }) => e.action)).toEqual(expect.arrayContaining(['syncLabFromLms', 'lti.roster-sync']));
  });

  it('GraphQL: syncLabFromLms starts the sync; Lab.lti and Lab.ltiSync read back', async () => {
    const tenant = await rest.createTenant(admin);
    await rest.createLab(olga, tenant, labBody('os201'));
    const unbound = await gql(olga, 'mutation($t: ID!) { syncLabFromLms(tenant: $t, name: "os201") { id } }', { t: tenant });
    expect(unbound.errors?.[0]?.extensions?.['code']).toBe('LAB_NOT_LTI_BOUND');
    await bind(tenant, 'os201');
    const started = await gql(olga, 'mutation($t: ID!) { syncLabFromLms(tenant: $t, name: "os201") { id kind status } }', { t: tenant });
    expect(started.errors).toBeUndefined();
    expect(started.data?.['syncLabFromLms']).toMatchObject({ kind: 'lti.roster-sync' });
    await rest.settle(olga, started.data?.['syncLabFromLms'].id as string);
    const read = await gql(
      olga,
      'query($t: ID!) { lab(tenant: $t, name: "os201") { lti { contextId membershipsUrl } ltiSync { trigger outcome code unresolved { reason } } } }',
      {
        t: tenant,
      },
    );
    expect(read.errors).toBeUndefined();
    expect(read.data?.['lab']).toEqual({
      lti: { contextId: 'ctx-42', membershipsUrl: 'https://lms.example.edu/api/lti/courses/42/names_and_roles' },
      ltiSync: { trigger: 'manual', outcome: 'failed', code: 'LTI_REGISTRATION_GONE', unresolved: [] },
    });

    // Unresolved members as a sync records them: GraphQL enums spell `not-in-directory` as `not_in_directory`.
    await labs.updateStatus(tenant, 'os201', (s) => ({
      ...s,
      ltiSync: {
        at: '2026-03-02T10:00:00.000Z',
        trigger: 'schedule',
        outcome: 'succeeded',
        members: 2,
        students: 0,
        instructors: 0,
        unresolved: [
          { lmsUserId: 'lms-1', role: 'student', reason: 'no-email' },
          { lmsUserId: 'lms-2', email: 'x@uni.example', role: 'instructor', reason: 'not-in-directory' },
        ],
      },
    }));
    await expect
      .poll(
        async () =>
          (
            await gql(olga, 'query($t: ID!) { lab(tenant: $t, name: "os201") { ltiSync { members unresolved { lmsUserId email role reason } } } }', {
              t: tenant,
            })
          ).data?.['lab'],
      )
      .toEqual({
        ltiSync: {
          members: 2,
          unresolved: [
            { lmsUserId: 'lms-1', email: null, role: 'student', reason: 'no_email' },
            { lmsUserId: 'lms-2', email: 'x@uni.example', role: 'instructor', reason: 'not_in_directory' },
          ],
        },
      });
    expect((await rest.lab(olga, tenant, 'os201')).body.ltiSync.unresolved[1]).toEqual({
      lmsUserId: 'lms-2',
      email: 'x@uni.example',
      role: 'instructor',
      reason: 'not-in-directory',
    });
  });
});

describe('lab people by email', () => {
  it('PUT …/roster resolves addresses through the directory; unresolved ones are 422 with one entry each and nothing is written', async () => {
    const tenant = await rest.createTenant(admin);
    await rest.createLab(olga, tenant, labBody('net301', { students: [person(1)] }));
    const roster = (students: unknown[]) => rest.api().put(`/v1/tenants/${tenant}/labs/net301/roster`).set('authorization', olga).send({ students });

    const refused = await roster([person(1), { email: 'user2@uni.example' }, { email: 'nobody@uni.example' }, { email: 'twin@uni.example' }]);
    expectProblem(refused, 422, 'EMAIL_NOT_RESOLVED');
    expect(refused.body.errors).toEqual([
      { field: '/students/2/email', reason: 'not-in-directory', message: expect.any(String) },
      { field: '/students/3/email', reason: 'ambiguous', message: expect.any(String) },
    ]);
    expect((await rest.students(olga, tenant, 'net301')).body.items.map((s: { id: string }) => s.id)).toEqual([personId(1)]);

    const ok = await roster([person(1), { email: 'User2@uni.example', displayName: 'Ada', lmsUserId: 'lms-2' }]);
    expect(ok.status, JSON.stringify(ok.body)).toBe(202);
    expect(ok.body.diff).toMatchObject({ added: [personId(2)], removed: [] });
    const students = (await rest.students(olga, tenant, 'net301')).body.items as { id: string; email?: string; displayName?: string }[];
    expect(students.find((s) => s.id === personId(2))).toMatchObject({ email: 'User2@uni.example', displayName: 'Ada', lmsUserId: 'lms-2' });

    expectProblem(await roster([{ displayName: 'nobody' }]), 400, 'VALIDATION_FAILED');
  });

  it('lab create and GraphQL take people by email too', async () => {
    const tenant = await rest.createTenant(admin);
    const created = await rest
      .api()
      .post(`/v1/tenants/${tenant}/labs`)
      .set('authorization', olga)
      .send(labBody('ai401', { instructors: [{ email: 'user900@uni.example' }], students: [{ email: 'nobody@uni.example' }] }));
    expectProblem(created, 422, 'EMAIL_NOT_RESOLVED');
    expect(created.body.errors).toEqual([{ field: '/students/0/email', reason: 'not-in-directory', message: expect.any(String) }]);
    expect((await rest.lab(olga, tenant, 'ai401')).status).toBe(404);

    await rest.createLab(
      olga,
      tenant,
      labBody('ai401', { instructors: [{ email: 'user900@uni.example' }], students: [{ email: 'user3@uni.example' }] }),
    );
    expect((await rest.lab(olga, tenant, 'ai401')).body.instructors).toEqual([
      { id: personId(900), email: 'user900@uni.example', displayName: 'User 900' },
    ]);

    const patched = await rest
      .api()
      .patch(`/v1/tenants/${tenant}/labs/ai401`)
      .set('authorization', olga)
      .send({ instructors: [{ email: 'user901@uni.example', displayName: 'Prof' }] });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body.instructors).toEqual([{ id: personId(901), email: 'user901@uni.example', displayName: 'Prof' }]);
    const patchRefused = await rest
      .api()
      .patch(`/v1/tenants/${tenant}/labs/ai401`)
      .set('authorization', olga)
      .send({ instructors: [{ email: 'twin@uni.example' }] });
    expectProblem(patchRefused, 422, 'EMAIL_NOT_RESOLVED');
    expect(patchRefused.body.errors).toEqual([{ field: '/instructors/0/email', reason: 'ambiguous', message: expect.any(String) }]);

    const res = await gql(
      olga,
      'mutation($t: ID!, $s: [LabPersonInput!]!) { syncLabRoster(tenant: $t, name: "ai401", students: $s) { diff { added } } }',
      {
        t: tenant,
        s: [{ email: 'user4@uni.example' }, { email: 'twin@uni.example' }],
      },
    );
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'EMAIL_NOT_RESOLVED', errors: [{ field: '/students/1/email', reason: 'ambiguous' }] });
    const ok = await gql(
      olga,
      'mutation($t: ID!, $s: [LabPersonInput!]!) { syncLabRoster(tenant: $t, name: "ai401", students: $s) { diff { added removed } } }',
      {
        t: tenant,
        s: [{ email: 'user4@uni.example' }],
      },
    );
    expect(ok.data?.['syncLabRoster'].diff).toEqual({ added: [personId(4)], removed: [personId(3)] });
  });
});
