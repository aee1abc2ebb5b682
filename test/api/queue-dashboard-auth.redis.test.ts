import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_SESSION_SECONDS, sessionSeconds } from '../../src/api/plugins/admin-sign-in.js';
import { startDashboardRig, tokenOf, type DashboardRig } from '../support/dashboard-app.js';
import { startTestApp } from '../support/test-app.js';

let r: DashboardRig;
beforeAll(async () => {
  r = await startDashboardRig();
});
afterAll(async () => {
  await r?.close();
});

const PAGES = ['/admin/queues', '/admin/queues/queue/x', '/admin/queues/api/queues', '/admin/queues/static/favicon-32x32.png'];

function expectProblem(res: request.Response, status: number, code: string): void {
  expect(res.status, res.text.slice(0, 200)).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ status, code, type: expect.stringMatching(/^urn:labplane:problem:/) });
}

/** A browser's sign-in: the form posted from this very origin. */
function signIn(app: DashboardRig['app'], token: string, headers: Record<string, string> = {}) {
  return request(app.server)
    .post('/admin/sign-in')
    .set('host', 'labplane.test')
    .set('origin', 'http://labplane.test')
    .set(headers)
    .type('form')
    .send({ token });
}

function cookieOf(res: request.Response): string {
  const set = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
  expect(set).toHaveLength(1);
  return set[0] ?? '';
}

describe('queue dashboard refusals', () => {
  it('answers 401 problem+json with WWW-Authenticate without a token or with a bad one, on pages, assets and the API', async () => {
    for (const path of PAGES) {
      const none = await request(r.app.server).get(path);
      expectProblem(none, 401, 'UNAUTHENTICATED');
      expect(none.headers['www-authenticate']).toMatch(/^Bearer realm="labplane"/);
      const bad = await request(r.app.server).get(path).set('authorization', 'Bearer not.a.token');
      expectProblem(bad, 401, 'UNAUTHENTICATED');
      expectProblem(await request(r.app.server).get(path).set('cookie', 'labplane_admin=not.a.token'), 401, 'UNAUTHENTICATED');
    }
    expectProblem(await request(r.app.server).put(`/admin/queues/api/queues/${r.queueName}/retry/failed`), 401, 'UNAUTHENTICATED');
  });

  it('answers 403 problem+json to a member and to an integration without queue.admin, whatever they try', async () => {
    for (const token of [r.tokens.member, r.tokens.integration]) {
      for (const path of PAGES) expectProblem(await request(r.app.server).get(path).set('authorization', token), 403, 'FORBIDDEN');
      expectProblem(
        await request(r.app.server).put(`/admin/queues/api/queues/${r.queueName}/clean/failed`).set('authorization', token),
        403,
        'FORBIDDEN',
      );
      expectProblem(
        await request(r.app.server)
          .get('/admin/queues')
          .set('cookie', `labplane_admin=${tokenOf(token)}`),
        403,
        'FORBIDDEN',
      );
    }
  });

  it('sends a browser without a session to the sign-in page (303), but answers the API and assets with 401', async () => {
    const nav = await request(r.app.server).get('/admin/queues').set('accept', 'text/html,application/xhtml+xml,*/*;q=0.8');
    expect(nav.status).toBe(303);
    expect(nav.headers['location']).toBe('/admin/sign-in');
    const expired = await request(r.app.server)
      .get('/admin/queues/queue/x')
      .set('accept', 'text/html')
      .set('cookie', 'labplane_admin=expired.token.x');
    expect(expired.headers['location']).toBe('/admin/sign-in');
    expectProblem(await request(r.app.server).get('/admin/queues/api/queues').set('accept', 'text/html'), 401, 'UNAUTHENTICATED');
  });

  it('lets an admin in with the header or the cookie', async () => {
    const page = await request(r.app.server).get('/admin/queues').set('authorization', r.tokens.admin);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    const api = await request(r.app.server)
      .get('/admin/queues/api/queues')
      .set('cookie', `other=1; labplane_admin=${tokenOf(r.tokens.admin)}`);
    expect(api.status).toBe(200);
    expect(api.body.queues.map((q: { name: string }) => q.name)).toEqual([r.queueName]);
  });
});

