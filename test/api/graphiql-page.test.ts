import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { getIntrospectionQuery } from 'graphql';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/test-app.js';

const requireFrom = createRequire(import.meta.url);
let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

/** The `src`/`href` of every script and stylesheet of an HTML page, and how many scripts are inline. */
function pageResources(html: string): { urls: string[]; inlineScripts: number } {
  const urls = [...html.matchAll(/<(?:script[^>]*\ssrc|link[^>]*\srel="stylesheet"[^>]*\shref)="([^"]+)"/g)].map((m) => m[1] ?? '');
  const inlineScripts = [...html.matchAll(/<script(?![^>]*\ssrc=)[^>]*>/g)].length;
  return { urls, inlineScripts };
}

describe('GraphiQL page (dev mode)', () => {
  it('is HTML whose scripts are all files on this origin, under a CSP without inline scripts or https: sources', async () => {
    const res = await request(t.app.server).get('/graphiql');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toMatch(/(^|;)script-src 'self'(;|$)/);
    expect(csp).toMatch(/(^|;)style-src 'self' 'unsafe-inline'(;|$)/);
    expect(csp).not.toContain('https:');
    const { urls, inlineScripts } = pageResources(res.text);
    expect(inlineScripts).toBe(0);
    expect(urls.length).toBeGreaterThanOrEqual(6);
    for (const url of urls) {
      expect(url).toMatch(/^\/graphiql\/assets\/[\w.-]+$/);
      const asset = await request(t.app.server).get(url);
      expect(asset.status, url).toBe(200);
      expect(asset.headers['content-type'], url).toMatch(url.endsWith('.css') ? /^text\/css/ : /^(application|text)\/javascript/);
    }
  });

  it('serves the vendor builds byte for byte from the installed packages, with conditional GETs', async () => {
    const cases = [
      ['/graphiql/assets/graphiql.min.js', 'graphiql', 'graphiql.min.js'],
      ['/graphiql/assets/graphiql.min.css', 'graphiql', 'graphiql.min.css'],
      ['/graphiql/assets/react.production.min.js', 'react', 'umd/react.production.min.js'],
      ['/graphiql/assets/react-dom.production.min.js', 'react-dom', 'umd/react-dom.production.min.js'],
    ] as const;
    for (const [url, pkg, file] of cases) {
      const path = join(dirname(requireFrom.resolve(`${pkg}/package.json`)), file);
      const res = await request(t.app.server)
        .get(url)
        .buffer(true)
        .parse((r, done) => {
          const chunks: Buffer[] = [];
          r.on('data', (c: Buffer) => chunks.push(c));
          r.on('end', () => done(null, Buffer.concat(chunks)));
        });
      expect(res.status, url).toBe(200);
      expect(Buffer.compare(res.body as Buffer, readFileSync(path)), url).toBe(0);
      const etag = res.headers['etag'];
      expect(etag, url).toBeTruthy();
      const again = await request(t.app.server).get(url).set('if-none-match', String(etag));
      expect(again.status, url).toBe(304);
    }
  });

  it('serves nothing else out of node_modules', async () => {
    for (const url of [
      '/graphiql/assets/package.json',
      '/graphiql/assets/graphiql.js',
      '/graphiql/assets/graphiql.min.js.map',
      '/graphiql/assets/..%2fpackage.json',
      '/graphiql/assets/umd/react.development.js',
    ]) {
      const res = await request(t.app.server).get(url);
      expect(res.status, url).toBe(404);
      expect(res.headers['content-type'], url).toMatch(/^application\/problem\+json/);
    }
  });

  it('gives the page the schema as an introspection result, which GraphiQL could not fetch through the /graphql depth limit', async () => {
    const res = await request(t.app.server).get('/graphiql/schema.json');
    expect(res.status).toBe(200);
    const schema = res.body.data.__schema as { queryType: { name: string }; types: Array<{ name: string; fields: Array<{ name: string }> | null }> };
    expect(schema.queryType.name).toBe('Query');
    expect(schema.types.find((x) => x.name === 'Query')?.fields?.map((f) => f.name)).toContain('me');
    const viaGraphql = await request(t.app.server)
      .post('/graphql')
      .set('content-type', 'application/json')
      .send({ query: getIntrospectionQuery(), operationName: 'IntrospectionQuery' });
    expect(viaGraphql.status).toBe(400);
    expect(JSON.stringify(viaGraphql.body.errors)).toMatch(/depth/i);
  });

  it('keeps inline scripts out of the app-wide CSP too (the docs UI loads files only)', async () => {
    const docs = String((await request(t.app.server).get('/docs/')).headers['content-security-policy']);
    expect(docs).toMatch(/(^|;)script-src 'self'(;|$)/);
    // An API answer allows no script at all (its policy is default-src 'none', no script-src).
    const api = String((await request(t.app.server).get('/healthz')).headers['content-security-policy']);
    expect(api).toMatch(/^default-src 'none'; frame-ancestors 'none'$/);
  });
});
