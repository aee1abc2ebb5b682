import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launch, LMS_A, login, sessionCookie, startHarness, TOOL, type Harness } from './support.js';

/**
 * Property: whatever a browser (or anyone) sends to the LTI routes, the answer is a 2xx/3xx or a
 * 4xx page (HTML, but for a body too large or of another type), never a 5xx.
 */
let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const value = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom(
    LMS_A,
    'client-a',
    `${TOOL}/lti/launch`,
    'https://evil.example/x',
    '',
    '%00',
    'a\r\nSet-Cookie: x=1',
    '<script>',
    'a'.repeat(9000),
    'eyJhbGciOiJub25lIn0.e30.',
  ),
);
const form = fc.dictionary(
  fc.constantFrom(
    'iss',
    'login_hint',
    'target_link_uri',
    'client_id',
    'lti_message_hint',
    'lti_deployment_id',
    'id_token',
    'state',
    'error',
    'csrf',
    'lab',
    'name',
    'image',
    'size',
    'rebind',
  ),
  value,
);
const RUNS = 40;

function expectPage(res: { statusCode: number; headers: Record<string, unknown>; body: string }): void {
  expect(res.statusCode, res.body.slice(0, 300)).toBeLessThan(500);
  // 413 and 415 come from the body parser, before any page: problem+json like every route's.
  if (res.statusCode >= 400 && res.statusCode !== 413 && res.statusCode !== 415) expect(String(res.headers['content-type'])).toMatch(/^text\/html/);
}

describe('hostile input on the LTI routes', () => {
  it('login initiation (query and form)', async () => {
    await fc.assert(
      fc.asyncProperty(form, async (f) => {
        expectPage(await h.app.inject({ method: 'GET', url: `/lti/login?${new URLSearchParams(f)}` }));
        expectPage(
          await h.app.inject({
            method: 'POST',
            url: '/lti/login',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            payload: new URLSearchParams(f).toString(),
          }),
        );
      }),
      { numRuns: RUNS },
    );
  });

  it('launch, with and without a state cookie', async () => {
    const started = await login(h);
    await fc.assert(
      fc.asyncProperty(form, fc.boolean(), async (f, withState) => {
        const body = withState ? { ...f, state: started.state } : f;
        expectPage(
          await h.app.inject({
            method: 'POST',
            url: '/lti/launch',
            headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: started.cookie },
            payload: new URLSearchParams(body).toString(),
          }),
        );
      }),
      { numRuns: RUNS },
    );
  });

  it('Deep Linking pages, with a learner session and without', async () => {
    const learner = sessionCookie((await launch(h)).res);
    await fc.assert(
      fc.asyncProperty(form, fc.constantFrom('', learner, 'lp_lti_session=forged'), fc.constantFrom('use', 'create'), async (f, cookie, action) => {
        expectPage(
          await h.app.inject({
            method: 'POST',
            url: `/lti/deep-link/${action}`,
            headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
            payload: new URLSearchParams(f).toString(),
          }),
        );
        expectPage(await h.app.inject({ method: 'GET', url: '/lti/deep-link', headers: { cookie } }));
      }),
      { numRuns: RUNS },
    );
  });

  it('a JSON body or no body on a form route is a 4xx', async () => {
    for (const url of ['/lti/launch', '/lti/login', '/lti/deep-link/use']) {
      const json = await h.app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: '{"id_token":"x"}' });
      expect(json.statusCode).toBe(415);
      const none = await h.app.inject({ method: 'POST', url });
      expect(none.statusCode).toBeGreaterThanOrEqual(400);
      expect(none.statusCode).toBeLessThan(500);
    }
  });
});
