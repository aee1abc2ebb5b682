import { createLocalJWKSet, jwtVerify, SignJWT, type JWK } from 'jose';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ltiRegistrationName } from '../../src/adapters/kubernetes/lti-registration-repository.js';
import { LTI_KEYS_SECRET } from '../../src/adapters/kubernetes/lti-tool-keys.js';
import { MAX_LTI_REGISTRATIONS_PER_TENANT } from '../../src/domain/lti/registration.js';
import { NRPS_SCOPE } from '../../src/domain/lti/claims.js';
import { startTestApp, uniqueTenantId, type TestApp } from '../support/test-app.js';
import { emulatorOf, expectProblem } from '../vms/support.js';

let t: TestApp;
let admin: string;
let owner: string;
let member: string;
let foreignOwner: string;
let integration: string;
let a: string;
let b: string;
const api = () => request(t.app.server);
const regs = (tenant: string) => `/v1/tenants/${tenant}/lti/registrations`;
const control = () => t.deps.config.controlNamespace;
let n = 0;
const body = (over: Record<string, unknown> = {}) => ({
  displayName: 'Canvas',
  issuer: 'https://canvas.instructure.com',
  clientId: `1000000000${++n}`,
  deploymentIds: ['1:deploy'],
  authLoginUrl: 'https://sso.canvaslms.com/api/lti/authorize_redirect',
  accessTokenUrl: 'https://sso.canvaslms.com/login/oauth2/token',
  jwksUrl: 'https://sso.canvaslms.com/api/lti/security/jwks',
  ...over,
});
const gql = (auth: string, query: string, variables: Record<string, unknown>) =>
  api().post('/graphql').set('authorization', auth).send({ query, variables });

beforeAll(async () => {
  t = await startTestApp({ PUBLIC_URL: 'https://labs.uni.example.edu' });
  admin = await t.bearer({ sub: 'lti-admin', roles: ['platform-admin'] });
  a = uniqueTenantId('lti-a');
  b = uniqueTenantId('lti-b');
  for (const [id, o] of [
    [a, 'olga'],
    [b, 'bob'],
  ] as const) {
    const res = await api()
      .post('/v1/tenants')
      .set('authorization', admin)
      .send({ id, displayName: id, profile: 'faculty', owners: [{ principalId: o }] });
    expect(res.status).toBe(201);
  }
  await api().put(`/v1/tenants/${a}/members/mia`).set('authorization', admin).send({ role: 'member' });
  owner = await t.bearer({ sub: 'olga' });
  member = await t.bearer({ sub: 'mia' });
  foreignOwner = await t.bearer({ sub: 'bob' });
  integration = await t.bearer({ sub: 'canvas-app', roles: ['labs.manage'], tenants: { [a]: 'owner' } });
});
afterAll(async () => {
  await t?.close();
});

