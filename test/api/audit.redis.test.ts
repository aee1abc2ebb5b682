import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryAuditLog } from '../../src/adapters/memory/audit-log.js';
import { createRedisAuditLog } from '../../src/adapters/redis/audit-log.js';
import type { AuditLog } from '../../src/domain/audit/audit.js';
import { startTestApp, uniqueTenantId, type TestApp } from '../support/test-app.js';

let t: TestApp;
let admin: string;
beforeAll(async () => {
  t = await startTestApp();
  admin = await t.bearer({ sub: 'auditor-admin', name: 'Ada', roles: ['platform-admin'] });
});
afterAll(async () => {
  await t?.close();
});
const api = () => request(t.app.server);

async function events(query: Record<string, string>, auth = admin) {
  return api().get('/v1/audit').query(query).set('authorization', auth);
}

describe('audit log', () => {
  it('records every REST mutation with who, what, tenant, result and request id — refused ones too', async () => {
    const id = uniqueTenantId('aud');
    await api()
      .post('/v1/tenants')
      .set('authorization', admin)
      .set('x-request-id', `req-${id}`)
      .send({ id, displayName: 'A', profile: 'student', owners: [{ principalId: 'olga' }] });
    await api().put(`/v1/tenants/${id}/members/sam`).set('authorization', admin).send({ role: 'member' });
    await api().delete(`/v1/tenants/${id}/members/olga`).set('authorization', admin);
    await expect.poll(async () => (await events({ tenant: id })).body.items.length).toBe(3);
    const res = await events({ tenant: id });
    expect(res.body.items.map((e: any) => [e.action, e.result.status, e.result.code])).toEqual([
      ['deleteMember', 409, 'LAST_OWNER'],
      ['putMember', 201, undefined],
      ['createTenant', 201, undefined],
    ]);
    expect(res.body.items[2]).toMatchObject({
      actor: { id: 'auditor-admin', kind: 'user', name: 'Ada' },
      method: 'POST',
      path: '/v1/tenants',
      requestId: `req-${id}`,
      tenant: id,
    });
    expect(res.body.items[1].target).toEqual({ type: 'member', id: 'sam' });
  });

  it('records GraphQL mutations, and reads are not audited', async () => {
    const id = uniqueTenantId('aud');
    await api()
      .post('/graphql')
      .set('authorization', admin)
      .send({
        query: 'mutation($i: CreateTenantInput!) { createTenant(input: $i) { id } }',
        variables: { i: { id, displayName: 'G', profile: 'student' } },
      });
    await api().get(`/v1/tenants/${id}`).set('authorization', admin);
    await expect.poll(async () => (await events({ tenant: id })).body.items.length).toBe(1);
    expect((await events({ tenant: id })).body.items[0]).toMatchObject({ action: 'graphql.createTenant', result: { status: 200 }, tenant: id });
  });

  it('owners read their tenant only; members and strangers cannot read it', async () => {
    const id = uniqueTenantId('aud');
    await api()
      .post('/v1/tenants')
      .set('authorization', admin)
      .send({ id, displayName: 'A', profile: 'student', owners: [{ principalId: 'olga-a' }] });
    const owner = await t.bearer({ sub: 'olga-a' });
    expect((await events({ tenant: id }, owner)).status).toBe(200);
    expect((await events({}, owner)).status).toBe(403);
    const member = await t.bearer({ sub: 'sam-a', tenants: { [id]: 'member' } });
    expect((await events({ tenant: id }, member)).status).toBe(403);
    const stranger = await t.bearer({ sub: 'eve', tenants: { other: 'owner' } });
    expect((await events({ tenant: id }, stranger)).status).toBe(404);
  });
});

describe.each([
  ['memory', async () => ({ log: createMemoryAuditLog(), close: async () => undefined })],
  [
    'redis',
    async () => {
      const redis = new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379');
      return { log: createRedisAuditLog({ redis, prefix: `lp-test-audit-${randomUUID()}` }), close: async () => void redis.disconnect() };
    },
  ],
] as const)('audit store (%s)', (_name, make) => {
  let store: { log: AuditLog; close: () => Promise<void> };
  beforeAll(async () => {
    store = await make();
  });
  afterAll(async () => {
    await store.close();
  });

  it('lists newest first, filters by tenant and actor, and pages without gaps or repeats', async () => {
    for (let i = 0; i < 7; i++) {
      await store.log.append({
        at: new Date(Date.now() + i).toISOString(),
        actor: { id: i % 2 === 0 ? 'a' : 'b', kind: 'user', name: 'x' },
        action: `act${i}`,
        method: 'POST',
        path: '/x',
        ...(i < 5 ? { tenant: 't1' } : {}),
        result: { status: 200 },
        requestId: `r${i}`,
      });
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.log.list({ tenant: 't1' }, { limit: 2, ...(cursor === undefined ? {} : { cursor }) });
      seen.push(...page.items.map((e) => e.action));
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    expect(seen).toEqual(['act4', 'act3', 'act2', 'act1', 'act0']);
    const byActor = await store.log.list({ actor: 'b' }, { limit: 10 });
    expect(byActor.items.map((e) => e.action)).toEqual(['act5', 'act3', 'act1']);
  });
});
