import helmetPlugin from '@fastify/helmet';
import Fastify from 'fastify';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GRAPHIQL_CSP_DIRECTIVES } from '../../src/api/plugins/graphiql-page.js';
import { APP_SECURITY_HEADERS, helmetHeaders } from '../../src/api/plugins/security-headers.js';
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

  it('are on every answer: a public route, an unmatched path, a refused request', async () => {
    const names = Object.keys(reference);
    for (const res of [
      await request(t.app.server).get('/healthz'),
      await request(t.app.server).get('/no/such/path'),
      await request(t.app.server).get('/v1/tenants'),
    ]) {
      expect(pick(res.headers, names)).toEqual(reference);
    }
    expect((await request(t.app.server).get('/v1/tenants')).status).toBe(401);
  });

  it("give a route's own options over the app's (GraphiQL's page policy)", async () => {
    const own = await fastifyHelmetHeaders({ ...APP_SECURITY_HEADERS, contentSecurityPolicy: { directives: GRAPHIQL_CSP_DIRECTIVES } });
    const res = await request(t.app.server).get('/graphiql');
    expect(res.status).toBe(200);
    expect(pick(res.headers, Object.keys(own))).toEqual(own);
    expect(res.headers['content-security-policy']).toContain("'unsafe-inline'");
  });
});