describe('admin sign-in', () => {
  it('serves a form without script, under a strict CSP', async () => {
    const res = await request(r.app.server).get('/admin/sign-in');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.text).toContain('<form method="post" action="/admin/sign-in">');
    expect(res.text).not.toMatch(/<script|\son\w+=|style=/i);
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
    expect(res.headers['content-security-policy']).not.toContain('unsafe-inline');
    expect(res.headers['referrer-policy']).toBe('same-origin');
    // A no-referrer policy makes browsers post the form with `Origin: null`, which the CSRF check refuses.
    expect(res.text).not.toContain('no-referrer');
    expect((await request(r.app.server).get('/admin/sign-in.css')).headers['content-type']).toMatch(/^text\/css/);
  });

  it('sets an HttpOnly, SameSite=Strict cookie scoped to /admin for no longer than the token lives, then sends to the dashboard', async () => {
    const short = tokenOf(await r.t.bearer({ sub: 'dash-admin', roles: ['platform-admin'], expiresInSeconds: 600 }));
    const res = await signIn(r.app, short);
    expect(res.status).toBe(303);
    expect(res.headers['location']).toBe('/admin/queues');
    const cookie = cookieOf(res);
    expect(cookie).toMatch(new RegExp(`^labplane_admin=${short.replace(/\./g, '\\.')};`));
    expect(cookie).toMatch(/; Path=\/admin(;|$)/);
    expect(cookie).toMatch(/; HttpOnly(;|$)/);
    expect(cookie).toMatch(/; SameSite=Strict(;|$)/);
    expect(cookie).not.toMatch(/Secure/);
    const maxAge = Number(/Max-Age=(\d+)/.exec(cookie)?.[1]);
    expect(maxAge).toBeGreaterThan(500);
    expect(maxAge).toBeLessThanOrEqual(600);
    const inside = await request(r.app.server)
      .get('/admin/queues/api/queues')
      .set('cookie', cookie.split(';')[0] ?? '');
    expect(inside.status).toBe(200);
    const audit = await r.t.deps.jobs.auditLog.list({ actor: 'dash-admin' }, { limit: 50 });
    expect(audit.items).toContainEqual(
      expect.objectContaining({ action: 'adminSignIn', method: 'POST', path: '/admin/sign-in', result: { status: 303 } }),
    );
  });

  it('marks the cookie Secure when the browser is on https, also behind a proxy that ended TLS', async () => {
    const admin = tokenOf(r.tokens.admin);
    expect(cookieOf(await signIn(r.app, admin, { origin: 'https://labplane.test' }))).toMatch(/; Secure$/);
    expect(cookieOf(await signIn(r.app, admin, { origin: 'http://labplane.test' }))).not.toMatch(/Secure/);
    const out = await request(r.app.server).post('/admin/sign-out').set('host', 'labplane.test').set('origin', 'https://labplane.test');
    expect(cookieOf(out)).toMatch(/; Secure$/);
  });

  it('refuses a bad token (401), a token without queue.admin (403), a missing one (400): a form for a browser, problem+json otherwise', async () => {
    expectProblem(await signIn(r.app, 'nope.nope.nope'), 401, 'UNAUTHENTICATED');
    expectProblem(await signIn(r.app, tokenOf(r.tokens.member)), 403, 'FORBIDDEN');
    expectProblem(await signIn(r.app, tokenOf(r.tokens.integration)), 403, 'FORBIDDEN');
    expectProblem(await signIn(r.app, ''), 400, 'VALIDATION_FAILED');
    const page = await signIn(r.app, tokenOf(r.tokens.member), { accept: 'text/html' });
    expect(page.status).toBe(403);
    expect(page.text).toContain('does not hold the queue.admin permission');
    expect(page.headers['set-cookie']).toBeUndefined();
    const bad = await signIn(r.app, '<script>', { accept: 'text/html' });
    expect(bad.status).toBe(401);
    expect(bad.headers['www-authenticate']).toBeDefined();
    expect(bad.text).not.toContain('<script>');
  });

  it('refuses a sign-in or sign-out posted from another site or without an Origin (CSRF)', async () => {
    const admin = tokenOf(r.tokens.admin);
    expectProblem(await signIn(r.app, admin, { origin: 'https://evil.example' }), 403, 'CROSS_ORIGIN_REFUSED');
    expectProblem(await signIn(r.app, admin, { origin: 'null' }), 403, 'CROSS_ORIGIN_REFUSED');
    const noOrigin = await request(r.app.server).post('/admin/sign-in').type('form').send({ token: admin });
    expectProblem(noOrigin, 403, 'CROSS_ORIGIN_REFUSED');
    const out = await request(r.app.server).post('/admin/sign-out').set('host', 'labplane.test').set('origin', 'https://evil.example');
    expectProblem(out, 403, 'CROSS_ORIGIN_REFUSED');
  });

  it('keeps a session no longer than its token, at most 8 h, and 1 h when the expiry is unknown', () => {
    expect(sessionSeconds(61_000, 1_000)).toBe(60);
    expect(sessionSeconds(1_000 + 24 * 3600_000, 1_000)).toBe(MAX_SESSION_SECONDS);
    expect(sessionSeconds(undefined, 1_000)).toBe(3600);
    expect(sessionSeconds(500, 1_000)).toBeLessThanOrEqual(0);
  });

  it('refuses a valid admin token too large for a browser cookie instead of setting one the browser drops', async () => {
    const big = tokenOf(await r.t.bearer({ sub: 'dash-admin', roles: ['platform-admin'], name: 'x'.repeat(3500) }));
    expectProblem(await signIn(r.app, big), 400, 'TOKEN_TOO_LARGE');
  });

  it('bounds the sign-in body', async () => {
    expectProblem(await signIn(r.app, 'x'.repeat(9 * 1024)), 413, 'PAYLOAD_TOO_LARGE');
  });

  it('signs out by expiring the cookie', async () => {
    const res = await request(r.app.server).post('/admin/sign-out').set('host', 'labplane.test').set('origin', 'http://labplane.test');
    expect(res.status).toBe(303);
    expect(res.headers['location']).toBe('/admin/sign-in');
    const cookie = cookieOf(res);
    expect(cookie).toMatch(/^labplane_admin=; Path=\/admin; Max-Age=0; HttpOnly; SameSite=Strict$/);
  });
});

