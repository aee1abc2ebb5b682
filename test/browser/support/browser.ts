import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's chromium package; never a downloaded browser. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

const inCi = process.env['CI'] === 'true';
const present = existsSync(CHROMIUM_PATH);

/** Outside CI a machine without chromium skips the browser tests; in CI they fail instead. */
export const skipBrowserTests = !present && !inCi;
if (skipBrowserTests) console.warn(`Skipping the browser tests: no ${CHROMIUM_PATH} (apt-get install chromium); under CI=true they fail instead.`);

/** A suite title that says why it was skipped. */
export function browserSuiteTitle(title: string): string {
  return skipBrowserTests ? `${title} (skipped: no ${CHROMIUM_PATH}; apt-get install chromium to run it)` : title;
}

export async function launchChromium(): Promise<Browser> {
  if (!present) {
    throw new Error(
      `Browser tests need Debian chromium at ${CHROMIUM_PATH} (CI=${String(process.env['CI'])}). ` +
        'Install it with: apt-get update && apt-get install -y chromium (.ci/run does this in CI).',
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** What a page did that the tests forbid: leaving the origin, CSP violations, script errors. */
export interface PageWatch {
  readonly page: Page;
  /** Requests (and WebSockets) to anything but the app's origin. */
  readonly foreign: string[];
  /** Every request URL, for assertions on what was loaded. */
  readonly requested: string[];
  readonly cspViolations: string[];
  readonly pageErrors: string[];
}

/** Runs in the page before its own scripts (as DevTools input, so the page's CSP does not apply). */
const RECORD_CSP_VIOLATIONS = `
  window.__cspViolations = [];
  document.addEventListener('securitypolicyviolation', (e) => {
    window.__cspViolations.push(e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') + ' (' + e.sourceFile + ':' + e.lineNumber + ')');
  });
`;

/**
 * A fresh page that records every request, WebSocket, CSP violation (the DOM event and
 * Chromium's console report) and uncaught error. `data:` URLs (fonts inlined in a stylesheet)
 * are not network traffic and do not count as leaving the origin.
 */
export async function watchedPage(browser: Browser, origin: string): Promise<PageWatch> {
  const context = await browser.newContext({ serviceWorkers: 'block' });
  const page = await context.newPage();
  // Below the test timeout (60 s in the browser slice), so a stuck step names itself instead of timing
  // the test out; above what rendering the 300 KB contract in Swagger UI took on a loaded 2-core
  // machine (over 8 s, seen with the whole suite running beside other work).
  page.setDefaultTimeout(20_000);
  const watch: PageWatch = { page, foreign: [], requested: [], cspViolations: [], pageErrors: [] };
  const wsOrigin = origin.replace(/^http/, 'ws');
  page.on('request', (req) => {
    const url = req.url();
    watch.requested.push(url);
    if (!url.startsWith(`${origin}/`) && !url.startsWith('data:')) watch.foreign.push(url);
  });
  page.on('websocket', (ws) => {
    watch.requested.push(ws.url());
    if (!ws.url().startsWith(`${wsOrigin}/`)) watch.foreign.push(ws.url());
  });
  page.on('console', (msg) => {
    if (/Content Security Policy/i.test(msg.text())) watch.cspViolations.push(msg.text());
  });
  page.on('pageerror', (err) => watch.pageErrors.push(String(err)));
  await page.addInitScript(RECORD_CSP_VIOLATIONS);
  return watch;
}

/** CSP violations the page itself saw (the DOM event), added to those Chromium logged. */
export async function allCspViolations(watch: PageWatch): Promise<string[]> {
  const fromDom = await watch.page.evaluate<string[]>('window.__cspViolations ?? []');
  return [...watch.cspViolations, ...fromDom];
}
