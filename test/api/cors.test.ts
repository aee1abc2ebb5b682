import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/test-app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ CORS_ORIGINS: 'https://portal.example.edu' });
});
afterAll(async () => {
  await t?.close();
});

describe('CORS', () => {
  it('allows browsers of configured origins only', async () => {
    const ok = await request(t.app.server)
      .options('/v1/tenants')
      .set('origin', 'https://portal.example.edu')
      .set('access-control-request-method', 'POST')
      .set('access-control-request-headers', 'authorization,content-type');
    expect(ok.status).toBe(204);
    expect(ok.headers['access-control-allow-origin']).toBe('https://portal.example.edu');
    const evil = await request(t.app.server)
      .options('/v1/tenants')
      .set('origin', 'https://evil.example.com')
      .set('access-control-request-method', 'POST');
    expect(evil.headers['access-control-allow-origin']).toBeUndefined();
    const simple = await request(t.app.server).get('/healthz').set('origin', 'https://evil.example.com');
    expect(simple.headers['access-control-allow-origin']).toBeUndefined();
  });
});
