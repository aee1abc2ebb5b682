import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIM_LMS_CLIENT_ID } from '../../src/adapters/sim/lms/index.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

describe('the simulated LMS in the embedded default', () => {
  it('is served under /sim/lms and registers itself in the demo tenant, once, for the origin it is opened at', async () => {
    const origin = 'http://lms-test.localhost:8080';
    const issuer = `${origin}/sim/lms`;
    expect(await t.deps.lti.registrations.findByClient(issuer, SIM_LMS_CLIENT_ID)).toBeUndefined();
    const home = await t.app.inject({ method: 'GET', url: '/sim/lms', headers: { host: 'lms-test.localhost:8080' } });
    expect(home.statusCode).toBe(200);
    expect(home.headers['content-type']).toMatch(/^text\/html/);
    const course = await t.app.inject({ method: 'GET', url: '/sim/lms/courses/CS101', headers: { host: 'lms-test.localhost:8080' } });
    expect(course.statusCode).toBe(200);
    const reg = await t.deps.lti.registrations.findByClient(issuer, SIM_LMS_CLIENT_ID);
    expect(reg).toMatchObject({ tenant: 'demo', authLoginUrl: `${issuer}/auth`, jwksUrl: `${issuer}/jwks`, accessTokenUrl: `${issuer}/token` });
    expect((await t.deps.lti.registrations.list('demo')).filter((r) => r.issuer === issuer)).toHaveLength(1);
    const jwks = await t.app.inject({ method: 'GET', url: '/sim/lms/jwks' });
    expect(jwks.statusCode).toBe(200);
    expect((jwks.json() as { keys: unknown[] }).keys).toHaveLength(1);
  });
});
