import { randomUUID } from 'node:crypto';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import type { Browser, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLAIM, MESSAGE_TYPE, ROLE } from '../../src/domain/lti/claims.js';
import type { LtiRegistration } from '../../src/domain/lti/registration.js';
import { launchClaims, sign, startHarness, type Claims, type Harness } from '../lti/support.js';
import { allCspViolations, browserSuiteTitle, launchChromium, skipBrowserTests, watchedPage } from './support/browser.js';

/**
 * A launch in a real browser: the platform (another site, served by request interception) gets the
 * login redirect and auto-posts the id_token back cross-site, so the state cookie must survive as
 * SameSite=None, Secure (on http://127.0.0.1), Partitioned; the Deep Linking answer is submitted by
 * our script under our CSP to the platform's return URL.
 */
const PLATFORM = 'http://lms-a.test';

describe.skipIf(skipBrowserTests)(browserSuiteTitle('LTI launch in a browser'), () => {
  let h: Harness;
  let browser: Browser;
  let origin: string;
  let reg: LtiRegistration;
  beforeAll(async () => {
    h = await startHarness({ requestOrigin: true });
    // Same platform keys and issuer; its authorization endpoint is the intercepted site.
    reg = { ...h.a, id: randomUUID(), clientId: 'client-c', authLoginUrl: `${PLATFORM}/auth` };
    h.registrations.push(reg);
    origin = await h.app.listen({ host: '127.0.0.1', port: 0 });
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  /** The platform's authorization endpoint: signs `claims` with the request's nonce and form-posts them to redirect_uri. */
  function platformAuth(claims: Claims) {
    return async (route: Route) => {
      const url = new URL(route.request().url());
      const q = url.searchParams;
      const started = { state: q.get('state') ?? '', nonce: q.get('nonce') ?? '', cookie: '', location: url };
      const token = await sign(h.platformA, launchClaims(h, started, { aud: reg.clientId, ...claims }));
      await route.fulfill({
        contentType: 'text/html',
        body: `<!doctype html><form id="f" method="post" action="${q.get('redirect_uri')}"><input type="hidden" name="id_token" value="${token}"><input type="hidden" name="state" value="${q.get('state')}"></form><script>document.getElementById('f').submit()</script>`,
      });
    };
  }

  function loginUrl(): string {
    return `${origin}/lti/login?${new URLSearchParams({ iss: reg.issuer, login_hint: 'u', target_link_uri: `${origin}/lti/launch`, client_id: reg.clientId })}`;
  }

  it('keeps the state cookie across the cross-site form post and opens a session', async () => {
    const watch = await watchedPage(browser, origin);
    const { page } = watch;
    await page.route(`${PLATFORM}/auth**`, platformAuth({}));
    const launched = page.waitForResponse((r) => r.url() === `${origin}/lti/launch`);
    // goto may report the redirect to the intercepted (unresolvable) platform host as a DNS error
    // although the route answers it; what happens next is what this test checks.
    await page.goto(loginUrl()).catch(() => undefined);
    const res = await launched;
    expect(res.status(), await res.text().catch(() => '')).toBe(303);
    expect(res.headers()['location']).toBe('/lti/learner');
    const cookies = await page.context().cookies(`${origin}/lti/`);
    expect(cookies.map((c) => c.name)).toContain('lp_lti_session');
    await page.context().close();
  });

  it('answers a Deep Linking request through the browser: our page, our script, the platform gets the JWT', async () => {
    await h.labRepo.create({
      tenant: 'ta',
      name: 'web-lab',
      displayName: 'Web lab',
      template: {
        image: { scope: 'platform', name: 'ubuntu-24-04' },
        cpu: 1,
        memoryGi: 2,
        diskGi: 20,
        storageClass: 'kv-standard',
        arc: true,
        studentRole: 'user',
        sshPublicKeys: [],
      },
      instructors: [],
      students: [],
      schedules: [],
      dropGracePeriodHours: 72,
      endGracePeriodDays: 14,
    });
    const watch = await watchedPage(browser, origin);
    const { page } = watch;
    await page.route(
      `${PLATFORM}/auth**`,
      platformAuth({
        [CLAIM.messageType]: MESSAGE_TYPE.deepLinkingRequest,
        [CLAIM.resourceLink]: undefined,
        [CLAIM.roles]: [ROLE.instructor],
        [CLAIM.deepLinkingSettings]: { deep_link_return_url: `${PLATFORM}/dl/return`, accept_types: ['ltiResourceLink'], data: 'd-1' },
      }),
    );
    let returned: string | undefined;
    await page.route(`${PLATFORM}/dl/return`, async (route) => {
      returned = new URLSearchParams(route.request().postData() ?? '').get('JWT') ?? undefined;
      await route.fulfill({ contentType: 'text/html', body: '<!doctype html><p>linked</p>' });
    });
    // goto may report the redirect to the intercepted (unresolvable) platform host as a DNS error
    // although the route answers it; what happens next is what this test checks.
    await page.goto(loginUrl()).catch(() => undefined);
    await page.waitForURL(`${origin}/lti/deep-link`);
    await page.getByRole('button', { name: 'Use lab web-lab' }).click();
    await page.waitForURL(`${PLATFORM}/dl/return`);
    expect(returned).toBeDefined();
    const jwks = createLocalJWKSet((await h.toolKeys.jwks()) as unknown as JSONWebKeySet);
    const { payload } = await jwtVerify(returned ?? '', jwks, { issuer: reg.clientId, audience: reg.issuer, currentDate: new Date(h.now.ms) });
    expect(payload[CLAIM.deepLinkingContentItems]).toEqual([
      { type: 'ltiResourceLink', title: 'Web lab', url: `${origin}/lti/launch`, custom: { labplane_lab: 'web-lab' } },
    ]);
    expect(await allCspViolations(watch)).toEqual([]);
    expect(watch.pageErrors).toEqual([]);
    await page.context().close();
  });
});
