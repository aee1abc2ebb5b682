import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { allCspViolations, browserSuiteTitle, launchChromium, skipBrowserTests, watchedPage } from './support/browser.js';

let t: TestApp;
let origin: string;
let browser: Browser;

beforeAll(async () => {
  if (skipBrowserTests) return;
  browser = await launchChromium();
  t = await startTestApp();
  origin = await t.app.listen({ host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await browser?.close();
  await t?.close();
});

// A headless browser rendering on a small shared machine: seconds per step, not milliseconds.
describe.skipIf(skipBrowserTests)(browserSuiteTitle('Swagger UI at /docs under the app CSP'), () => {
  it('lists the contract operations and expands one, loading nothing from elsewhere and violating no CSP', { timeout: 60_000 }, async () => {
    const watch = await watchedPage(browser, origin);
    const { page } = watch;
    const response = await page.goto(`${origin}/docs`);
    expect(response?.ok()).toBe(true);

    const listTenants = page.locator('#operations-tenants-listTenants');
    await listTenants.waitFor();
    expect(await page.locator('.opblock-tag-section', { has: page.locator('[data-tag="tenants"]') }).locator('.opblock').count()).toBeGreaterThan(1);
    await expect.poll(() => listTenants.locator('.opblock-summary-path').innerText()).toBe('/v1/tenants');

    await listTenants.locator('.opblock-summary').click();
    const body = listTenants.locator('.opblock-body');
    await body.waitFor();
    await expect.poll(() => body.innerText()).toMatch(/Parameters/);
    await expect.poll(() => body.innerText()).toMatch(/Responses/);

    expect(watch.requested.some((u) => u.startsWith(`${origin}/docs/json`))).toBe(true);
    expect(watch.foreign).toEqual([]);
    expect(await allCspViolations(watch)).toEqual([]);
    expect(watch.pageErrors).toEqual([]);
    await page.context().close();
  });
});
