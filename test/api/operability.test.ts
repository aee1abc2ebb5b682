import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOpenApi, specOperations } from '../../src/api/openapi-spec.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

describe('operability', () => {
  it('answers /healthz and /readyz with 200 when Kubernetes answers', async () => {
    expect((await request(t.app.server).get('/healthz')).body).toEqual({ status: 'ok' });
    const ready = await request(t.app.server).get('/readyz');
    expect(ready.status).toBe(200);
    const informers = {
      tenants: { ok: true },
      webhooks: { ok: true },
      lti: { ok: true },
      images: { ok: true },
      vms: { ok: true },
      labs: { ok: true },
    };
    expect(ready.body).toEqual({ status: 'ready', checks: { kubernetes: { ok: true }, ...informers } });
  });

  it('answers /readyz with 503 and the reason when Kubernetes fails', async () => {
    const em = t.deps.emulator;
    if (em === undefined) throw new Error('expected the simulated cluster');
    em.faults.failNext(20, { status: 500 });
    try {
      const res = await request(t.app.server).get('/readyz');
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBeDefined();
      expect(res.body).toMatchObject({ code: 'NOT_READY', details: { checks: { kubernetes: { ok: false } } } });
    } finally {
      em.faults.clear();
    }
  });

  it('exposes Prometheus metrics with a request duration histogram by route and status', async () => {
    await request(t.app.server).get('/healthz');
    const res = await request(t.app.server).get('/metrics');
    expect(res.status).toBe(200);
    expect(res.text).toMatch(/labplane_http_request_duration_seconds_bucket\{[^}]*route="\/healthz"[^}]*status_code="200"/);
    expect(res.text).toContain('labplane_process_cpu_user_seconds_total');
  });

  it('serves the contract at /openapi.json, and every contract operation is a route and vice versa', async () => {
    const res = await request(t.app.server).get('/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toMatch(/^3\.1/);
    const ops = specOperations(loadOpenApi());
    for (const op of ops) {
      const url = op.path.replace(/\{(\w+)\}/g, ':$1');
      expect(t.app.hasRoute({ method: op.method.toUpperCase() as 'GET', url }), `${op.method} ${op.path}`).toBe(true);
    }
    const docs = await request(t.app.server).get('/docs/');
    expect(docs.status).toBe(200);
    expect(docs.text).toContain('swagger');
  });

  it('echoes a request id and sends security headers', async () => {
    const res = await request(t.app.server).get('/healthz').set('x-request-id', 'abc-123');
    expect(res.headers['x-request-id']).toBe('abc-123');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    const generated = await request(t.app.server).get('/healthz').set('x-request-id', 'bad id with spaces');
    expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('issues dev tokens in dev mode, and has no /dev/token route outside it', async () => {
    const res = await request(t.app.server)
      .post('/dev/token')
      .send({ sub: 'alice', roles: ['platform-admin'] });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ tokenType: 'Bearer', accessToken: expect.any(String) });
    const bad = await request(t.app.server)
      .post('/dev/token')
      .send({ sub: 'alice', roles: ['root'] });
    expect(bad.status).toBe(400);
    const prod = await startTestApp({ DEV_MODE: 'false', AUTH_TENANT_IDS: '11111111-1111-1111-1111-111111111111', AUTH_AUDIENCES: 'api://labplane' });
    try {
      const gone = await request(prod.app.server).post('/dev/token').send({ sub: 'alice' });
      expect(gone.status).toBe(404);
      expect((await request(prod.app.server).get('/openapi.json')).body.paths['/dev/token']).toBeUndefined();
      const anyToken = await request(prod.app.server).get('/v1/tenants').set('authorization', `Bearer ${res.body.accessToken}`);
      expect(anyToken.status).toBe(401);
    } finally {
      await prod.close();
    }
  });
});
