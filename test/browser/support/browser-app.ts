import type { Browser } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { startTestApp, type TestApp } from '../../support/test-app.js';
import { launchChromium, skipBrowserTests } from './browser.js';

/** Filled in before the file's tests run. */
export interface BrowserApp {
  browser: Browser;
  /** `http://127.0.0.1:<port>` of the app on the embedded default. */
  origin: string;
}

/**
 * Chromium and the app (listening on 127.0.0.1:0) for the tests of one file: started before them,
 * closed after them; nothing is started when the browser tests are skipped.
 */
export function browserAppForSuite(): BrowserApp {
  const env = {} as BrowserApp;
  let t: TestApp | undefined;
  beforeAll(async () => {
    if (skipBrowserTests) return;
    env.browser = await launchChromium();
    t = await startTestApp();
    env.origin = t.url;
  });
  afterAll(async () => {
    await env.browser?.close();
    await t?.close();
  });
  return env;
}