describe('LTI registrations over REST', () => {
  it('an owner registers, reads (with an ETag), updates with If-Match and deletes; the ConfigMap is in the control namespace', async () => {
    const created = await api().post(regs(a)).set('authorization', owner).send(body());
    expect(created.status, created.text).toBe(201);
    const id = created.body.id as string;
    expect(created.headers['location']).toBe(`${regs(a)}/${id}`);
    expect(created.body).toMatchObject({ tenant: a, issuer: 'https://canvas.instructure.com', createdBy: 'olga', deploymentIds: ['1:deploy'] });
    expect(emulatorOf(t).store.get('configmaps', control(), ltiRegistrationName(created.body.issuer, created.body.clientId))).toBeDefined();

    const got = await api()
      .get(`${regs(a)}/${id}`)
      .set('authorization', owner);
    expect(got.status).toBe(200);
    const etag = got.headers['etag'] as string;
    expect(etag).toMatch(/^"\S+"$/);
    expect((await api().get(regs(a)).set('authorization', owner)).body.items.map((r: { id: string }) => r.id)).toContain(id);

    const changed = body({ clientId: created.body.clientId, deploymentIds: ['1:deploy', '2:other'] });
    const updated = await api()
      .put(`${regs(a)}/${id}`)
      .set('authorization', owner)
      .set('if-match', etag)
      .send(changed);
    expect(updated.status, updated.text).toBe(200);
    expect(updated.body.deploymentIds).toEqual(['1:deploy', '2:other']);
    expect(updated.headers['etag']).not.toBe(etag);
    expectProblem(
      await api()
        .put(`${regs(a)}/${id}`)
        .set('authorization', owner)
        .set('if-match', etag)
        .send(changed),
      412,
      'VERSION_MISMATCH',
    );

    expect(
      (
        await api()
          .delete(`${regs(a)}/${id}`)
          .set('authorization', owner)
      ).status,
    ).toBe(204);
    expectProblem(
      await api()
        .get(`${regs(a)}/${id}`)
        .set('authorization', owner),
      404,
      'LTI_REGISTRATION_NOT_FOUND',
    );
  });

  it('isolation: another tenant’s owner gets 404 for A, a member of A gets 403, an integration is refused; B never sees A’s', async () => {
    const created = await api().post(regs(a)).set('authorization', owner).send(body());
    const id = created.body.id as string;
    expectProblem(await api().get(regs(a)).set('authorization', foreignOwner), 404, 'TENANT_NOT_FOUND');
    expectProblem(
      await api()
        .get(`${regs(a)}/${id}`)
        .set('authorization', foreignOwner),
      404,
      'TENANT_NOT_FOUND',
    );
    expectProblem(
      await api()
        .put(`${regs(a)}/${id}`)
        .set('authorization', foreignOwner)
        .send(body()),
      404,
      'TENANT_NOT_FOUND',
    );
    expectProblem(
      await api()
        .delete(`${regs(a)}/${id}`)
        .set('authorization', foreignOwner),
      404,
      'TENANT_NOT_FOUND',
    );
    // B's owner naming A's registration under B: not found either.
    expectProblem(
      await api()
        .get(`${regs(b)}/${id}`)
        .set('authorization', foreignOwner),
      404,
      'LTI_REGISTRATION_NOT_FOUND',
    );
    expectProblem(
      await api()
        .delete(`${regs(b)}/${id}`)
        .set('authorization', foreignOwner),
      404,
      'LTI_REGISTRATION_NOT_FOUND',
    );
    expect((await api().get(regs(b)).set('authorization', foreignOwner)).body.items).toEqual([]);
    expectProblem(await api().get(regs(a)).set('authorization', member), 403, 'FORBIDDEN');
    expectProblem(await api().post(regs(a)).set('authorization', member).send(body()), 403, 'FORBIDDEN');
    expectProblem(await api().get(`/v1/tenants/${a}/lti/tool-configuration`).set('authorization', member), 403, 'FORBIDDEN');
    expectProblem(await api().post(regs(a)).set('authorization', integration).send(body()), 403, 'FORBIDDEN');
    expect(
      (
        await api()
          .get(`${regs(a)}/${id}`)
          .set('authorization', owner)
      ).status,
    ).toBe(200);
  });

  it('(issuer, clientId) is unique across tenants: 409 LTI_REGISTRATION_EXISTS', async () => {
    const first = await api().post(regs(a)).set('authorization', owner).send(body());
    expect(first.status).toBe(201);
    const dup = await api()
      .post(regs(b))
      .set('authorization', foreignOwner)
      .send(body({ clientId: first.body.clientId }));
    expectProblem(dup, 409, 'LTI_REGISTRATION_EXISTS');
    const other = await api().post(regs(b)).set('authorization', foreignOwner).send(body());
    expectProblem(
      await api()
        .put(`${regs(b)}/${other.body.id}`)
        .set('authorization', foreignOwner)
        .send(body({ clientId: first.body.clientId })),
      409,
      'LTI_REGISTRATION_EXISTS',
    );
  });

  it('bad input is 400 with errors[] naming each field', async () => {
    const res = await api()
      .post(regs(a))
      .set('authorization', owner)
      .send(body({ issuer: 'canvas.example.edu', jwksUrl: 'not a url', authLoginUrl: 'ftp://x.example.edu' }));
    expectProblem(res, 400, 'VALIDATION_FAILED');
    const fields = (res.body.errors as Array<{ field: string }>).map((e) => e.field).sort();
    expect(fields).toEqual(['/authLoginUrl', '/issuer', '/jwksUrl']);
    expectProblem(
      await api()
        .post(regs(a))
        .set('authorization', owner)
        .send(body({ deploymentIds: ['x', 'x'] })),
      400,
      'VALIDATION_FAILED',
    );
    expectProblem(
      await api()
        .post(regs(a))
        .set('authorization', owner)
        .send(body({ deploymentIds: [] })),
      400,
      'VALIDATION_FAILED',
    );
    const query = await api()
      .post(regs(a))
      .set('authorization', owner)
      .send(body({ issuer: 'https://lms.example.edu/?x=1' }));
    expectProblem(query, 400, 'VALIDATION_FAILED');
    expectProblem(
      await api()
        .post(regs(a))
        .set('authorization', owner)
        .send(body({ clientId: '' })),
      400,
      'VALIDATION_FAILED',
    );
    expectProblem(
      await api()
        .post(regs(a))
        .set('authorization', owner)
        .send({ ...body(), extra: 1 }),
      400,
      'VALIDATION_FAILED',
    );
    expectProblem(
      await api()
        .get(`${regs(a)}/not-a-uuid`)
        .set('authorization', owner),
      400,
      'VALIDATION_FAILED',
    );
    expectProblem(
      await api()
        .put(`${regs(a)}/${crypto.randomUUID()}`)
        .set('authorization', owner)
        .set('if-match', 'nope')
        .send(body()),
      412,
      'BAD_IF_MATCH',
    );
  });

  it(`a tenant holds at most ${MAX_LTI_REGISTRATIONS_PER_TENANT}: one more is 409 LTI_REGISTRATION_LIMIT_REACHED`, async () => {
    const c = uniqueTenantId('lti-c');
    await api()
      .post('/v1/tenants')
      .set('authorization', admin)
      .send({ id: c, displayName: c, profile: 'faculty', owners: [{ principalId: 'cora' }] });
    for (let i = 0; i < MAX_LTI_REGISTRATIONS_PER_TENANT; i++)
      expect((await api().post(regs(c)).set('authorization', admin).send(body())).status).toBe(201);
    const over = await api().post(regs(c)).set('authorization', admin).send(body());
    expectProblem(over, 409, 'LTI_REGISTRATION_LIMIT_REACHED');
    expect(over.body.details).toMatchObject({ limit: MAX_LTI_REGISTRATIONS_PER_TENANT });
    // Deleting the tenant removes its registrations (they live in the control namespace).
    const op = await api().delete(`/v1/tenants/${c}`).set('authorization', admin);
    expect(op.status).toBe(202);
    await expect
      .poll(async () => (await api().get(`/v1/operations/${op.body.id}`).set('authorization', admin)).body.status, { timeout: 15_000, interval: 50 })
      .toBe('succeeded');
    expect((await api().get(`/v1/operations/${op.body.id}`).set('authorization', admin)).body.result).toMatchObject({
      ltiRegistrationsDeleted: MAX_LTI_REGISTRATIONS_PER_TENANT,
    });
    const left = emulatorOf(t)
      .store.list('configmaps', { namespace: control() })
      .filter((cm) => cm.metadata.labels?.['labplane.io/tenant'] === c);
    expect(left).toEqual([]);
  });

  it('mutations are audited', async () => {
    const created = await api().post(regs(a)).set('authorization', owner).send(body());
    const log = await api().get('/v1/audit').query({ tenant: a }).set('authorization', owner);
    expect(
      log.body.items.some((e: { action: string; result: { status: number } }) => e.action === 'createLtiRegistration' && e.result.status === 201),
    ).toBe(true);
    expect(created.status).toBe(201);
  });
});

