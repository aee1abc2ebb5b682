import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadContract } from '../support/contract.js';
import { startTestApp, uniqueTenantId, type TestApp } from '../support/test-app.js';
import { loadWebhookEventSchemas } from '../support/webhook-event-schemas.js';
import { expectProblem } from '../vms/support.js';
import { eventually, startReceiver, verified, type Receiver } from './support.js';

/**
 * The webhook management routes over REST and GraphQL on the embedded default: deliveries go through
 * the simulated network to a local receiver (`lms.example.edu`).
 */
let t: TestApp;
let receiver: Receiver;
let admin: string;
let owner: string;
let member: string;
let foreignOwner: string;
let a: string;
const api = () => request(t.app.server);
const hooks = () => `/v1/tenants/${a}/webhooks`;
const contract = loadContract();

beforeAll(async () => {
  receiver = await startReceiver(() => 204);
  t = await startTestApp({ SIM_WEBHOOK_ROUTES: `lms.example.edu=${receiver.origin}` });
  admin = await t.bearer({ sub: 'whm-admin', roles: ['platform-admin'] });
  a = uniqueTenantId('whm-a');
  const b = uniqueTenantId('whm-b');
  for (const [id, o] of [
    [a, 'olga'],
    [b, 'bob'],
  ] as const) {
    const res = await api()
      .post('/v1/tenants')
      .set('authorization', admin)
      .send({ id, displayName: id, profile: 'faculty', owners: [{ principalId: o }] });
    expect(res.status).toBe(201);
  }
  await api().put(`/v1/tenants/${a}/members/mia`).set('authorization', admin).send({ role: 'member' });
  owner = await t.bearer({ sub: 'olga' });
  member = await t.bearer({ sub: 'mia' });
  foreignOwner = await t.bearer({ sub: 'bob' });
});
afterAll(async () => {
  await t?.close();
  await receiver?.close();
});

async function register(path = '/hooks'): Promise<{ id: string; secret: string }> {
  const res = await api()
    .post(hooks())
    .set('authorization', owner)
    .send({ url: `https://lms.example.edu${path}`, events: ['vm.ready'], description: 'Canvas' });
  expect(res.status, res.text).toBe(201);
  return { id: res.body.id, secret: res.body.secret };
}

const receivedOf = (path: string) => receiver.received.filter((r) => r.path === path);

function valid(operationId: string, status: number, body: unknown): void {
  const v = contract.responseValidator(operationId, status);
  if (v === undefined || v === 'no-body') throw new Error(`${operationId} ${status} has no body in the contract`);
  expect(v(body), JSON.stringify(v.errors)).toBe(true);
}

describe('PATCH .../webhooks/{id}', () => {
  it('changes url, events and description with If-Match; a stale ETag is 412; GET carries the ETag', async () => {
    const { id } = await register('/patch');
    const got = await api().get(`${hooks()}/${id}`).set('authorization', owner);
    expect(got.headers['etag']).toBe(`"${got.body.version}"`);
    expect(got.body).toMatchObject({ status: 'active', version: expect.any(String) });
    const res = await api()
      .patch(`${hooks()}/${id}`)
      .set('authorization', owner)
      .set('if-match', got.headers['etag'] as string)
      .send({ url: 'https://lms.example.edu/patched', events: ['webhook.disabled', 'lab.ready'], description: null });
    expect(res.status, res.text).toBe(200);
    valid('updateWebhook', 200, res.body);
    expect(res.body).toMatchObject({ id, url: 'https://lms.example.edu/patched', events: ['lab.ready', 'webhook.disabled'] });
    expect(res.body).not.toHaveProperty('description');
    expect(res.headers['etag']).toBe(`"${res.body.version}"`);
    expect(res.headers['etag']).not.toBe(got.headers['etag']);
    expectProblem(
      await api()
        .patch(`${hooks()}/${id}`)
        .set('authorization', owner)
        .set('if-match', got.headers['etag'] as string)
        .send({ description: 'late' }),
      412,
      'VERSION_MISMATCH',
    );
    expect((await api().get(`${hooks()}/${id}`).set('authorization', owner)).body.description).toBeUndefined();
  });

  it('refuses what registration refuses: unknown events 400, a private URL 422, an empty body 400; nothing changes', async () => {
    const { id } = await register('/patch-bad');
    expectProblem(
      await api()
        .patch(`${hooks()}/${id}`)
        .set('authorization', owner)
        .send({ events: ['vm.exploded'] }),
      400,
      'VALIDATION_FAILED',
    );
    expectProblem(
      await api()
        .patch(`${hooks()}/${id}`)
        .set('authorization', owner)
        .send({ events: ['webhook.ping'] }),
      400,
      'VALIDATION_FAILED',
    );
    expectProblem(await api().patch(`${hooks()}/${id}`).set('authorization', owner).send({}), 400, 'VALIDATION_FAILED');
    expectProblem(
      await api().patch(`${hooks()}/${id}`).set('authorization', owner).send({ url: 'https://169.254.169.254/latest' }),
      422,
      'URL_NOT_ALLOWED',
    );
    expect((await api().get(`${hooks()}/${id}`).set('authorization', owner)).body).toMatchObject({
      url: 'https://lms.example.edu/patch-bad',
      events: ['vm.ready'],
    });
  });

  it('status disabled stops deliveries (reason requested); status active re-enables', async () => {
    const { id } = await register('/toggle');
    const off = await api().patch(`${hooks()}/${id}`).set('authorization', owner).send({ status: 'disabled' });
    expect(off.body).toMatchObject({ status: 'disabled', disabledReason: 'requested', disabledAt: expect.any(String) });
    const on = await api().patch(`${hooks()}/${id}`).set('authorization', owner).send({ status: 'active' });
    expect(on.body.status).toBe('active');
    expect(on.body).not.toHaveProperty('disabledAt');
  });
});

