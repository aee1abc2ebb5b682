import { describe, expect, it } from 'vitest';
import { allCspViolations, browserSuiteTitle, skipBrowserTests, watchedPage } from './support/browser.js';
import { browserAppForSuite } from './support/browser-app.js';

const env = browserAppForSuite();

// A headless browser rendering on a small shared machine: seconds per step, not milliseconds.
describe.skipIf(skipBrowserTests)(browserSuiteTitle('Swagger UI at /docs under the app CSP'), () => {
  it('lists the contract operations and expands one, loading nothing from elsewhere and violating no CSP', { timeout: 60_000 }, async () => {
    const watch = await watchedPage(env.browser, env.origin);
    const { page } = watch;
    const response = await page.goto(`${env.origin}/docs`);
    expect(response?.ok()).toBe(true);

    const listTenants = page.locator('#operations-tenants-listTenants');
    await listTenants.waitFor();
    expect(
      await page
        .locator('.opblock-tag-section', { has: page.locator('[data-tag="tenants"]') })
        .locator('.opblock')
        .count(),
    ).toBeGreaterThan(1);
    await expect.poll(() => listTenants.locator('.opblock-summary-path').innerText()).toBe('/v1/tenants');

    await listTenants.locator('.opblock-summary').click();
    const body = listTenants.locator('.opblock-body');
    await body.waitFor();
    await expect.poll(() => body.innerText()).toMatch(/Parameters/);
    await expect.poll(() => body.innerText()).toMatch(/Responses/);

    expect(watch.requested.some((u) => u.startsWith(`${env.origin}/docs/json`))).toBe(true);
    expect(watch.foreign).toEqual([]);
    expect(await allCspViolations(watch)).toEqual([]);
    expect(watch.pageErrors).toEqual([]);
    await page.context().close();
  });
});
