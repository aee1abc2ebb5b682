import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, uniqueTenantId, type TestApp } from '../support/test-app.js';

// A document seen a third time runs compiled by graphql-jit (mercurius' `jit` option,
// src/api/graphql/plugin.ts) instead of interpreted by graphql-js: the answers must not change.
// Each document below is sent six times; every answer must equal the first (interpreted) one.

let t: TestApp;
let admin: string;
let eve: string;
const tenant = uniqueTenantId('jit');

beforeAll(async () => {
  t = await startTestApp();
  admin = await t.bearer({ sub: 'admin-jit', roles: ['platform-admin'] });
  eve = await t.bearer({ sub: 'eve-jit', tenants: { other: 'owner' } });
  const created = await request(t.app.server)
    .post('/graphql')
    .set('authorization', admin)
    .send({
      query: `mutation($input: CreateTenantInput!) { createTenant(input: $input) { id } }`,
      variables: { input: { id: tenant, displayName: 'JIT', profile: 'faculty', owners: [{ principalId: 'olga' }] } },
    });
  expect(created.body.errors).toBeUndefined();
});
afterAll(async () => {
  await t?.close();
});

/** Status and body, without what differs from one request to the next by design (ids of the request and trace). */
async function answer(auth: string | undefined, body: unknown) {
  const req = request(t.app.server)
    .post('/graphql')
    .send(body as object);
  if (auth !== undefined) req.set('authorization', auth);
  const res = await req;
  const text = JSON.stringify(res.body).replace(/"(requestId|traceId)":"[^"]*"/g, '"$1":"-"');
  return { status: res.status, body: JSON.parse(text) as { data?: unknown; errors?: Array<{ extensions?: { code?: string } }> } };
}

const TENANT_READ = `query($id: ID!) { tenant(id: $id) { id displayName profile quota { requestsCpu virtualMachines } members { principalId role } } }`;

const cases: { name: string; auth: () => string | undefined; body: unknown; expectCode?: string }[] = [
  { name: 'a read with variables', auth: () => admin, body: { query: TENANT_READ, variables: { id: tenant } } },
  { name: 'a list', auth: () => admin, body: { query: `{ tenants { items { id profile } } }` } },
  { name: 'a missing tenant', auth: () => admin, body: { query: TENANT_READ, variables: { id: 'no-such-tenant' } }, expectCode: 'TENANT_NOT_FOUND' },
  { name: "another tenant's tenant", auth: () => eve, body: { query: TENANT_READ, variables: { id: tenant } }, expectCode: 'TENANT_NOT_FOUND' },
  { name: 'a variable of the wrong type', auth: () => admin, body: { query: TENANT_READ, variables: { id: { no: 1 } } } },
  { name: 'a missing required variable', auth: () => admin, body: { query: TENANT_READ, variables: {} } },
  {
    name: 'a mutation the use case refuses',
    auth: () => admin,
    body: {
      query: `mutation($input: CreateTenantInput!) { createTenant(input: $input) { id } }`,
      variables: { input: { id: 'kube-x', displayName: 'x', profile: 'student' } },
    },
    expectCode: 'VALIDATION_FAILED',
  },
  { name: 'introspection by a non-admin', auth: () => eve, body: { query: `{ __schema { types { name } } }` } },
  {
    name: 'a named operation among several',
    auth: () => admin,
    body: { query: `query A { tenants { items { id } } } query B { tenant(id: "${tenant}") { id } }`, operationName: 'B' },
  },
];

describe('GraphQL documents compiled after repeated use', () => {
  for (const c of cases) {
    it(`answer ${c.name} the same way every time`, async () => {
      const first = await answer(c.auth(), c.body);
      if (c.expectCode !== undefined) expect(first.body.errors?.[0]?.extensions?.code).toBe(c.expectCode);
      for (let i = 0; i < 5; i++) expect(await answer(c.auth(), c.body)).toEqual(first);
    });
  }
});