describe('ping, one delivery, redelivery', () => {
  it('ping answers 202 with the pending delivery and its Location; the receiver gets webhook.ping, signed and valid against the contract', async () => {
    const { id, secret } = await register('/ping');
    const res = await api().post(`${hooks()}/${id}/ping`).set('authorization', owner);
    expect(res.status, res.text).toBe(202);
    valid('pingWebhook', 202, res.body);
    expect(res.body).toMatchObject({ webhookId: id, eventType: 'webhook.ping', status: 'pending', attempts: 0 });
    expect(res.headers['location']).toBe(`${hooks()}/${id}/deliveries/${res.body.id}`);
    const got = await eventually(() => receivedOf('/ping')[0], 15_000, 'the ping');
    const body = verified(secret, got);
    expect(body).toMatchObject({ type: 'webhook.ping', tenant: a, data: { tenant: a, webhookId: id } });
    expect(loadWebhookEventSchemas().errors('webhook.ping', body)).toEqual([]);
    const one = await eventually(
      async () => {
        const d = await api()
          .get(res.headers['location'] as string)
          .set('authorization', owner);
        return d.body.status === 'succeeded' ? d : undefined;
      },
      15_000,
      'the delivery record',
    );
    valid('getWebhookDelivery', 200, one.body);
    expect(one.body).toMatchObject({ attempts: 1, responseStatus: 204 });
  });

  it('redeliver sends a finished delivery again (same webhook-id and body), 409 while it is still being tried or the webhook is disabled, 404 for another', async () => {
    const { id, secret } = await register('/redeliver');
    const ping = await api().post(`${hooks()}/${id}/ping`).set('authorization', owner);
    const deliveries = `${hooks()}/${id}/deliveries`;
    await eventually(
      async () => (await api().get(`${deliveries}/${ping.body.id}`).set('authorization', owner)).body.status === 'succeeded',
      15_000,
      'ping',
    );
    const res = await api().post(`${deliveries}/${ping.body.id}/redeliver`).set('authorization', owner);
    expect(res.status, res.text).toBe(202);
    valid('redeliverWebhookDelivery', 202, res.body);
    expect(res.body).toMatchObject({ redeliveryOf: ping.body.id, eventId: ping.body.eventId, status: 'pending' });
    expect(res.headers['location']).toBe(`${deliveries}/${res.body.id}`);
    const [first, second] = await eventually(
      () => (receivedOf('/redeliver').length >= 2 ? receivedOf('/redeliver') : undefined),
      15_000,
      'the redelivery',
    );
    expect(second?.headers['webhook-id']).toBe(first?.headers['webhook-id']);
    expect(second?.body).toBe(first?.body);
    expect(verified(secret, second!)).toMatchObject({ type: 'webhook.ping' });
    const list = await api().get(deliveries).set('authorization', owner);
    expect(list.body.items.map((d: { id: string }) => d.id)).toEqual(expect.arrayContaining([ping.body.id, res.body.id]));

    expectProblem(await api().post(`${deliveries}/${crypto.randomUUID()}/redeliver`).set('authorization', owner), 404, 'DELIVERY_NOT_FOUND');
    expectProblem(await api().get(`${deliveries}/${crypto.randomUUID()}`).set('authorization', owner), 404, 'DELIVERY_NOT_FOUND');
    const other = await register('/redeliver-other');
    expectProblem(
      await api().post(`${hooks()}/${other.id}/deliveries/${ping.body.id}/redeliver`).set('authorization', owner),
      404,
      'DELIVERY_NOT_FOUND',
    );

    receiver.answer = (_n, req) => (req.path === '/failing' ? 503 : 204);
    const failing = await register('/failing');
    const tried = await api().post(`${hooks()}/${failing.id}/ping`).set('authorization', owner);
    await eventually(
      async () => (await api().get(`${hooks()}/${failing.id}/deliveries/${tried.body.id}`).set('authorization', owner)).body.status === 'retrying',
      15_000,
      'a retrying delivery',
    );
    expectProblem(
      await api().post(`${hooks()}/${failing.id}/deliveries/${tried.body.id}/redeliver`).set('authorization', owner),
      409,
      'DELIVERY_IN_PROGRESS',
    );
    receiver.answer = () => 204;

    await api().patch(`${hooks()}/${id}`).set('authorization', owner).send({ status: 'disabled' });
    expectProblem(await api().post(`${deliveries}/${ping.body.id}/redeliver`).set('authorization', owner), 409, 'WEBHOOK_DISABLED');
  });
});

