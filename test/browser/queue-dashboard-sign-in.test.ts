import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboardRig, tokenOf, type DashboardRig } from '../support/dashboard-app.js';
import { browserSuiteTitle, launchChromium, skipBrowserTests } from './support/browser.js';

/** A real browser through the sign-in flow: redirect, form post (Origin), cookie, dashboard, sign-out. */
describe.skipIf(skipBrowserTests)(browserSuiteTitle('queue dashboard sign-in in a browser'), () => {
  let r: DashboardRig;
  let browser: Browser;
  let base: string;
  beforeAll(async () => {
    r = await startDashboardRig();
    await r.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(r.app.server.address() as AddressInfo).port}`;
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await r?.close();
  });

  it('sends a visitor to the form, signs an admin in with an HttpOnly cookie, shows the queues, and signs out', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const violations: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
    });
    await page.goto(`${base}/admin/queues`);
    expect(new URL(page.url()).pathname).toBe('/admin/sign-in');

    await page.fill('#token', tokenOf(r.tokens.member));
    await page.click('form[action="/admin/sign-in"] button');
    await expect.poll(() => page.textContent('[role="alert"]')).toContain('queue.admin');
    expect(await context.cookies()).toEqual([]);

    await page.fill('#token', tokenOf(r.tokens.admin));
    await page.click('form[action="/admin/sign-in"] button');
    await page.waitForURL(`${base}/admin/queues`);
    const [cookie] = await context.cookies();
    expect(cookie).toMatchObject({ name: 'labplane_admin', path: '/admin', httpOnly: true, sameSite: 'Strict', secure: false });
    await page.getByText(r.queueName).first().waitFor({ timeout: 15_000 });

    await page.goto(`${base}/admin/sign-in`);
    await page.click('form[action="/admin/sign-out"] button');
    await page.waitForURL(`${base}/admin/sign-in`);
    expect(await context.cookies()).toEqual([]);
    await page.goto(`${base}/admin/queues`);
    expect(new URL(page.url()).pathname).toBe('/admin/sign-in');
    expect(violations).toEqual([]);
    await context.close();
  });
});
