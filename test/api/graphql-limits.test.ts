import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/test-app.js';

let t: TestApp;
let admin: string;
beforeAll(async () => {
  t = await startTestApp();
  admin = await t.bearer({ sub: 'gql-limits', roles: ['platform-admin'] });
});
afterAll(async () => {
  await t?.close();
});

const post = (body: unknown, contentType = 'application/json') =>
  request(t.app.server).post('/graphql').set('authorization', admin).set('content-type', contentType).send(typeof body === 'string' ? body : JSON.stringify(body));

describe('GraphQL abuse limits', () => {
  it('refuses queries nested deeper than the limit with 400, before looking at the fields', async () => {
    const tooDeep = await post({ query: '{ __schema { types { fields { type { ofType { ofType { ofType { ofType { name } } } } } } } } }' });
    expect(tooDeep.status).toBe(400);
    expect(JSON.stringify(tooDeep.body.errors)).toMatch(/depth/i);
    expect((await post({ query: '{ tenants { items { members { principalId } } } }' })).status).toBe(200);
  });

  it('refuses more aliases than the limit', async () => {
    const aliases = Array.from({ length: 16 }, (_, i) => `a${i}: me { id }`).join(' ');
    const res = await post({ query: `{ ${aliases} }` });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].extensions.code).toBe('GRAPHQL_TOO_MANY_ALIASES');
    const fine = Array.from({ length: 15 }, (_, i) => `a${i}: me { id }`).join(' ');
    expect((await post({ query: `{ ${fine} }` })).status).toBe(200);
  });

  it('refuses queries whose estimated cost is too high', async () => {
    const res = await post({ query: '{ tenants(limit: 500) { items { members { principalId } } } }' });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].extensions.code).toBe('GRAPHQL_TOO_COSTLY');
    expect((await post({ query: '{ tenants(limit: 10) { items { members { principalId } } } }' })).status).toBe(200);
  });

  it('caps batched queries', async () => {
    const one = { query: '{ me { id } }' };
    const ok = await post([one, one, one, one, one]);
    expect(ok.status).toBe(200);
    expect(ok.body).toHaveLength(5);
    const tooMany = await post([one, one, one, one, one, one]);
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.errors[0].extensions.code).toBe('VALIDATION_FAILED');
  });

  it('prevents CSRF: a query sent as a simple request (text/plain) is refused', async () => {
    const res = await post({ query: '{ me { id } }' }, 'text/plain');
    expect(res.status).toBe(400);
    const get = await request(t.app.server).get('/graphql').query({ query: '{ me { id } }' }).set('authorization', admin);
    expect(get.status).toBe(400);
  });
});
