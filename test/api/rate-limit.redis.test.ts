import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/test-app.js';

const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
let a: TestApp;
let b: TestApp;

beforeAll(async () => {
  // Two API instances sharing one Redis, as behind a load balancer.
  const env = { RATE_LIMIT_PER_MINUTE: '5', REDIS_URL, DEV_TOKEN_SECRET: 'r'.repeat(40), EMBEDDED_WORKER: 'false' };
  a = await startTestApp(env);
  b = await startTestApp(env);
});
afterAll(async () => {
  await a?.close();
  await b?.close();
});

describe('rate limits', () => {
  it('hold per principal across API instances and answer 429 problem+json with Retry-After', async () => {
    const token = await a.bearer({ sub: `flood-${randomUUID()}`, roles: ['platform-admin'] });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await request(a.app.server).get('/v1/tenants').set('authorization', token)).status);
    for (let i = 0; i < 2; i++) statuses.push((await request(b.app.server).get('/v1/tenants').set('authorization', token)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    const over = await request(b.app.server).get('/v1/tenants').set('authorization', token);
    expect(over.status).toBe(429);
    expect(over.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(over.body.code).toBe('RATE_LIMITED');
    expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
    const someoneElse = await a.bearer({ sub: `calm-${randomUUID()}`, roles: ['platform-admin'] });
    expect((await request(a.app.server).get('/v1/tenants').set('authorization', someoneElse)).status).toBe(200);
    expect((await request(a.app.server).get('/healthz')).status).toBe(200);
  });
});
