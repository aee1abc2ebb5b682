import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, uniqueTenantId, type TestApp } from '../support/test-app.js';

let t: TestApp;
let admin: string;

beforeAll(async () => {
  t = await startTestApp();
  admin = await t.bearer({ sub: 'admin-gql', roles: ['platform-admin'] });
});
afterAll(async () => {
  await t?.close();
});

async function gql(auth: string | undefined, query: string, variables: Record<string, unknown> = {}) {
  const req = request(t.app.server).post('/graphql').send({ query, variables });
  if (auth !== undefined) req.set('authorization', auth);
  const res = await req;
  return res.body as { data: any; errors?: Array<{ message: string; extensions: { code: string; status: number } }> };
}

const CREATE = `mutation($input: CreateTenantInput!) { createTenant(input: $input) { id profile quota { requestsCpu virtualMachines } usage { virtualMachines } } }`;

describe('tenants over GraphQL', () => {
  it('creates and reads a tenant through the same use cases as REST', async () => {
    const id = uniqueTenantId('gql');
    const created = await gql(admin, CREATE, { input: { id, displayName: 'GQL', profile: 'faculty', owners: [{ principalId: 'olga' }] } });
    expect(created.errors).toBeUndefined();
    expect(created.data.createTenant).toEqual({
      id,
      profile: 'faculty',
      quota: { requestsCpu: 64, virtualMachines: 60 },
      usage: { virtualMachines: 0 },
    });
    const rest = await request(t.app.server).get(`/v1/tenants/${id}`).set('authorization', admin);
    expect(rest.status).toBe(200);
    const read = await gql(admin, `query($id: ID!) { tenant(id: $id) { id displayName members { principalId role } } }`, { id });
    expect(read.data.tenant).toEqual({ id, displayName: 'GQL', members: [{ principalId: 'olga', role: 'owner' }] });
  });

  it('carries the REST error codes in extensions.code', async () => {
    const id = uniqueTenantId('gql');
    await gql(admin, CREATE, { input: { id, displayName: 'x', profile: 'student' } });
    const dup = await gql(admin, CREATE, { input: { id, displayName: 'x', profile: 'student' } });
    expect(dup.errors?.[0]?.extensions).toMatchObject({ code: 'TENANT_EXISTS', status: 409 });
    const missing = await gql(admin, `{ tenant(id: "no-such-tenant") { id } }`);
    expect(missing.errors?.[0]?.extensions.code).toBe('TENANT_NOT_FOUND');
    const anon = await gql(undefined, `{ tenants { items { id } } }`);
    expect(anon.errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
    const bad = await gql(admin, `{ tenants { nope } }`);
    expect(bad.errors?.[0]?.extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const reserved = await gql(admin, CREATE, { input: { id: 'kube-x', displayName: 'x', profile: 'student' } });
    expect(reserved.errors?.[0]?.extensions.code).toBe('VALIDATION_FAILED');
  });

  it('hides other tenants: a foreign tenant is NOT_FOUND and absent from lists', async () => {
    const id = uniqueTenantId('gql');
    await gql(admin, CREATE, { input: { id, displayName: 'x', profile: 'student' } });
    const eve = await t.bearer({ sub: 'eve', tenants: { other: 'owner' } });
    expect((await gql(eve, `query($id: ID!) { tenant(id: $id) { id } }`, { id })).errors?.[0]?.extensions.code).toBe('TENANT_NOT_FOUND');
    const list = await gql(eve, `{ tenants(limit: 500) { items { id } } }`);
    expect(list.data.tenants.items.map((x: { id: string }) => x.id)).not.toContain(id);
    const del = await gql(eve, `mutation($id: ID!) { deleteTenant(id: $id) { id } }`, { id });
    expect(del.errors?.[0]?.extensions.code).toBe('TENANT_NOT_FOUND');
  });

  it('manages members and updates tenants', async () => {
    const id = uniqueTenantId('gql');
    await gql(admin, CREATE, { input: { id, displayName: 'x', profile: 'student', owners: [{ principalId: 'olga' }] } });
    const put = await gql(
      admin,
      `mutation($t: ID!) { putMember(tenant: $t, principalId: "sam", input: {role: member}) { principalId role principalType } }`,
      { t: id },
    );
    expect(put.data.putMember).toEqual({ principalId: 'sam', role: 'member', principalType: 'User' });
    const upd = await gql(
      admin,
      `mutation($t: ID!) { updateTenant(id: $t, input: {displayName: "New", quota: {requestsCpu: 2}}) { displayName quota { requestsCpu } } }`,
      { t: id },
    );
    expect(upd.data.updateTenant).toEqual({ displayName: 'New', quota: { requestsCpu: 2 } });
    const last = await gql(admin, `mutation($t: ID!) { deleteMember(tenant: $t, principalId: "olga") }`, { t: id });
    expect(last.errors?.[0]?.extensions.code).toBe('LAST_OWNER');
    const me = await gql(await t.bearer({ sub: 'sam' }), `{ me { id tenants { tenant role } } }`);
    expect(me.data.me.tenants).toContainEqual({ tenant: id, role: 'member' });
  });
});
