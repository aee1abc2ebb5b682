import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/test-app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

describe('LTI pages in the embedded default', () => {
  it('are mounted: without a launch session they ask to launch again, framed by the LMS and never cached', async () => {
    for (const url of ['/lti/learner', '/lti/instructor']) {
      const res = await t.app.inject({ method: 'GET', url, headers: { cookie: 'lp_lti_session=unknown' } });
      expect(res.statusCode).toBe(401);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.body).toContain('Launch labplane again from your course');
      expect(res.headers['content-security-policy']).toContain('frame-ancestors *');
      expect(res.headers['x-frame-options']).toBeUndefined();
      expect(res.headers['cache-control']).toBe('no-store');
    }
    const css = await t.app.inject({ method: 'GET', url: '/lti/assets/lti.css' });
    expect(css.statusCode).toBe(200);
  });

  it('a form post without a session is refused with the same page, not a problem document', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/lti/learner/start',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'csrf=x',
    });
    expect(res.statusCode).toBe(401);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
  });

  it('other routes still refuse form bodies (415): only routes whose contract lists forms take them', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/tenants',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: await t.bearer({ sub: 'alice', roles: ['platform-admin'] }) },
      payload: 'id=x',
    });
    expect(res.statusCode).toBe(415);
  });
});