describe('POST .../rotate-secret', () => {
  it('answers the new secret once (no-store), without a body; GET and list never show it; the next delivery verifies with the old and the new secret', async () => {
    const { id, secret: oldSecret } = await register('/rotate');
    const res = await api().post(`${hooks()}/${id}/rotate-secret`).set('authorization', owner);
    expect(res.status, res.text).toBe(200);
    valid('rotateWebhookSecret', 200, res.body);
    expect(res.headers['cache-control']).toBe('no-store');
    const newSecret: string = res.body.secret;
    expect(newSecret).toMatch(/^whsec_/);
    expect(newSecret).not.toBe(oldSecret);
    expect(Date.parse(res.body.previousSecretExpiresAt) - Date.parse(res.body.secretRotatedAt)).toBe(24 * 3_600_000);
    const one = await api().get(`${hooks()}/${id}`).set('authorization', owner);
    const list = await api().get(hooks()).set('authorization', owner);
    for (const text of [one.text, list.text]) for (const s of [oldSecret, newSecret]) expect(text).not.toContain(s.slice(6));
    await api().post(`${hooks()}/${id}/ping`).set('authorization', owner);
    const got = await eventually(() => receivedOf('/rotate')[0], 15_000, 'the ping');
    expect(got.headers['webhook-signature']?.split(' ')).toHaveLength(2);
    expect(verified(newSecret, got)['type']).toBe('webhook.ping');
    expect(verified(oldSecret, got)['type']).toBe('webhook.ping');
    expectProblem(
      await api().post(`${hooks()}/${id}/rotate-secret`).set('authorization', owner).send({ overlapHours: 500 }),
      400,
      'VALIDATION_FAILED',
    );
  });
});

describe('who may call the new routes', () => {
  const routes = (id: string, deliveryId: string) => [
    { method: 'patch' as const, url: `${hooks()}/${id}`, body: { description: 'x' } },
    { method: 'post' as const, url: `${hooks()}/${id}/ping` },
    { method: 'post' as const, url: `${hooks()}/${id}/rotate-secret` },
    { method: 'get' as const, url: `${hooks()}/${id}/deliveries/${deliveryId}` },
    { method: 'post' as const, url: `${hooks()}/${id}/deliveries/${deliveryId}/redeliver` },
  ];

  it("another tenant's owner gets 404, a member of the tenant 403, no token 401; nothing changes", async () => {
    const { id } = await register('/isolation');
    const ping = await api().post(`${hooks()}/${id}/ping`).set('authorization', owner);
    const before = (await api().get(`${hooks()}/${id}`).set('authorization', owner)).body;
    for (const r of routes(id, ping.body.id)) {
      const call = (auth?: string) => {
        const req = api()[r.method](r.url);
        if (auth !== undefined) req.set('authorization', auth);
        return r.body === undefined ? req : req.send(r.body);
      };
      const foreign = await call(foreignOwner);
      expect(foreign.status, `${r.method} ${r.url} foreign`).toBe(404);
      // The problem's `instance` echoes the caller's own path; nothing else may name the webhook.
      expect(JSON.stringify({ ...foreign.body, instance: undefined })).not.toContain(id);
      expect((await call(member)).status, `${r.method} ${r.url} member`).toBe(403);
      expect((await call()).status, `${r.method} ${r.url} anonymous`).toBe(401);
    }
    expect((await api().get(`${hooks()}/${id}`).set('authorization', owner)).body).toEqual(before);
  });
});

