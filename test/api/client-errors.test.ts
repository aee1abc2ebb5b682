import { connect } from 'node:net';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/test-app.js';

let t: TestApp;
let port: number;
beforeAll(async () => {
  t = await startTestApp();
  port = (t.app.server.address() as { port: number }).port;
});
afterAll(async () => {
  await t?.close();
});

/** Sends raw bytes and reads until the server closes the connection. */
function raw(bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
    let answer = '';
    socket.on('data', (d) => (answer += d.toString()));
    socket.on('error', reject);
    socket.on('close', () => resolve(answer));
  });
}

function parse(answer: string): { status: number; contentType: string | undefined; body: Record<string, unknown> } {
  const [head = '', body = ''] = answer.split('\r\n\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
  const contentType = /\r\ncontent-type: ([^\r]+)/i.exec(head)?.[1];
  return { status, contentType, body: JSON.parse(body) as Record<string, unknown> };
}

describe('requests refused by the HTTP parser are answered in problem+json', () => {
  it('headers over the size limit: 431 HEADERS_TOO_LARGE', async () => {
    const res = parse(await raw(`GET /v1/tenants HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${'a'.repeat(20_000)}\r\n\r\n`));
    expect(res.status).toBe(431);
    expect(res.contentType).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 431, code: 'HEADERS_TOO_LARGE' });
  });

  it('bytes that are not HTTP: 400 BAD_REQUEST', async () => {
    const res = parse(await raw('NOT HTTP AT ALL\r\n\r\n'));
    expect(res.status).toBe(400);
    expect(res.contentType).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 400, code: 'BAD_REQUEST' });
  });
});

describe('WWW-Authenticate on 401 (RFC 6750 §3.1)', () => {
  it('names invalid_token only when a token was sent', async () => {
    const none = await request(t.app.server).get('/v1/tenants');
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer realm="labplane"');
    const bad = await request(t.app.server).get('/v1/tenants').set('authorization', 'Bearer nope');
    expect(bad.status).toBe(401);
    expect(bad.headers['www-authenticate']).toBe('Bearer realm="labplane", error="invalid_token"');
  });
});
