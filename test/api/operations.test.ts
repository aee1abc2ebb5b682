import { parse } from 'graphql';
import request from 'supertest';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, uniqueTenantId, type TestApp } from '../support/test-app.js';

let t: TestApp;
let admin: string;
let base: string;

beforeAll(async () => {
  t = await startTestApp();
  admin = await t.bearer({ sub: 'admin-ops', roles: ['platform-admin'] });
  base = t.url;
});
afterAll(async () => {
  await t?.close();
});

const api = () => request(t.app.server);

async function newTenant(owner = 'olga') {
  const id = uniqueTenantId('ops');
  const res = await api()
    .post('/v1/tenants')
    .set('authorization', admin)
    .send({ id, displayName: id, profile: 'student', owners: [{ principalId: owner }] });
  expect(res.status).toBe(201);
  return id;
}

describe('operations', () => {
  it('a long-running request answers 202 with Location and Operation-Location, and the operation reaches succeeded', async () => {
    const id = await newTenant();
    const res = await api().delete(`/v1/tenants/${id}`).set('authorization', admin);
    expect(res.status).toBe(202);
    expect(res.headers['location']).toBe(`/v1/operations/${res.body.id}`);
    expect(res.headers['operation-location']).toBe(`/v1/operations/${res.body.id}`);
    expect(res.headers['retry-after']).toBe('2');
    expect(res.body).toMatchObject({
      kind: 'tenant.delete',
      status: expect.stringMatching(/queued|running/),
      attempts: expect.any(Number),
      cancelRequested: false,
    });
    await expect
      .poll(async () => (await api().get(`/v1/operations/${res.body.id}`).set('authorization', admin)).body.status, { timeout: 8000 })
      .toBe('succeeded');
    const done = await api().get(`/v1/operations/${res.body.id}`).set('authorization', admin);
    expect(done.body).toMatchObject({ progress: { percent: 100 }, result: { tenant: id, deleted: true }, finishedAt: expect.any(String) });
    expect(done.headers['retry-after']).toBeUndefined();
    const gone = await api().get(`/v1/tenants/${id}`).set('authorization', admin);
    expect(gone.status, JSON.stringify([gone.body, done.body])).toBe(404);
  });

  it('lists operations with filters and pages, and hides other tenants', async () => {
    const a = await newTenant();
    const b = await newTenant();
    const opA = (await api().delete(`/v1/tenants/${a}`).set('authorization', admin)).body.id as string;
    const opB = (await api().delete(`/v1/tenants/${b}`).set('authorization', admin)).body.id as string;
    const byTenant = await api().get('/v1/operations').query({ tenant: a }).set('authorization', admin);
    expect(byTenant.status).toBe(200);
    expect(byTenant.body.items.map((o: { id: string }) => o.id)).toEqual([opA]);
    const byTarget = await api()
      .get('/v1/operations')
      .query({ targetType: 'tenant', targetId: b, kind: 'tenant.delete' })
      .set('authorization', admin);
    expect(byTarget.body.items.map((o: { id: string }) => o.id)).toEqual([opB]);
    const page = await api().get('/v1/operations').query({ limit: 1 }).set('authorization', admin);
    expect(page.body.items).toHaveLength(1);
    expect(page.body.nextCursor).toEqual(expect.any(String));
    const eve = await t.bearer({ sub: 'eve', tenants: { elsewhere: 'owner' } });
    expect((await api().get(`/v1/operations/${opA}`).set('authorization', eve)).status).toBe(404);
    expect((await api().get('/v1/operations').query({ tenant: a }).set('authorization', eve)).status).toBe(404);
    const mine = await api().get('/v1/operations').set('authorization', eve);
    expect(mine.body.items.map((o: { id: string }) => o.id)).not.toContain(opA);
    expect((await api().get('/v1/operations').query({ targetType: 'tenant' }).set('authorization', admin)).status).toBe(400);
  });

  it('unknown operation is 404; cancel of a finished operation is 409', async () => {
    expect((await api().get('/v1/operations/00000000-0000-0000-0000-000000000000').set('authorization', admin)).body.code).toBe(
      'OPERATION_NOT_FOUND',
    );
    const id = await newTenant();
    const op = (await api().delete(`/v1/tenants/${id}`).set('authorization', admin)).body.id as string;
    await expect
      .poll(async () => (await api().get(`/v1/operations/${op}`).set('authorization', admin)).body.status, { timeout: 8000 })
      .toBe('succeeded');
    const cancel = await api().post(`/v1/operations/${op}/cancel`).set('authorization', admin);
    expect(cancel.status).toBe(409);
    expect(cancel.body.code).toBe('OPERATION_FINISHED');
  });

  it('Idempotency-Key: a replay returns the first answer, another body is 422, keys are per caller', async () => {
    const id = uniqueTenantId('idem');
    const body = { id, displayName: 'Idem', profile: 'student' };
    const first = await api().post('/v1/tenants').set('authorization', admin).set('idempotency-key', `k-${id}`).send(body);
    expect(first.status).toBe(201);
    const replay = await api()
      .post('/v1/tenants')
      .set('authorization', admin)
      .set('idempotency-key', `k-${id}`)
      .send({ profile: 'student', displayName: 'Idem', id });
    expect(replay.status).toBe(201);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.headers['location']).toBe(first.headers['location']);
    expect(replay.body).toEqual(first.body);
    const other = await api()
      .post('/v1/tenants')
      .set('authorization', admin)
      .set('idempotency-key', `k-${id}`)
      .send({ ...body, displayName: 'Other' });
    expect(other.status).toBe(422);
    expect(other.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    const admin2 = await t.bearer({ sub: 'admin-2', roles: ['platform-admin'] });
    const otherCaller = await api().post('/v1/tenants').set('authorization', admin2).set('idempotency-key', `k-${id}`).send(body);
    expect(otherCaller.status).toBe(409);
    expect(otherCaller.body.code).toBe('TENANT_EXISTS');
    const bad = await api().post('/v1/tenants').set('authorization', admin).set('idempotency-key', 'has spaces').send(body);
    expect(bad.status).toBe(400);
  });

  it('Idempotency-Key: a replay while the first request is still handled is 409', async () => {
    const em = t.deps.emulator;
    if (em === undefined) throw new Error('expected the simulated cluster');
    const id = uniqueTenantId('idem');
    em.faults.latency(600, { method: 'POST', pathPrefix: '/api/v1/namespaces' });
    try {
      const body = { id, displayName: 'Slow', profile: 'student' };
      // supertest sends on then(): start the first request now.
      const slow = api()
        .post('/v1/tenants')
        .set('authorization', admin)
        .set('idempotency-key', `slow-${id}`)
        .send(body)
        .then((r) => r);
      // Real time: the first request must be in flight (its namespace POST delayed 600 ms) when the second arrives; nothing observable says it is.
      await new Promise((r) => setTimeout(r, 200));
      const concurrent = await api().post('/v1/tenants').set('authorization', admin).set('idempotency-key', `slow-${id}`).send(body);
      expect(concurrent.status).toBe(409);
      expect(concurrent.body.code).toBe('IDEMPOTENCY_KEY_IN_PROGRESS');
      expect((await slow).status).toBe(201);
    } finally {
      em.faults.clear();
    }
  });

  it('GraphQL: queries an operation and receives operationUpdated over a websocket until it succeeds', async () => {
    const id = await newTenant();
    const ws = new WebSocket(`${base.replace('http', 'ws')}/graphql`, 'graphql-transport-ws');
    const statuses: string[] = [];
    const opened = new Promise<void>((resolve, reject) => {
      ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: admin } })));
      ws.on('error', reject);
      ws.on('message', (raw) => {
        const msg = JSON.parse(String(raw)) as { type: string; payload?: any };
        if (msg.type === 'connection_ack') resolve();
        if (msg.type === 'next') statuses.push(msg.payload.data.operationsUpdated.status);
      });
    });
    await opened;
    ws.send(
      JSON.stringify({
        id: '1',
        type: 'subscribe',
        payload: { query: `subscription($t: ID!) { operationsUpdated(tenant: $t) { id status progress { percent } } }`, variables: { t: id } },
      }),
    );
    // Real time: graphql-ws acknowledges no subscribe message: a fixed wait lets the server register the subscription first.
    await new Promise((r) => setTimeout(r, 300));
    const del = await api()
      .post('/graphql')
      .set('authorization', admin)
      .send({ query: `mutation($id: ID!) { deleteTenant(id: $id) { id status kind } }`, variables: { id } });
    expect(del.body.data.deleteTenant.kind).toBe('tenant.delete');
    await expect.poll(() => statuses.at(-1), { timeout: 8000 }).toBe('succeeded');
    ws.close();
    const q = await api()
      .post('/graphql')
      .set('authorization', admin)
      .send({ query: `query($id: ID!) { operation(id: $id) { status result } }`, variables: { id: del.body.data.deleteTenant.id } });
    expect(q.body.data.operation.status).toBe('succeeded');
    expect(JSON.parse(q.body.data.operation.result)).toMatchObject({ deleted: true });
  });

  it('GraphQL subscriptions are validated like queries (limits included), also when sent as a ready-made AST, and oversized messages are refused', async () => {
    const id = await newTenant();
    const ws = new WebSocket(`${base.replace('http', 'ws')}/graphql`, 'graphql-transport-ws');
    const answers = new Map<string, { type: string; payload?: any }>();
    let closeCode: number | undefined;
    await new Promise<void>((resolve, reject) => {
      ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: admin } })));
      ws.on('error', reject);
      ws.on('close', (code) => (closeCode = code));
      ws.on('message', (raw) => {
        const msg = JSON.parse(String(raw)) as { type: string; id?: string; payload?: any };
        if (msg.type === 'connection_ack') resolve();
        if (msg.id !== undefined && !answers.has(msg.id)) answers.set(msg.id, msg);
      });
    });
    const aliases = Array.from({ length: 16 }, (_, i) => `a${i}: id`).join(' ');
    ws.send(
      JSON.stringify({
        id: 'aliases',
        type: 'subscribe',
        payload: { query: `subscription($t: ID!) { operationsUpdated(tenant: $t) { ${aliases} } }`, variables: { t: id } },
      }),
    );
    // An AST object instead of a string: mercurius would run it without validating it.
    const ast = parse(`subscription($t: ID!) { operationsUpdated(tenant: $t) { id noSuchField } }`, { noLocation: true });
    ws.send(JSON.stringify({ id: 'ast', type: 'subscribe', payload: { query: ast, variables: { t: id } } }));
    await expect.poll(() => answers.size, { timeout: 5000 }).toBe(2);
    expect(answers.get('aliases')).toMatchObject({
      type: 'error',
      payload: [expect.objectContaining({ extensions: expect.objectContaining({ code: 'GRAPHQL_TOO_MANY_ALIASES' }) })],
    });
    expect(answers.get('ast')).toMatchObject({
      type: 'error',
      payload: [expect.objectContaining({ message: expect.stringContaining('noSuchField') })],
    });
    ws.send(
      JSON.stringify({
        id: 'big',
        type: 'subscribe',
        payload: { query: `subscription { operationsUpdated(tenant: "x") { id } } #${'x'.repeat(200_000)}` },
      }),
    );
    await expect.poll(() => closeCode, { timeout: 5000 }).toBe(1009); // message too big
  });

  it('GraphQL subscriptions refuse a connection without a valid token', async () => {
    const ws = new WebSocket(`${base.replace('http', 'ws')}/graphql`, 'graphql-transport-ws');
    const closed = new Promise<string>((resolve) => {
      ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: 'Bearer nope' } })));
      ws.on('message', (raw) => resolve(JSON.parse(String(raw)).type));
      ws.on('close', () => resolve('closed'));
    });
    expect(await closed).not.toBe('connection_ack');
    ws.close();
  });

  it('the queue dashboard needs a platform admin, and says when there is no Redis', async () => {
    expect((await api().get('/admin/queues')).status).toBe(401);
    const owner = await t.bearer({ sub: 'olga' });
    expect((await api().get('/admin/queues').set('authorization', owner)).status).toBe(403);
    const res = await api().get('/admin/queues').set('authorization', admin);
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('DASHBOARD_UNAVAILABLE');
  });

  it('queue metrics are on /metrics', async () => {
    const res = await api().get('/metrics');
    expect(res.text).toMatch(/labplane_jobs\{queue="[^"]+",state="waiting"\}/);
    expect(res.text).toContain('labplane_job_step_duration_seconds');
  });
});
