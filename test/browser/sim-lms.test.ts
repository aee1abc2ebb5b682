import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLAIM, MESSAGE_TYPE } from '../../src/domain/lti/claims.js';
import { startSimLms, type SimLmsHarness } from '../lti/support/sim-lms-harness.js';
import { allCspViolations, browserSuiteTitle, launchChromium, skipBrowserTests, watchedPage } from './support/browser.js';

let browser: Browser | undefined;
let h: SimLmsHarness;
/** What the stand-in tool's redirect URI received. */
const launches: { idToken: string; state: string }[] = [];

beforeAll(async () => {
  if (skipBrowserTests) return;
  browser = await launchChromium();
  // A stand-in for the tool's OIDC endpoints: login initiation redirects to the LMS's authorization
  // endpoint, the launch (redirect URI) records the form post.
  h = await startSimLms({}, async (scope, origin) => {
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(String(body))));
    });
    scope.get('/lti/login', async (request, reply) => {
      const q = request.query as Record<string, string>;
      const auth = new URLSearchParams({
        scope: 'openid',
        response_type: 'id_token',
        response_mode: 'form_post',
        prompt: 'none',
        client_id: q.client_id ?? '',
        redirect_uri: `${origin()}/lti/launch`,
        login_hint: q.login_hint ?? '',
        lti_message_hint: q.lti_message_hint ?? '',
        nonce: 'n-1',
        state: 's-1',
      });
      return reply.redirect(`${q.iss ?? ''}/auth?${auth.toString()}`);
    });
    scope.post('/lti/launch', async (request, reply) => {
      const b = request.body as Record<string, string>;
      launches.push({ idToken: b.id_token ?? '', state: b.state ?? '' });
      return reply.type('text/html; charset=utf-8').send('<!doctype html><title>tool</title><h1>Launched</h1>');
    });
  });
});
afterAll(async () => {
  await browser?.close();
  await h?.close();
});

// A headless browser rendering on a small shared machine: seconds per step, not milliseconds.
describe.skipIf(skipBrowserTests)(browserSuiteTitle('simulated LMS in a browser'), () => {
  it('an instructor’s "Add labplane" button goes through login initiation and the auto-submitted form post', { timeout: 60_000 }, async () => {
    const watch = await watchedPage(browser as Browser, h.origin);
    const { page } = watch;
    expect((await page.goto(`${h.origin}/sim/lms/courses/CS101`))?.ok()).toBe(true);
    await page
      .getByRole('button', { name: /^Add labplane to this course as / })
      .first()
      .click();
    await page.getByRole('heading', { name: 'Launched' }).waitFor();
    expect(launches).toHaveLength(1);
    expect(launches[0]?.state).toBe('s-1');
    const claims = JSON.parse(Buffer.from(launches[0]?.idToken.split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>;
    expect(claims[CLAIM.messageType]).toBe(MESSAGE_TYPE.deepLinkingRequest);
    expect(claims.nonce).toBe('n-1');
    expect(watch.foreign).toEqual([]);
    expect(await allCspViolations(watch)).toEqual([]);
    expect(watch.pageErrors).toEqual([]);
    await page.context().close();
  });
});
