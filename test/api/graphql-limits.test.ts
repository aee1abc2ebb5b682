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
  request(t.app.server)
    .post('/graphql')
    .set('authorization', admin)
    .set('content-type', contentType)
    .send(typeof body === 'string' ? body : JSON.stringify(body));

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

describe('GraphQL documents are budgeted before they are parsed', () => {
  const anonymous = (body: string, headers: Record<string, string> = {}) =>
    request(t.app.server).post('/graphql').set('content-type', 'application/json').set(headers).send(body);
  const manyIds = (n: number) => `{me{${'id '.repeat(n)}}}`;
  const manySpreads = (n: number) => `query{me{${'...F '.repeat(n)}}} fragment F on Me { id }`;

  it('an anonymous megabyte is refused from its Content-Length (413 problem+json), with or without a forged token', async () => {
    const body = JSON.stringify({ query: `${manyIds(330_000)} #${'x'.repeat(64)}` });
    for (const headers of [{}, { authorization: 'Bearer not-a-token' }]) {
      const res = await anonymous(body, headers);
      expect(res.status).toBe(413);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(res.body.code).toBe('PAYLOAD_TOO_LARGE');
    }
  });

  it('an anonymous document over 200 tokens is refused without being parsed', async () => {
    const res = await anonymous(JSON.stringify({ query: manyIds(250) }));
    expect(res.status).toBe(400);
    expect(res.body.errors[0].extensions.code).toBe('GRAPHQL_DOCUMENT_TOO_LARGE');
    // Under the budget the document is parsed, validated and answered as before: no token, no data.
    const small = await anonymous(JSON.stringify({ query: '{ me { id } }' }));
    expect(small.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });

  it('a signed-in caller is held to 64 Ki characters and 5,000 tokens: a megabyte of fields or 200,000 fragment spreads is refused', async () => {
    for (const query of [manyIds(330_000), manySpreads(200_000), manyIds(5_001), manySpreads(4_990)]) {
      const res = await post({ query });
      expect(res.status).toBe(400);
      expect(res.body.errors[0].extensions.code).toBe('GRAPHQL_DOCUMENT_TOO_LARGE');
    }
    const fine = await post({ query: manyIds(150) });
    expect(fine.body.errors, JSON.stringify(fine.body.errors)).toBeUndefined();
  });

  it('a JSON-encoded AST is refused as a document instead of being validated as one', async () => {
    for (const query of ['{"kind":"Document","definitions":[]}', ' {}', 'null', '[1]', '"x"', '-1']) {
      const res = await post({ query });
      expect(res.status, query).toBe(400);
      expect(res.body.errors[0].extensions.code, query).toBe('GRAPHQL_PARSE_FAILED');
    }
  });

  it('outside dev mode validation errors do not suggest field names; in dev mode they do', async () => {
    const prod = await startTestApp({ DEV_MODE: 'false', AUTH_TENANT_IDS: '11111111-1111-1111-1111-111111111111', AUTH_AUDIENCES: 'api://labplane' });
    try {
      const res = await request(prod.app.server).post('/graphql').set('content-type', 'application/json').send({ query: '{ mee { id } }' });
      expect(res.status).toBe(400);
      expect(res.body.errors[0].message).toContain('Cannot query field "mee"');
      expect(res.body.errors[0].message).not.toMatch(/Did you mean/);
    } finally {
      await prod.close();
    }
    const dev = await post({ query: '{ mee { id } }' });
    expect(dev.body.errors[0].message).toMatch(/Did you mean "me"/);
  });
});

describe('subscriptions over HTTP', () => {
  it('a subscription POSTed over HTTP is refused with 400 GRAPHQL_SUBSCRIPTION_OVER_HTTP, not failed as a 500', async () => {
    const res = await post({ query: 'subscription { operationsUpdated(tenant: "demo") { id } }' });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].extensions).toMatchObject({ code: 'GRAPHQL_SUBSCRIPTION_OVER_HTTP', status: 400 });
    const named = await post({ query: 'query Q { me { id } } subscription S { operationsUpdated(tenant: "demo") { id } }', operationName: 'Q' });
    expect(named.status).toBe(200);
    expect(named.body.data.me.id).toBe('gql-limits');
  });
});
