import type { Browser } from 'playwright-core';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { allCspViolations, browserSuiteTitle, launchChromium, skipBrowserTests, watchedPage } from './support/browser.js';

const SSH_KEY = `ssh-ed25519 ${Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.from([0, 0, 0, 32]), Buffer.alloc(32, 7)]).toString('base64')} e2e@uni`;

/**
 * The embedded default end to end: the simulated LMS's "Add labplane" (Deep Linking) goes through
 * the tool's login initiation and launch, the instructor creates a lab on the picker, and the
 * signed answer goes back to the LMS, which verifies it and places the link; the lab is bound to the
 * course, and the link launches a student to the learner page, the instructor to the lab's page.
 */
describe.skipIf(skipBrowserTests)(browserSuiteTitle('LTI launch and Deep Linking against the simulated LMS'), () => {
  let t: TestApp;
  let browser: Browser;
  let origin: string;
  beforeAll(async () => {
    t = await startTestApp();
    origin = await t.app.listen({ host: '127.0.0.1', port: 0 });
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('an instructor adds a new lab to a course from the LMS', async () => {
    const watch = await watchedPage(browser, origin);
    const { page } = watch;
    await page.goto(`${origin}/sim/lms/courses/CS101`);
    await page.locator('button').first().click();
    await page.waitForURL(`${origin}/lti/deep-link`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Choose a lab');
    await page.getByLabel(/^Name/).fill('e2e-lab');
    await page.getByLabel('Display name').fill('End to end lab');
    await page.getByLabel(/SSH public key/).fill(SSH_KEY);
    await page.getByRole('button', { name: 'Create the lab and use it' }).click();
    await page.waitForURL(`${origin}/sim/lms/**`);
    // The LMS verified the answer with the tool's JWKS and placed the link.
    expect(await page.locator('main').textContent()).toContain('End to end lab');
    expect(await page.getByRole('alert').count()).toBe(0);
    await page.getByRole('link', { name: /^Back to/ }).click();
    // The placed link launches: a student lands on the learner page, the instructor on the lab's page.
    await page.getByRole('button', { name: 'Launch End to end lab as Barbara Perlman' }).click();
    await page.waitForURL(`${origin}/lti/learner`);
    expect(await page.getByRole('heading', { level: 1 }).count()).toBe(1);
    await page.goto(`${origin}/sim/lms/courses/CS101`);
    await page.getByRole('button', { name: 'Launch End to end lab as Ada Shannon' }).click();
    await page.waitForURL(`${origin}/lti/instructor`);
    expect(await page.locator('main').textContent()).toContain('End to end lab');
    expect(await allCspViolations(watch)).toEqual([]);
    expect(watch.pageErrors).toEqual([]);
    const admin = await t.bearer({ sub: 'e2e-admin', roles: ['platform-admin'] });
    const lab = await request(t.app.server).get('/v1/tenants/demo/labs/e2e-lab').set('authorization', admin);
    expect(lab.status, lab.text).toBe(200);
    expect(lab.body).toMatchObject({ displayName: 'End to end lab', lti: { contextId: expect.any(String) } });
    await page.context().close();
  });
});