describe('GraphQL', () => {
  const gql = (auth: string, query: string, variables: Record<string, unknown>) =>
    api().post('/graphql').set('authorization', auth).send({ query, variables });

  it('updateWebhook (expectedVersion), rotateWebhookSecret, pingWebhook, webhookDeliveries and redeliverWebhookDelivery', async () => {
    const { id, secret } = await register('/graphql');
    const { version } = (await api().get(`${hooks()}/${id}`).set('authorization', owner)).body;
    const updated = await gql(
      owner,
      'mutation($t: ID!, $id: ID!, $v: String) { updateWebhook(tenant: $t, id: $id, input: {events: [vm_ready, webhook_disabled], description: "gql"}, expectedVersion: $v) { events description status version } }',
      { t: a, id, v: version },
    );
    expect(updated.body.data.updateWebhook).toMatchObject({ events: ['vm_ready', 'webhook_disabled'], description: 'gql', status: 'active' });
    const stale = await gql(
      owner,
      'mutation($t: ID!, $id: ID!, $v: String) { updateWebhook(tenant: $t, id: $id, input: {description: "x"}, expectedVersion: $v) { id } }',
      {
        t: a,
        id,
        v: version,
      },
    );
    expect(stale.body.errors[0].extensions.code).toBe('VERSION_MISMATCH');

    const rotated = await gql(
      owner,
      'mutation($t: ID!, $id: ID!) { rotateWebhookSecret(tenant: $t, id: $id, overlapHours: 1) { secret webhook { previousSecretExpiresAt } } }',
      {
        t: a,
        id,
      },
    );
    const newSecret: string = rotated.body.data.rotateWebhookSecret.secret;
    expect(newSecret).toMatch(/^whsec_/);
    const ping = await gql(owner, 'mutation($t: ID!, $id: ID!) { pingWebhook(tenant: $t, id: $id) { id eventType status } }', { t: a, id });
    expect(ping.body.data.pingWebhook).toMatchObject({ eventType: 'webhook_ping', status: 'pending' });
    const got = await eventually(() => receivedOf('/graphql')[0], 15_000, 'the ping');
    expect(verified(newSecret, got)['type']).toBe('webhook.ping');
    expect(verified(secret, got)['type']).toBe('webhook.ping');
    const deliveries = await eventually(
      async () => {
        const res = await gql(
          owner,
          'query($t: ID!, $id: ID!) { webhookDeliveries(tenant: $t, id: $id) { items { id status attempts responseStatus } } }',
          { t: a, id },
        );
        return res.body.data?.webhookDeliveries.items[0]?.status === 'succeeded' ? res.body.data.webhookDeliveries.items : undefined;
      },
      15_000,
      'the delivery',
    );
    expect(deliveries[0]).toMatchObject({ id: ping.body.data.pingWebhook.id, attempts: 1, responseStatus: 204 });
    const again = await gql(
      owner,
      'mutation($t: ID!, $id: ID!, $d: ID!) { redeliverWebhookDelivery(tenant: $t, id: $id, deliveryId: $d) { redeliveryOf status } }',
      {
        t: a,
        id,
        d: ping.body.data.pingWebhook.id,
      },
    );
    expect(again.body.data.redeliverWebhookDelivery).toEqual({ redeliveryOf: ping.body.data.pingWebhook.id, status: 'pending' });

    const foreign = await gql(foreignOwner, 'mutation($t: ID!, $id: ID!) { pingWebhook(tenant: $t, id: $id) { id } }', { t: a, id });
    expect(foreign.body.errors[0].extensions.code).toBe('TENANT_NOT_FOUND');
    const asMember = await gql(member, 'mutation($t: ID!, $id: ID!) { rotateWebhookSecret(tenant: $t, id: $id) { secret } }', { t: a, id });
    expect(asMember.body.errors[0].extensions.code).toBe('FORBIDDEN');
  });
});