describe('LTI registrations over GraphQL', () => {
  it('create, list, get, update with ifMatch, delete; another tenant’s owner gets TENANT_NOT_FOUND, a member FORBIDDEN', async () => {
    const fields = 'id tenant issuer clientId deploymentIds displayName version';
    const input = body();
    const created = await gql(owner, `mutation($t: ID!, $i: LtiRegistrationInput!) { createLtiRegistration(tenant: $t, input: $i) { ${fields} } }`, {
      t: a,
      i: input,
    });
    const r = created.body.data?.createLtiRegistration;
    expect(r, JSON.stringify(created.body)).toMatchObject({ tenant: a, clientId: input.clientId });
    const list = await gql(owner, 'query($t: ID!) { ltiRegistrations(tenant: $t) { id } }', { t: a });
    expect(list.body.data.ltiRegistrations.map((x: { id: string }) => x.id)).toContain(r.id);
    const one = await gql(owner, `query($t: ID!, $id: ID!) { ltiRegistration(tenant: $t, id: $id) { ${fields} } }`, { t: a, id: r.id });
    expect(one.body.data.ltiRegistration).toEqual(r);
    const upd = `mutation($t: ID!, $id: ID!, $i: LtiRegistrationInput!, $v: String) { updateLtiRegistration(tenant: $t, id: $id, input: $i, ifMatch: $v) { ${fields} } }`;
    const updated = await gql(owner, upd, { t: a, id: r.id, i: { ...input, displayName: null, deploymentIds: ['9'] }, v: r.version });
    expect(updated.body.data?.updateLtiRegistration, JSON.stringify(updated.body)).toMatchObject({ deploymentIds: ['9'], displayName: null });
    const stale = await gql(owner, upd, { t: a, id: r.id, i: input, v: r.version });
    expect(stale.body.errors?.[0]?.extensions?.code).toBe('VERSION_MISMATCH');
    const foreign = await gql(foreignOwner, 'query($t: ID!) { ltiRegistrations(tenant: $t) { id } }', { t: a });
    expect(foreign.body.errors?.[0]?.extensions?.code).toBe('TENANT_NOT_FOUND');
    const byMember = await gql(member, 'mutation($t: ID!, $id: ID!) { deleteLtiRegistration(tenant: $t, id: $id) }', { t: a, id: r.id });
    expect(byMember.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const bad = await gql(owner, 'mutation($t: ID!, $i: LtiRegistrationInput!) { createLtiRegistration(tenant: $t, input: $i) { id } }', {
      t: a,
      i: body({ issuer: 'nope' }),
    });
    expect(bad.body.errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
    const deleted = await gql(owner, 'mutation($t: ID!, $id: ID!) { deleteLtiRegistration(tenant: $t, id: $id) }', { t: a, id: r.id });
    expect(deleted.body.data?.deleteLtiRegistration).toBe(true);
  });
});

describe('the tool configuration', () => {
  it('gives the fixed URLs under PUBLIC_URL, the Canvas developer key JSON and the Moodle tool fields', async () => {
    const res = await api().get(`/v1/tenants/${a}/lti/tool-configuration`).set('authorization', owner);
    expect(res.status, res.text).toBe(200);
    const base = 'https://labs.uni.example.edu';
    expect(res.body.urls).toEqual({
      login: `${base}/lti/login`,
      launch: `${base}/lti/launch`,
      deepLinking: `${base}/lti/launch`,
      jwks: `${base}/lti/jwks`,
    });
    const canvas = res.body.canvas;
    expect(canvas).toMatchObject({
      oidc_initiation_url: `${base}/lti/login`,
      target_link_uri: `${base}/lti/launch`,
      public_jwk_url: `${base}/lti/jwks`,
      scopes: [NRPS_SCOPE],
    });
    expect(typeof canvas.title).toBe('string');
    const ext = canvas.extensions[0];
    expect(ext).toMatchObject({ platform: 'canvas.instructure.com', privacy_level: 'public' });
    const placements = Object.fromEntries(
      ext.settings.placements.map((p: { placement: string; message_type: string }) => [p.placement, p.message_type]),
    );
    expect(placements).toEqual({
      course_navigation: 'LtiResourceLinkRequest',
      link_selection: 'LtiDeepLinkingRequest',
      assignment_selection: 'LtiDeepLinkingRequest',
    });
    expect(canvas.custom_fields).toBeTypeOf('object');
    expect(res.body.moodle).toMatchObject({
      toolUrl: `${base}/lti/launch`,
      ltiVersion: 'LTI 1.3',
      publicKeyType: 'Keyset URL',
      publicKeysetUrl: `${base}/lti/jwks`,
      initiateLoginUrl: `${base}/lti/login`,
      redirectionUris: [`${base}/lti/launch`],
      supportsDeepLinking: true,
      contentSelectionUrl: `${base}/lti/launch`,
    });
  });
});

describe('the tool JWKS and key rotation', () => {
  it('GET /lti/jwks is public, cacheable JSON without private members; only platform admins rotate; the old key stays published', async () => {
    const res = await api().get('/lti/jwks');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['cache-control']).toBe('public, max-age=300');
    const keys = res.body.keys as JWK[];
    expect(keys.length).toBeGreaterThanOrEqual(1);
    for (const k of keys) for (const m of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(k).not.toHaveProperty(m);
    const lti = await t.deps.lti.toolKeys.current();
    const token = await new SignJWT({ x: 1 }).setProtectedHeader({ alg: 'RS256', kid: lti.kid }).setExpirationTime('5m').sign(lti.privateKey);
    await jwtVerify(token, createLocalJWKSet({ keys }));

    expectProblem(await api().post('/v1/lti/keys/rotate').set('authorization', owner), 403, 'FORBIDDEN');
    expectProblem(await api().post('/v1/lti/keys/rotate'), 401, 'UNAUTHENTICATED');
    expect((await api().post('/v1/lti/keys/rotate').set('authorization', admin)).status).toBe(204);
    const after = (await api().get('/lti/jwks')).body.keys as JWK[];
    expect(after[0]?.kid).not.toBe(keys[0]?.kid);
    expect(after.map((k) => k.kid)).toContain(keys[0]?.kid);
    // What the old key signed still verifies.
    await jwtVerify(token, createLocalJWKSet({ keys: after }));
    expect(emulatorOf(t).store.get('secrets', control(), LTI_KEYS_SECRET)).toBeDefined();
  });
});
