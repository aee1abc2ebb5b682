import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPlatformFetch } from '../../src/adapters/lti/platform-fetch.js';
import type { DomainError } from '../../src/domain/shared/errors.js';

let server: http.Server;
let origin: string;
const received: { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      if (req.url === '/redirect') {
        res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data' }).end();
      } else if (req.url === '/big') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('x'.repeat(4096));
      } else if (req.url === '/silent') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{'); // and never ends
      } else {
        res.writeHead(200, { 'content-type': 'application/json', link: '<a>; rel="next"' }).end('{"ok":true}');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('platform fetch (embedded default: private addresses allowed)', () => {
  const fetchIt = createPlatformFetch({ allowPrivate: true, maxResponseBytes: 1024, timeoutMs: 300 });

  it('sends the method, headers and a form body, and returns status, headers and body', async () => {
    const res = await fetchIt(`${origin}/token?x=1`, {
      method: 'POST',
      headers: { accept: 'application/json' },
      body: new URLSearchParams({ grant_type: 'client_credentials' }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('link')).toBe('<a>; rel="next"');
    expect(await res.json()).toEqual({ ok: true });
    const last = received.at(-1);
    expect(last).toMatchObject({ method: 'POST', url: '/token?x=1', body: 'grant_type=client_credentials' });
    expect(last?.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
  });

  it('does not follow redirects', async () => {
    const before = received.length;
    const res = await fetchIt(`${origin}/redirect`);
    expect(res.status).toBe(302);
    expect(received.length - before).toBe(1);
  });

  it('refuses a body over the size cap', async () => {
    const err = (await fetchIt(`${origin}/big`).catch((e: unknown) => e)) as DomainError;
    expect(err.code).toBe('LTI_PLATFORM_BAD_ANSWER');
  });

  it('gives up when the answer does not complete in time (real time is the subject: a 300 ms budget)', async () => {
    const err = (await fetchIt(`${origin}/silent`).catch((e: unknown) => e)) as DomainError;
    expect(err.code).toBe('LTI_PLATFORM_UNAVAILABLE');
  });

  it('reports a refused connection as retryable', async () => {
    const err = (await fetchIt('http://127.0.0.1:1/x').catch((e: unknown) => e)) as DomainError;
    expect(err.code).toBe('LTI_PLATFORM_UNAVAILABLE');
  });

  it('rejects with the caller’s own abort reason', async () => {
    const ac = new AbortController();
    const p = fetchIt(`${origin}/silent`, { signal: ac.signal });
    ac.abort(new Error('stopping'));
    await expect(p).rejects.toThrow('stopping');
  });
});
