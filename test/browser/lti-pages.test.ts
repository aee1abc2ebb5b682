import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { studentVmName } from '../../src/domain/labs/lab-rules.js';
import { ADA, DEE, LAB, startPagesRig, type PagesRig } from '../lti/pages-rig.js';
import { allCspViolations, browserSuiteTitle, launchChromium, skipBrowserTests, watchedPage } from './support/browser.js';

/**
 * The pages a launch lands on, in a real browser: the session cookie a launch would set, the pages
 * without any script, their forms posted by the browser (its Origin, the csrf field) and the 303 back.
 */
describe.skipIf(skipBrowserTests)(browserSuiteTitle('LTI learner and instructor pages in a browser'), () => {
  let r: PagesRig;
  let browser: Browser;
  let origin: string;
  beforeAll(async () => {
    r = await startPagesRig();
    origin = await r.app.listen({ host: '127.0.0.1', port: 0 });
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await r?.close();
  });

  async function pageWithSession(session: { id: string }) {
    const watch = await watchedPage(browser, origin);
    await watch.page.context().addCookies([{ name: 'lp_lti_session', value: session.id, url: `${origin}/lti`, httpOnly: true }]);
    return watch;
  }

  it('a learner starts their VM and the page shows it running', async () => {
    const { session } = await r.session({ role: 'learner', userId: ADA });
    const watch = await pageWithSession(session);
    const { page } = watch;
    await page.goto(`${origin}/lti/learner`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Your VM in Operating Systems lab');
    expect(await page.locator('pre code').textContent()).toContain(`az ssh arc --subscription`);
    await expect.poll(() => page.locator('dd').nth(1).textContent()).toContain('Stopped');
    expect(await page.getByRole('button', { name: 'Stop VM' }).count()).toBe(0);

    await page.getByRole('button', { name: 'Start VM' }).click();
    await page.waitForURL(`${origin}/lti/learner?notice=started`);
    expect(await page.getByRole('status').textContent()).toContain('Your VM is starting');
    expect(await page.locator('dd').nth(1).textContent()).toContain('Running');
    expect(await page.getByRole('button', { name: 'Stop VM' }).count()).toBe(1);
    expect(r.started.at(-1)).toMatchObject({ kind: 'vm.start', target: studentVmName(LAB, ADA) });

    // The stylesheet came from this origin, and nothing else was loaded or blocked.
    expect(watch.requested).toContain(`${origin}/lti/assets/lti.css`);
    expect(watch.foreign).toEqual([]);
    expect(await allCspViolations(watch)).toEqual([]);
    expect(watch.pageErrors).toEqual([]);
    await page.context().close();
  });

  it('an instructor retries a failed student and the table updates', async () => {
    const { session } = await r.session({ role: 'instructor', userId: DEE });
    const watch = await pageWithSession(session);
    const { page } = watch;
    await page.goto(`${origin}/lti/instructor`);
    const row = page.getByRole('row', { name: /Cy Young/ });
    expect(await row.getByRole('cell').nth(2).textContent()).toBe('Failed');

    await page.getByRole('button', { name: 'Retry Cy Young' }).click();
    await page.waitForURL(`${origin}/lti/instructor?notice=retried`);
    expect(await page.getByRole('status').textContent()).toContain('Provisioning of the student started again.');
    expect(await row.getByRole('cell').nth(2).textContent()).toBe('Waiting to be provisioned');
    expect(await page.getByRole('button', { name: /^Retry/ }).count()).toBe(0);
    expect(r.started.at(-1)).toMatchObject({ kind: 'lab.sync', target: LAB });
    expect(r.started.at(-1)?.by.onBehalfOf).toBe(DEE);

    expect(watch.foreign).toEqual([]);
    expect(await allCspViolations(watch)).toEqual([]);
    await page.context().close();
  });

  it('the LMS (another site) can frame the pages', async () => {
    // A stand-in LMS page on another origin (localhost vs 127.0.0.1) that frames the learner page.
    const lms: Server = createServer((_req, res) => {
      res
        .writeHead(200, { 'content-type': 'text/html' })
        .end(`<!doctype html><title>LMS</title><iframe title="labplane" src="${origin}/lti/learner"></iframe>`);
    });
    await new Promise<void>((resolve) => lms.listen(0, '127.0.0.1', resolve));
    try {
      const watch = await watchedPage(browser, origin);
      await watch.page.goto(`http://localhost:${(lms.address() as AddressInfo).port}/`);
      const frame = watch.page.frameLocator('iframe[title="labplane"]');
      // Without a session the page asks to launch again; shown inside the frame, not blocked.
      expect(await frame.getByRole('alert').textContent()).toContain('Launch labplane again from your course');
      await watch.page.context().close();
    } finally {
      await new Promise((resolve) => lms.close(resolve));
    }
  });

  it('an ended session gets the page asking to launch again', async () => {
    const watch = await pageWithSession({ id: 'not-a-session' });
    const res = await watch.page.goto(`${origin}/lti/learner`);
    expect(res?.status()).toBe(401);
    expect(await watch.page.getByRole('alert').textContent()).toContain('Launch labplane again from your course');
    await watch.page.context().close();
  });
});
