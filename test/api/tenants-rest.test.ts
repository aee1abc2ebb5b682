import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, uniqueTenantId, type TestApp } from '../support/test-app.js';

let t: TestApp;
let admin: string;

beforeAll(async () => {
  t = await startTestApp();
  admin = await t.bearer({ sub: 'admin-1', roles: ['platform-admin'] });
});
afterAll(async () => {
  await t?.close();
});

function api() {
  return request(t.app.server);
}

async function createTenant(id: string, extra: Record<string, unknown> = {}) {
  return api()
    .post('/v1/tenants')
    .set('authorization', admin)
    .send({ id, displayName: `Tenant ${id}`, profile: 'student', owners: [{ principalId: 'olga' }], ...extra });
}

function expectProblem(res: request.Response, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ status, code, type: expect.any(String), title: expect.any(String) });
}

describe('tenants over REST', () => {
  it('creating a tenant answers 201 with the tenant, its quota from the profile and zero usage', async () => {
    const id = uniqueTenantId();
    const res = await createTenant(id);
    expect(res.status).toBe(201);
    expect(res.headers['location']).toBe(`/v1/tenants/${id}`);
    expect(res.headers['etag']).toMatch(/^"\d+"$/);
    expect(res.body).toMatchObject({
      id,
      profile: 'student',
      phase: 'Active',
      quota: { requestsCpu: 8, requestsMemoryGi: 16, limitsCpu: 16, limitsMemoryGi: 32, persistentVolumeClaims: 5 },
      vmCaps: { maxCpu: 2, maxMemoryGi: 4 },
      usage: { requestsCpu: 0, virtualMachines: 0 },
    });
  });

  it('a created tenant is a labelled namespace with quota, limits, network policies, roles and the owner binding', async () => {
    const id = uniqueTenantId();
    expect((await createTenant(id)).status).toBe(201);
    const em = t.deps.emulator;
    if (em === undefined) throw new Error('expected the simulated cluster');
    const base = `${em.url}/api/v1/namespaces/${id}`;
    const get = async (url: string) => (await fetch(url)).json() as Promise<Record<string, any>>;
    const ns = await get(base);
    expect(ns['metadata'].labels).toMatchObject({ 'app.kubernetes.io/managed-by': 'labplane', 'labplane.io/tenant': id });
    const quota = await get(`${base}/resourcequotas/labplane-quota`);
    expect(quota['spec'].hard).toMatchObject({ 'requests.cpu': '8', 'requests.memory': '16Gi', persistentvolumeclaims: '5' });
    expect((await get(`${base}/limitranges/labplane-limits`))['spec'].limits.length).toBeGreaterThan(0);
    const policies = await get(`${em.url}/apis/networking.k8s.io/v1/namespaces/${id}/networkpolicies`);
    const egress = JSON.stringify(policies['items']);
    expect(egress).toContain('169.254.0.0/16');
    expect(egress).toContain('168.63.129.16/32');
    const bindings = await get(`${em.url}/apis/rbac.authorization.k8s.io/v1/namespaces/${id}/rolebindings`);
    expect(bindings['items'].map((b: any) => b.subjects[0].name)).toContain('olga');
    const roles = await get(`${em.url}/apis/rbac.authorization.k8s.io/v1/namespaces/${id}/roles`);
    expect(JSON.stringify(roles['items'])).not.toMatch(/"secrets"/);
  });

  it('creating a tenant that exists answers 409 TENANT_EXISTS', async () => {
    const id = uniqueTenantId();
    expect((await createTenant(id)).status).toBe(201);
    expectProblem(await createTenant(id), 409, 'TENANT_EXISTS');
  });

  it('refuses reserved names and non-DNS ids with 400 listing the field', async () => {
    for (const id of ['default', 'kube-system', 'labplane-system']) {
      const res = await createTenant(id);
      expectProblem(res, 400, 'VALIDATION_FAILED');
      expect(res.body.errors).toEqual([expect.objectContaining({ field: '/id' })]);
    }
    const res = await createTenant('Not_A_Label');
    expectProblem(res, 400, 'VALIDATION_FAILED');
    expect(res.body.errors[0].field).toBe('/id');
  });

  it('rejects unknown body fields and lists every invalid field', async () => {
    const res = await api()
      .post('/v1/tenants')
      .set('authorization', admin)
      .send({ id: uniqueTenantId(), displayName: 'x', profile: 'nope', namespace: 'kube-system', quota: { requestsCpu: '8' } });
    expectProblem(res, 400, 'VALIDATION_FAILED');
    const fields = res.body.errors.map((e: { field: string }) => e.field);
    expect(fields).toEqual(expect.arrayContaining(['/namespace', '/profile', '/quota/requestsCpu']));
  });

  it('answers 401 with WWW-Authenticate when the token is missing or forged', async () => {
    const missing = await api().get('/v1/tenants');
    expectProblem(missing, 401, 'UNAUTHENTICATED');
    expect(missing.headers['www-authenticate']).toMatch(/^Bearer/);
    const forged = await api().get('/v1/tenants').set('authorization', 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.');
    expectProblem(forged, 401, 'UNAUTHENTICATED');
  });

  it("another tenant's member gets 404, never 403, on every tenant route", async () => {
    const id = uniqueTenantId();
    await createTenant(id);
    const eve = await t.bearer({ sub: 'eve', tenants: { elsewhere: 'owner' } });
    expectProblem(await api().get(`/v1/tenants/${id}`).set('authorization', eve), 404, 'TENANT_NOT_FOUND');
    expectProblem(await api().patch(`/v1/tenants/${id}`).set('authorization', eve).send({ displayName: 'x' }), 404, 'TENANT_NOT_FOUND');
    expectProblem(await api().get(`/v1/tenants/${id}/members`).set('authorization', eve), 404, 'TENANT_NOT_FOUND');
    expectProblem(await api().put(`/v1/tenants/${id}/members/eve`).set('authorization', eve).send({ role: 'owner' }), 404, 'TENANT_NOT_FOUND');
    const list = await api().get('/v1/tenants').set('authorization', eve);
    expect(list.status).toBe(200);
    expect(list.body.items.map((x: { id: string }) => x.id)).not.toContain(id);
  });

  it('an owner (granted by membership) renames the tenant but may not change its quota', async () => {
    const id = uniqueTenantId();
    await createTenant(id);
    const olga = await t.bearer({ sub: 'olga' });
    const renamed = await api()
      .patch(`/v1/tenants/${id}`)
      .set('authorization', olga)
      .set('content-type', 'application/merge-patch+json')
      .send('{"displayName":"Renamed"}');
    expect(renamed.status).toBe(200);
    expect(renamed.body.displayName).toBe('Renamed');
    expectProblem(
      await api()
        .patch(`/v1/tenants/${id}`)
        .set('authorization', olga)
        .send({ quota: { requestsCpu: 4 } }),
      403,
      'FORBIDDEN',
    );
  });

  it('an admin changes the quota; a stale If-Match answers 412', async () => {
    const id = uniqueTenantId();
    const created = await createTenant(id);
    const res = await api()
      .patch(`/v1/tenants/${id}`)
      .set('authorization', admin)
      .set('if-match', String(created.headers['etag']))
      .send({ quota: { requestsCpu: 4 } });
    expect(res.status).toBe(200);
    expect(res.body.quota.requestsCpu).toBe(4);
    expectProblem(
      await api().patch(`/v1/tenants/${id}`).set('authorization', admin).set('if-match', String(created.headers['etag'])).send({ displayName: 'y' }),
      412,
      'VERSION_MISMATCH',
    );
  });

  it('lists tenants page by page with a cursor', async () => {
    const ids = [uniqueTenantId('page'), uniqueTenantId('page'), uniqueTenantId('page')];
    for (const id of ids) await createTenant(id);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const res = await api()
        .get('/v1/tenants')
        .query({ limit: 2, ...(cursor ? { cursor } : {}) })
        .set('authorization', admin);
      expect(res.status).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...res.body.items.map((x: { id: string }) => x.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...seen].sort());
    expect(seen).toEqual(expect.arrayContaining(ids));
    expectProblem(await api().get('/v1/tenants').query({ limit: 0 }).set('authorization', admin), 400, 'VALIDATION_FAILED');
    expectProblem(await api().get('/v1/tenants').query({ cursor: 'garbage' }).set('authorization', admin), 400, 'VALIDATION_FAILED');
  });

  it('members: put adds (201) and replaces (200), the last owner cannot leave, delete answers 204', async () => {
    const id = uniqueTenantId();
    await createTenant(id);
    const put = (pid: string, body: object) => api().put(`/v1/tenants/${id}/members/${pid}`).set('authorization', admin).send(body);
    expect((await put('sam', { role: 'member', displayName: 'Sam' })).status).toBe(201);
    const replaced = await put('sam', { role: 'owner' });
    expect(replaced.status).toBe(200);
    expect(replaced.body).toMatchObject({ principalId: 'sam', role: 'owner', principalType: 'User' });
    expect((await put('group-1', { role: 'member', principalType: 'Group' })).status).toBe(201);
    const list = await api().get(`/v1/tenants/${id}/members`).set('authorization', admin);
    expect(list.body.items.map((m: { principalId: string }) => m.principalId).sort()).toEqual(['group-1', 'olga', 'sam']);
    expect((await api().delete(`/v1/tenants/${id}/members/sam`).set('authorization', admin)).status).toBe(204);
    expectProblem(await api().delete(`/v1/tenants/${id}/members/olga`).set('authorization', admin), 409, 'LAST_OWNER');
    expectProblem(await api().delete(`/v1/tenants/${id}/members/nobody`).set('authorization', admin), 404, 'MEMBER_NOT_FOUND');
  });

  it('a membership change applies to the next request: memberships are remembered only until a binding changes', async () => {
    const id = uniqueTenantId();
    await createTenant(id);
    const put = (pid: string, body: object) => api().put(`/v1/tenants/${id}/members/${pid}`).set('authorization', admin).send(body);
    // No tenant claim in the token: access comes from the tenant's RoleBindings alone.
    const rita = await t.bearer({ sub: 'rita-m' });
    const read = () => api().get(`/v1/tenants/${id}`).set('authorization', rita);
    const members = () => api().get(`/v1/tenants/${id}/members`).set('authorization', rita);
    expectProblem(await read(), 404, 'TENANT_NOT_FOUND');
    expect((await put('rita-m', { role: 'member' })).status).toBe(201);
    expect((await read()).status).toBe(200);
    expect((await read()).status).toBe(200);
    expectProblem(await members(), 403, 'FORBIDDEN');
    expect((await put('rita-m', { role: 'owner' })).status).toBe(200);
    expect((await members()).status).toBe(200);
    expect((await api().delete(`/v1/tenants/${id}/members/rita-m`).set('authorization', admin)).status).toBe(204);
    expectProblem(await members(), 404, 'TENANT_NOT_FOUND');
    expectProblem(await read(), 404, 'TENANT_NOT_FOUND');
  });

  it('a member sees the tenant but not its members, and cannot add members', async () => {
    const id = uniqueTenantId();
    await createTenant(id);
    const sam = await t.bearer({ sub: 'sam-x', tenants: { [id]: 'member' } });
    expect((await api().get(`/v1/tenants/${id}`).set('authorization', sam)).status).toBe(200);
    expectProblem(await api().get(`/v1/tenants/${id}/members`).set('authorization', sam), 403, 'FORBIDDEN');
    expectProblem(await api().put(`/v1/tenants/${id}/members/x`).set('authorization', sam).send({ role: 'owner' }), 403, 'FORBIDDEN');
  });

  it('deleting a tenant answers 202 with an operation that succeeds once the namespace is gone, then 404', async () => {
    const id = uniqueTenantId();
    await createTenant(id);
    const del = await api().delete(`/v1/tenants/${id}`).set('authorization', admin);
    expect(del.status).toBe(202);
    expect(del.headers['operation-location']).toBe(`/v1/operations/${del.body.id}`);
    expect(del.body).toMatchObject({ kind: 'tenant.delete', tenant: id, target: { type: 'tenant', id } });
    await expect
      .poll(async () => (await api().get(`/v1/operations/${del.body.id}`).set('authorization', admin)).body.status, { timeout: 8000 })
      .toBe('succeeded');
    await expect.poll(async () => (await api().get(`/v1/tenants/${id}`).set('authorization', admin)).status, { timeout: 5000 }).toBe(404);
  });

  it('answers unknown routes, bad JSON and wrong media types with problem+json', async () => {
    expectProblem(await api().get('/v1/nope').set('authorization', admin), 404, 'ROUTE_NOT_FOUND');
    expectProblem(
      await api().post('/v1/tenants').set('authorization', admin).set('content-type', 'application/json').send('{"id":'),
      400,
      'INVALID_JSON',
    );
    expectProblem(
      await api().post('/v1/tenants').set('authorization', admin).set('content-type', 'text/plain').send('hello'),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
  });
});