describe('the admin cookie outside /admin', () => {
  it('is ignored by the REST API, and the old site-wide labplane_token cookie is gone', async () => {
    const admin = tokenOf(r.tokens.admin);
    expectProblem(await request(r.app.server).get('/v1/tenants').set('cookie', `labplane_admin=${admin}`), 401, 'UNAUTHENTICATED');
    expectProblem(
      await request(r.app.server)
        .post('/v1/tenants')
        .set('cookie', `labplane_admin=${admin}`)
        .send({ id: 'csrf-1', displayName: 'x', profile: 'student' }),
      401,
      'UNAUTHENTICATED',
    );
    expectProblem(await request(r.app.server).get('/admin/queues').set('cookie', `labplane_token=${admin}`), 401, 'UNAUTHENTICATED');
  });
});

describe('without Redis', () => {
  it('answers 404 DASHBOARD_UNAVAILABLE to an admin, after the same refusals', async () => {
    const t = await startTestApp();
    try {
      const admin = await t.bearer({ sub: 'a', roles: ['platform-admin'] });
      expectProblem(await request(t.app.server).get('/admin/queues').set('authorization', admin), 404, 'DASHBOARD_UNAVAILABLE');
      expectProblem(await request(t.app.server).get('/admin/queues/api/queues').set('authorization', admin), 404, 'DASHBOARD_UNAVAILABLE');
      expectProblem(await request(t.app.server).get('/admin/queues/api/queues'), 401, 'UNAUTHENTICATED');
      expect((await request(t.app.server).get('/admin/sign-in')).status).toBe(200);
    } finally {
      await t.close();
    }
  });
});
