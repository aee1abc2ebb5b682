import helmetPlugin from '@fastify/helmet';
import Fastify from 'fastify';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GRAPHIQL_CSP_DIRECTIVES } from '../../src/api/plugins/graphiql-page.js';
import { API_SECURITY_HEADERS, APP_SECURITY_HEADERS, helmetHeaders, isApiPath } from '../../src/api/plugins/security-headers.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/** The headers @fastify/helmet (built per request) sets with `options`: the reference. */
async function fastifyHelmetHeaders(options: object): Promise<Record<string, string>> {
  const ref = Fastify({ logger: false });
  await ref.register(helmetPlugin, options);
  ref.get('/', async () => 'x');
  const res = await ref.inject({ method: 'GET', url: '/' });
  await ref.close();
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers)) {
    if (!['content-type', 'content-length', 'date', 'connection', 'keep-alive'].includes(k)) out[k] = String(v);
  }
  return out;
}

function pick(headers: Record<string, unknown>, names: readonly string[]): Record<string, string> {
  return Object.fromEntries(names.map((n) => [n, String(headers[n])]));
}

let t: TestApp;
let reference: Record<string, string>;
beforeAll(async () => {
  t = await startTestApp();
  reference = await fastifyHelmetHeaders(APP_SECURITY_HEADERS);
});
afterAll(async () => {
  await t?.close();
});

describe('security headers, computed once', () => {
  it('are exactly what @fastify/helmet sets with the same options', async () => {
    expect(helmetHeaders(APP_SECURITY_HEADERS)).toEqual(reference);
    expect(Object.keys(reference)).toEqual(expect.arrayContaining(['content-security-policy', 'strict-transport-security', 'x-frame-options']));
    expect(reference['content-security-policy']).toContain("script-src 'self'");
    expect(reference['x-content-type-options']).toBe('nosniff');
  });

  it('are the API set on every API answer: a public route, an unmatched path, a refused request, a list, GraphQL', async () => {
    const bearer = await t.bearer({ sub: 'headers-admin', roles: ['platform-admin'] });
    const answers = [
      await request(t.app.server).get('/healthz'),
      await request(t.app.server).get('/no/such/path'),
      await request(t.app.server).get('/v1/tenants'),
      await request(t.app.server).get('/v1/tenants').set('authorization', bearer),
      await request(t.app.server).post('/graphql').set('authorization', bearer).send({ query: '{ __typename }' }),
      await request(t.app.server).get('/openapi.json'),
    ];
    expect(answers.map((r) => r.status)).toEqual([200, 404, 401, 200, 200, 200]);
    // Only helmet's document headers are left out: every one of the API set is there, unchanged.
    const documentOnly = Object.keys(reference).filter((name) => !(name in API_SECURITY_HEADERS));
    expect(documentOnly.sort()).toEqual([
      'cross-origin-opener-policy',
      'origin-agent-cluster',
      'referrer-policy',
      'x-dns-prefetch-control',
      'x-download-options',
      'x-permitted-cross-domain-policies',
      'x-xss-protection',
    ]);
    for (const [i, res] of answers.entries()) {
      expect(pick(res.headers, Object.keys(API_SECURITY_HEADERS)), `answer ${i}`).toEqual(API_SECURITY_HEADERS);
      for (const name of documentOnly) expect(res.headers[name], `answer ${i}: ${name}`).toBeUndefined();
    }
    // As strict as helmet's on what both set: no framing at all, nothing loaded, HSTS the same.
    expect(API_SECURITY_HEADERS['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(API_SECURITY_HEADERS['content-security-policy']).toContain("default-src 'none'");
    expect(API_SECURITY_HEADERS['strict-transport-security']).toBe(reference['strict-transport-security']);
    expect(API_SECURITY_HEADERS['x-content-type-options']).toBe(reference['x-content-type-options']);
    expect(API_SECURITY_HEADERS['cross-origin-resource-policy']).toBe(reference['cross-origin-resource-policy']);
  });

  it("are helmet's whole set on the pages: the docs UI and its files", async () => {
    for (const url of ['/docs/', '/docs/static/index.html']) {
      const res = await request(t.app.server).get(url).redirects(1);
      expect(res.status, url).toBe(200);
      expect(pick(res.headers, Object.keys(reference)), url).toEqual(reference);
    }
  });

  it('tell API paths from pages by their path', () => {
    for (const api of ['/v1/tenants', '/v1/tenants/{tenant}/vms/{name}', '/graphql', '/healthz', '/readyz', '/metrics', '/openapi.json'])
      expect(isApiPath(api), api).toBe(true);
    for (const page of ['/docs', '/docs/*', '/graphiql', '/console/vnc', '/admin/queues', '/lti/launch', '/lti/learner', '/v1x', '/'])
      expect(isApiPath(page), page).toBe(false);
  });

  it("give a route's own options over the app's (GraphiQL's page policy)", async () => {
    const own = await fastifyHelmetHeaders({ ...APP_SECURITY_HEADERS, contentSecurityPolicy: { directives: GRAPHIQL_CSP_DIRECTIVES } });
    const res = await request(t.app.server).get('/graphiql');
    expect(res.status).toBe(200);
    expect(pick(res.headers, Object.keys(own))).toEqual(own);
    expect(res.headers['content-security-policy']).toContain("'unsafe-inline'");
  });
});
