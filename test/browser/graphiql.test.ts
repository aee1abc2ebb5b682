import type { Locator, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { uniqueTenantId } from '../support/test-app.js';
import { allCspViolations, browserSuiteTitle, skipBrowserTests, watchedPage, type PageWatch } from './support/browser.js';
import { browserAppForSuite } from './support/browser-app.js';

const env = browserAppForSuite();

async function devToken(sub: string): Promise<string> {
  const res = await fetch(`${env.origin}/dev/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sub, roles: ['platform-admin'] }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { accessToken: string }).accessToken;
}

/** Replaces a CodeMirror editor's whole text the way a user pasting would. */
async function replaceEditorText(page: Page, editor: Locator, text: string): Promise<void> {
  await editor.click();
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.insertText(text);
}

/** The text of the CodeMirror 5 editor inside `container` (its rendered lines also hold gutters). */
async function editorText(page: Page, container: string): Promise<string> {
  return page.evaluate<string, string>((sel) => {
    const el = (
      globalThis as unknown as { document: { querySelector(s: string): { CodeMirror?: { getValue(): string } } | null } }
    ).document.querySelector(`${sel} .CodeMirror`);
    return el?.CodeMirror?.getValue() ?? '';
  }, container);
}

/** The kind of the first operation GraphiQL has parsed from the query editor (it keeps the AST on the editor). */
async function parsedOperation(page: Page): Promise<string | undefined> {
  return page.evaluate<string | undefined, string>((sel) => {
    const el = (
      globalThis as unknown as {
        document: { querySelector(s: string): { CodeMirror?: { documentAST?: { definitions: Array<{ operation?: string }> } | null } } | null };
      }
    ).document.querySelector(sel);
    return el?.CodeMirror?.documentAST?.definitions[0]?.operation;
  }, QUERY_EDITOR);
}

async function runAndReadResult(watch: PageWatch): Promise<unknown> {
  const { page } = watch;
  const before = await editorText(page, '.result-window');
  await page.locator('button.graphiql-execute-button').click();
  // GraphiQL empties the result pane while the request runs: wait for a new text that is whole JSON.
  const parsed = async (): Promise<unknown> => {
    const text = await editorText(page, '.result-window');
    if (text === before) return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return undefined;
    }
  };
  await expect.poll(parsed, { timeout: 10_000 }).toBeDefined();
  return parsed();
}

const QUERY_EDITOR = '.graphiql-query-editor .CodeMirror';
const HEADERS_EDITOR = 'section.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror';

async function openGraphiQL(watch: PageWatch): Promise<void> {
  expect((await watch.page.goto(`${env.origin}/graphiql`))?.status()).toBe(200);
  await watch.page.locator(QUERY_EDITOR).waitFor();
}

async function rest(method: string, path: string, token: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${env.origin}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

// A headless browser rendering on a small shared machine: seconds per step, not milliseconds.
describe.skipIf(skipBrowserTests)(browserSuiteTitle('GraphiQL served from our own origin'), () => {
  it('runs a query with a pasted dev token, loading nothing from elsewhere and violating no CSP', { timeout: 60_000 }, async () => {
    const watch = await watchedPage(env.browser, env.origin);
    const { page } = watch;
    const response = await page.goto(`${env.origin}/graphiql`);
    expect(response?.status()).toBe(200);
    const csp = response?.headers()['content-security-policy'] ?? '';
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).toMatch(/style-src 'self' 'unsafe-inline'(;|$)/);

    const queryEditor = page.locator('.graphiql-query-editor .CodeMirror');
    await queryEditor.waitFor();
    const headersEditor = page.locator('section.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror');
    await expect.poll(() => editorText(page, 'section.graphiql-editor-tool .graphiql-editor:not(.hidden)')).toContain('Bearer <paste a token>');

    await replaceEditorText(page, queryEditor, '{ me { id name platformAdmin } }');
    const refused = (await runAndReadResult(watch)) as { errors?: Array<{ extensions?: { code?: string } }> };
    expect(refused.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

    const token = await devToken('graphiql-tester');
    await replaceEditorText(page, headersEditor, JSON.stringify({ authorization: `Bearer ${token}` }));
    const answer = await runAndReadResult(watch);
    expect(answer).toEqual({ data: { me: { id: expect.any(String), name: 'graphiql-tester', platformAdmin: true } } });

    // The docs explorer (schema from introspection, allowed in dev mode) and a dialog (Radix
    // injects scroll-lock styles) are where inline styles would show up under the CSP.
    await page.getByRole('button', { name: 'Show Documentation Explorer' }).click();
    const explorer = page.locator('.graphiql-doc-explorer');

    await explorer
      .locator('a.graphiql-doc-explorer-type-name', { hasText: /^Query$/ })
      .first()
      .click();
    await explorer.locator('a.graphiql-doc-explorer-field-name', { hasText: /^me$/ }).click();
    await expect.poll(() => explorer.locator('.graphiql-doc-explorer-title').innerText()).toBe('me');
    await page.getByRole('button', { name: 'Open settings dialog' }).click();
    await page.getByRole('dialog').waitFor();
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'detached' });

    expect(watch.requested.some((u) => u.endsWith('/graphiql/assets/graphiql.min.js'))).toBe(true);
    expect(watch.foreign).toEqual([]);
    expect(await allCspViolations(watch)).toEqual([]);
    expect(watch.pageErrors).toEqual([]);
    await page.context().close();
  });

  it('runs a subscription over a same-origin WebSocket, authenticated by the headers editor', { timeout: 60_000 }, async () => {
    const token = await devToken('graphiql-subscriber');
    const tenant = uniqueTenantId('giql');
    expect(
      (await rest('POST', '/v1/tenants', token, { id: tenant, displayName: tenant, profile: 'student', owners: [{ principalId: 'olga' }] })).status,
    ).toBe(201);
    const watch = await watchedPage(env.browser, env.origin);
    const { page } = watch;
    let ackedOn: string | undefined;
    page.on('websocket', (ws) =>
      ws.on('framereceived', (f) => {
        if (typeof f.payload === 'string' && f.payload.includes('"connection_ack"')) ackedOn = ws.url();
      }),
    );
    await openGraphiQL(watch);
    await replaceEditorText(page, page.locator(HEADERS_EDITOR), JSON.stringify({ authorization: `Bearer ${token}` }));
    await replaceEditorText(page, page.locator(QUERY_EDITOR), `subscription Ops { operationsUpdated(tenant: "${tenant}") { id kind status } }`);
    // GraphiQL parses the query 100 ms after an edit (debounced) and sends only a parsed subscription to the WebSocket.
    await expect.poll(() => parsedOperation(page)).toBe('subscription');
    await page.locator('button.graphiql-execute-button').click();
    await expect.poll(() => ackedOn, { timeout: 10_000 }).toBe(`${env.origin.replace(/^http/, 'ws')}/graphql`);

    const deletion = await rest('DELETE', `/v1/tenants/${tenant}`, token);
    expect(deletion.status).toBe(202);
    await expect
      .poll(
        async () => {
          const text = await editorText(page, '.result-window');
          return text === ''
            ? undefined
            : (JSON.parse(text) as { data?: { operationsUpdated?: { id: string; kind: string } } }).data?.operationsUpdated;
        },
        { timeout: 15_000 },
      )
      .toMatchObject({ id: deletion.body['id'], kind: 'tenant.delete' });

    expect(watch.foreign).toEqual([]);
    expect(await allCspViolations(watch)).toEqual([]);
    expect(watch.pageErrors).toEqual([]);
    await page.context().close();
  });
});
