import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, uniqueTenantId, type TestApp } from '../support/test-app.js';

/** Redis configured but not answering (nothing listens on the port). */
let t: TestApp;
let admin: string;
beforeAll(async () => {
  t = await startTestApp({ REDIS_URL: 'redis://127.0.0.1:6399', EMBEDDED_WORKER: 'false', DEV_TOKEN_SECRET: 'd'.repeat(40) });
  admin = await t.bearer({ sub: 'admin-redis-down', roles: ['platform-admin'] });
});
afterAll(async () => {
  await t?.close();
});

describe('when Redis is unreachable', () => {
  it('answers 503 with Retry-After for what needs Redis, and says so on /readyz', async () => {
    const ops = await request(t.app.server).get('/v1/operations').set('authorization', admin);
    expect(ops.status).toBe(503);
    expect(ops.headers['retry-after']).toBeDefined();
    expect(ops.body.code).toBe('REDIS_UNAVAILABLE');
    const ready = await request(t.app.server).get('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.details.checks).toMatchObject({ kubernetes: { ok: true }, redis: { ok: false } });
  });

  it('keeps serving what does not need Redis', async () => {
    const id = uniqueTenantId('nored');
    const created = await request(t.app.server).post('/v1/tenants').set('authorization', admin).send({ id, displayName: 'x', profile: 'student' });
    expect(created.status).toBe(201);
    expect((await request(t.app.server).get(`/v1/tenants/${id}`).set('authorization', admin)).status).toBe(200);
    const withKey = await request(t.app.server)
      .post('/v1/tenants')
      .set('authorization', admin)
      .set('idempotency-key', 'k1')
      .send({ id: uniqueTenantId('nored'), displayName: 'x', profile: 'student' });
    expect(withKey.status).toBe(503);
  });
});
