import { describe, expect, it, onTestFinished } from 'vitest';
import { uniqueTenantId } from '../support/test-app.js';
import { sshKey } from '../vms/support.js';
import { allCspViolations, browserSuiteTitle, skipBrowserTests, watchedPage } from './support/browser.js';
import { browserAppForSuite } from './support/browser-app.js';
import { decodePng } from './support/png.js';

const env = browserAppForSuite();

async function call(method: string, path: string, token: string, body?: unknown): Promise<{ status: number; body: Record<string, any> }> {
  const res = await fetch(`${env.origin}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

let prepared: { token: string; tenant: string } | undefined;

/** A tenant with a running VM `web`, once for the file. */
async function runningVm(): Promise<{ token: string; tenant: string }> {
  if (prepared !== undefined) return prepared;
  const res = await fetch(`${env.origin}/dev/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sub: 'console-admin', roles: ['platform-admin'] }),
  });
  const token = ((await res.json()) as { accessToken: string }).accessToken;
  const tenant = uniqueTenantId('con');
  expect(
    (await call('POST', '/v1/tenants', token, { id: tenant, displayName: tenant, profile: 'faculty', owners: [{ principalId: 'olga' }] })).status,
  ).toBe(201);
  const vm = await call('POST', `/v1/tenants/${tenant}/vms`, token, {
    name: 'web',
    image: { scope: 'platform', name: 'ubuntu-24-04' },
    instanceType: 'small',
    diskGi: 10,
    storageClass: 'kv-standard',
    sshPublicKeys: [sshKey()],
  });
  expect(vm.status, JSON.stringify(vm.body)).toBe(202);
  await expect
    .poll(async () => (await call('GET', `/v1/tenants/${tenant}/vms/web`, token)).body['state'], { timeout: 60_000, interval: 200 })
    .toBe('Running');
  prepared = { token, tenant };
  return prepared;
}

async function consoleUrl(type: 'vnc' | 'serial'): Promise<string> {
  const { token, tenant } = await runningVm();
  const res = await call('POST', `/v1/tenants/${tenant}/vms/web/console`, token, { type });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return `${env.origin}${res.body['url'] as string}`;
}

// A headless browser rendering on a small shared machine: seconds per step, not milliseconds.
describe.skipIf(skipBrowserTests)(browserSuiteTitle('the VM console pages'), () => {
  it('the VNC page connects through the proxy and draws the VM’s display (screenshot pixels checked)', { timeout: 120_000 }, async () => {
    const url = await consoleUrl('vnc');
    const watch = await watchedPage(env.browser, env.origin);
    const { page } = watch;
    onTestFinished(() => page.context().close());
    const response = await page.goto(url);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toMatch(/script-src 'self'(;|$)/);
    // The ticket left the address bar at once.
    await expect.poll(() => page.url()).toBe(`${env.origin}/console/vnc`);
    await expect.poll(() => page.locator('#status').innerText(), { timeout: 30_000 }).toBe('Connected');
    const canvas = page.locator('#screen canvas');
    await canvas.waitFor();
    // The display is drawn when the first update arrives: poll the screenshot until it shows text.
    let distinct = 0;
    await expect
      .poll(
        async () => {
          const shot = decodePng(await canvas.screenshot());
          const colours = new Set<string>();
          for (let y = 0; y < shot.height; y += 2) for (let x = 0; x < shot.width; x += 2) colours.add(shot.pixel(x, y).join(','));
          distinct = colours.size;
          // The display's dark blue background, and light text on it.
          const hasBackground = [...colours].some((c) => {
            const [r, g, b] = c.split(',').map(Number) as [number, number, number];
            return r < 40 && g > 25 && g < 60 && b > 60 && b < 100;
          });
          const hasText = [...colours].some((c) => c.split(',').every((v) => Number(v) > 200));
          return hasBackground && hasText;
        },
        { timeout: 30_000, interval: 500 },
      )
      .toBe(true);
    expect(distinct).toBeGreaterThan(2);
    // Keys reach the VM: Ctrl-Alt-Del is three presses, the display counts them ("keys 3") and redraws.
    const before = await canvas.screenshot();
    await page.locator('#ctrl-alt-del').click();
    await expect.poll(async () => (await canvas.screenshot()).equals(before), { timeout: 30_000, interval: 500 }).toBe(false);
    // Pasted text is typed into the VM key by key: the count moves again.
    const afterKeys = await canvas.screenshot();
    await page.locator('#paste-text').fill('ls');
    await page.locator('#paste').click();
    await expect.poll(async () => (await canvas.screenshot()).equals(afterKeys), { timeout: 30_000, interval: 500 }).toBe(false);
    expect(await page.locator('#paste-text').inputValue()).toBe('');
    expect(watch.foreign).toEqual([]);
    expect(watch.requested.some((u) => u.includes('/console/assets/novnc/core/rfb.js'))).toBe(true);
    expect(await allCspViolations(watch)).toEqual([]);
    expect(watch.pageErrors).toEqual([]);
  });

  it('the serial page shows the login prompt and echoes what is typed', { timeout: 120_000 }, async () => {
    const url = await consoleUrl('serial');
    const watch = await watchedPage(env.browser, env.origin);
    const { page } = watch;
    onTestFinished(() => page.context().close());
    expect((await page.goto(url))?.status()).toBe(200);
    const rows = page.locator('#terminal .xterm-rows');
    await expect.poll(() => rows.innerText(), { timeout: 30_000 }).toContain('web login:');
    await page.locator('#terminal').click();
    await page.keyboard.type('student42');
    await expect.poll(() => rows.innerText(), { timeout: 30_000 }).toContain('web login: student42');
    await page.keyboard.press('Enter');
    await expect.poll(async () => ((await rows.innerText()).match(/web login:/g) ?? []).length, { timeout: 30_000 }).toBe(2);
    expect(watch.foreign).toEqual([]);
    expect(await allCspViolations(watch)).toEqual([]);
    expect(watch.pageErrors).toEqual([]);
  });

  it('a page opened with a used ticket says it could not connect', { timeout: 120_000 }, async () => {
    const url = await consoleUrl('serial');
    const first = await watchedPage(env.browser, env.origin);
    onTestFinished(() => first.page.context().close());
    await first.page.goto(url);
    await expect.poll(() => first.page.locator('#status').innerText(), { timeout: 30_000 }).toBe('Connected');
    const second = await watchedPage(env.browser, env.origin);
    onTestFinished(() => second.page.context().close());
    await second.page.goto(url);
    await expect.poll(() => second.page.locator('#status').innerText(), { timeout: 30_000 }).toBe('Connection lost');
  });
});
