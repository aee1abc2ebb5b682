import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webhookSecretName } from '../../src/adapters/kubernetes/webhook-objects.js';
import { MAX_WEBHOOKS_PER_TENANT } from '../../src/domain/webhooks/webhook.js';
import { startTestApp, uniqueTenantId, type TestApp } from '../support/test-app.js';
import { emulatorOf, expectProblem } from '../vms/support.js';

let t: TestApp;
let admin: string;
let owner: string;
let member: string;
let lms: string;
let foreignOwner: string;
let a: string;
let b: string;
const api = () => request(t.app.server);
const hooks = (tenant: string) => `/v1/tenants/${tenant}/webhooks`;
const body = (extra: Record<string, unknown> = {}) => ({
  url: 'https://images.example.com/hooks/labplane',
  events: ['vm.ready', 'operation.succeeded'],
  ...extra,
});
const control = () => t.deps.config.controlNamespace;
// Writes of webhook Secrets (created, changed or deleted), seen by the cluster's store. Counting every
// POST to the control namespace's Secrets also counted the LTI key Secret, which the app's start-up
// writes in the background: under load it landed during a refusal test (seen once in CI).
const webhookSecretEvents: string[] = [];
const secretWrites = () => webhookSecretEvents.length;

let unsubscribe: (() => void) | undefined;
beforeAll(async () => {
  t = await startTestApp({ RATE_LIMIT_PER_MINUTE: '1000000', WEBHOOK_HTTP_ALLOWED_HOSTS: 'mirror.example.edu,metadata-alias.example.com' });
  unsubscribe = emulatorOf(t).store.subscribe('secrets', (ev) => {
    const { namespace, name } = ev.object.metadata;
    if (namespace === control() && name?.startsWith(webhookSecretName(''))) webhookSecretEvents.push(`${ev.type} ${name}`);
  });
  admin = await t.bearer({ sub: 'wh-admin', roles: ['platform-admin'] });
  a = uniqueTenantId('wh-a');
  b = uniqueTenantId('wh-b');
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
  lms = await t.bearer({ sub: 'canvas-app', roles: ['labs.manage'], tenants: { [a]: 'owner' } });
});
afterAll(async () => {
  unsubscribe?.();
  await t?.close();
});

describe('registering webhooks', () => {
  it('a replay of the create (same Idempotency-Key) answers the same webhook without its secret: the stored answer never holds it', async () => {
    const first = await api()
      .post(hooks(a))
      .set('authorization', owner)
      .set('idempotency-key', 'wh-replay-1')
      .send(body({ description: 'replayed' }));
    expect(first.status, first.text).toBe(201);
    expect(first.body.secret).toMatch(/^whsec_/);
    const replay = await api()
      .post(hooks(a))
      .set('authorization', owner)
      .set('idempotency-key', 'wh-replay-1')
      .send(body({ description: 'replayed' }));
    expect(replay.status).toBe(201);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body.id).toBe(first.body.id);
    expect(replay.body).not.toHaveProperty('secret');
    expect(replay.text).not.toContain(String(first.body.secret).slice(6));
    expect(
      (
        await api()
          .delete(`${hooks(a)}/${first.body.id}`)
          .set('authorization', owner)
      ).status,
    ).toBe(204);
  });

  it('an owner registers one: 201 with Location and the secret (whsec_, 32 bytes) this once; GET, list and GraphQL never show it', async () => {
    const res = await api()
      .post(hooks(a))
      .set('authorization', owner)
      .send(body({ description: 'Canvas course sync' }));
    expect(res.status, res.text).toBe(201);
    expect(res.headers['location']).toBe(`${hooks(a)}/${res.body.id}`);
    expect(res.body).toMatchObject({
      tenant: a,
      url: 'https://images.example.com/hooks/labplane',
      events: ['operation.succeeded', 'vm.ready'],
      description: 'Canvas course sync',
      createdBy: 'olga',
    });
    expect(res.body.id).toMatch(/^[0-9a-f-]{36}$/);
    const secret: string = res.body.secret;
    expect(secret).toMatch(/^whsec_/);
    expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(32);

    const one = await api().get(res.headers['location']!).set('authorization', owner);
    expect(one.status).toBe(200);
    expect(one.body).toEqual({ ...res.body, secret: undefined });
    const list = await api().get(hooks(a)).set('authorization', owner);
    expect(list.status).toBe(200);
    expect(list.body.items.map((w: { id: string }) => w.id)).toContain(res.body.id);
    const gql = await api()
      .post('/graphql')
      .set('authorization', owner)
      .send({ query: 'query($t: ID!) { webhooks(tenant: $t) { items { id url events description createdBy } } }', variables: { t: a } });
    expect(gql.body.data.webhooks.items).toContainEqual({
      id: res.body.id,
      url: res.body.url,
      events: ['operation_succeeded', 'vm_ready'],
      description: 'Canvas course sync',
      createdBy: 'olga',
    });
    for (const text of [one.text, list.text, JSON.stringify(gql.body)]) expect(text).not.toContain(secret.slice(6));
    const noField = await api()
      .post('/graphql')
      .set('authorization', owner)
      .send({ query: 'query($t: ID!) { webhooks(tenant: $t) { items { secret } } }', variables: { t: a } });
    expect(noField.body.errors?.[0]?.message).toMatch(/Cannot query field "secret"/);
  });

  it("stores the webhook as a Secret of ours in the control plane's namespace, labelled with its tenant: signing secret in data, the rest in annotations", async () => {
    const res = await api().post(hooks(a)).set('authorization', owner).send(body());
    expect(emulatorOf(t).store.get('secrets', a, webhookSecretName(res.body.id))).toBeUndefined();
    const stored = emulatorOf(t).store.get('secrets', control(), webhookSecretName(res.body.id));
    expect(stored?.metadata.labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'labplane',
      'labplane.io/webhook': 'true',
      'labplane.io/tenant': a,
    });
    const data = (stored as { data?: Record<string, string> }).data ?? {};
    expect(Buffer.from(data['signing-secret'] ?? '', 'base64').toString()).toBe(res.body.secret);
    expect(JSON.stringify(stored?.metadata.annotations)).not.toContain(res.body.secret);
    expect(stored?.metadata.annotations).toMatchObject({ 'labplane.io/webhook-url': res.body.url, 'labplane.io/created-by': 'olga' });
  });

  it('reads are served from the watch cache: listing costs the API server nothing', async () => {
    await api().get(hooks(a)).set('authorization', owner);
    const reads = () => emulatorOf(t).requestCount({ method: 'GET', pathPrefix: `/api/v1/namespaces/${a}/secrets` });
    const before = reads();
    for (let i = 0; i < 5; i++) expect((await api().get(hooks(a)).set('authorization', owner)).status).toBe(200);
    expect(reads()).toBe(before);
  });

  it('a labs.manage integration bound to the tenant may register and list', async () => {
    const res = await api()
      .post(hooks(a))
      .set('authorization', lms)
      .send(body({ events: ['lab.ready', 'lab.roster-synced'] }));
    expect(res.status, res.text).toBe(201);
    expect(res.body.createdBy).toBe('canvas-app');
    expect((await api().get(hooks(a)).set('authorization', lms)).status).toBe(200);
  });

  it.each([
    ['loopback', 'https://127.0.0.1/hook'],
    ['a private address', 'https://10.0.0.8/hook'],
    ['the metadata address', 'https://169.254.169.254/latest/meta-data'],
    ['a name resolving inside', 'https://intranet-mirror.example.com/hook'],
    ['http to a host that is not allow-listed', 'http://images.example.com/hook'],
    ['http to an allow-listed host that resolves to the metadata address', 'http://metadata-alias.example.com/hook'],
    ['credentials in the URL', 'https://user:pw@images.example.com/hook'],
    ['another scheme', 'ftp://images.example.com/hook'],
  ])('refuses %s with 422 URL_NOT_ALLOWED and writes nothing', async (_what, url) => {
    const before = secretWrites();
    const res = await api().post(hooks(a)).set('authorization', owner).send(body({ url }));
    expectProblem(res, 422, 'URL_NOT_ALLOWED');
    expect(res.body.details.reason).toEqual(expect.any(String));
    expect(secretWrites()).toBe(before);
  });

  it('accepts plain http for an allow-listed host with a public address', async () => {
    const before = secretWrites();
    const res = await api()
      .post(hooks(a))
      .set('authorization', owner)
      .send(body({ url: 'http://mirror.example.edu/hooks' }));
    expect(res.status, res.text).toBe(201);
    // The count the refusals compare sees a registration's one Secret.
    expect(secretWrites()).toBe(before + 1);
  });

  it.each([
    ['no events', { events: [] }],
    ['an unknown event', { events: ['vm.deleted'] }],
    ['duplicate events', { events: ['vm.ready', 'vm.ready'] }],
    ['an extra field', { secret: 'whsec_mine' }],
  ])('refuses %s with 400', async (_what, extra) => {
    expectProblem(await api().post(hooks(a)).set('authorization', owner).send(body(extra)), 400, 'VALIDATION_FAILED');
  });

  it('a member of the tenant may neither register nor read webhooks (403)', async () => {
    expectProblem(await api().post(hooks(a)).set('authorization', member).send(body()), 403, 'FORBIDDEN');
    expectProblem(await api().get(hooks(a)).set('authorization', member), 403, 'FORBIDDEN');
  });

  it("another tenant's owner gets 404 on every webhook route, and learns nothing", async () => {
    const mine = await api().post(hooks(a)).set('authorization', owner).send(body());
    const id = mine.body.id as string;
    for (const res of [
      await api().get(hooks(a)).set('authorization', foreignOwner),
      await api().post(hooks(a)).set('authorization', foreignOwner).send(body()),
      await api()
        .get(`${hooks(a)}/${id}`)
        .set('authorization', foreignOwner),
      await api()
        .delete(`${hooks(a)}/${id}`)
        .set('authorization', foreignOwner),
      await api()
        .get(`${hooks(a)}/${id}/deliveries`)
        .set('authorization', foreignOwner),
      // The webhook of A addressed through B's own tenant is not found either.
      await api()
        .get(`${hooks(b)}/${id}`)
        .set('authorization', foreignOwner),
    ]) {
      expect(res.status).toBe(404);
      expect(res.text).not.toContain(mine.body.secret);
    }
    expect(
      (
        await api()
          .get(`${hooks(a)}/${id}`)
          .set('authorization', owner)
      ).status,
    ).toBe(200);
  });

  it('an unknown id is 404 WEBHOOK_NOT_FOUND; a malformed one is 400', async () => {
    expectProblem(
      await api()
        .get(`${hooks(a)}/${crypto.randomUUID()}`)
        .set('authorization', owner),
      404,
      'WEBHOOK_NOT_FOUND',
    );
    expectProblem(
      await api()
        .delete(`${hooks(a)}/not-a-uuid`)
        .set('authorization', owner),
      400,
      'VALIDATION_FAILED',
    );
  });

  it('deleting answers 204, removes the Secret, and the webhook is gone', async () => {
    const res = await api().post(hooks(a)).set('authorization', owner).send(body());
    const del = await api()
      .delete(`${hooks(a)}/${res.body.id}`)
      .set('authorization', owner);
    expect(del.status).toBe(204);
    expect(emulatorOf(t).store.get('secrets', control(), webhookSecretName(res.body.id))).toBeUndefined();
    expectProblem(
      await api()
        .get(`${hooks(a)}/${res.body.id}`)
        .set('authorization', owner),
      404,
      'WEBHOOK_NOT_FOUND',
    );
    expectProblem(
      await api()
        .delete(`${hooks(a)}/${res.body.id}`)
        .set('authorization', owner),
      404,
      'WEBHOOK_NOT_FOUND',
    );
  });

  it('lists deliveries of a webhook (none yet): 200 with an empty page', async () => {
    const res = await api().post(hooks(a)).set('authorization', owner).send(body());
    const d = await api()
      .get(`${hooks(a)}/${res.body.id}/deliveries?limit=10`)
      .set('authorization', owner);
    expect(d.status).toBe(200);
    expect(d.body).toEqual({ items: [] });
  });

  it(`a tenant holds at most ${MAX_WEBHOOKS_PER_TENANT} webhooks: one more is 409 WEBHOOK_LIMIT_REACHED until one is deleted`, async () => {
    const c = uniqueTenantId('wh-cap');
    await api()
      .post('/v1/tenants')
      .set('authorization', admin)
      .send({ id: c, displayName: c, profile: 'student', owners: [{ principalId: 'olga' }] });
    const ids: string[] = [];
    for (let i = 0; i < MAX_WEBHOOKS_PER_TENANT; i++) {
      const res = await api().post(hooks(c)).set('authorization', owner).send(body());
      expect(res.status, res.text).toBe(201);
      ids.push(res.body.id);
    }
    const over = await api().post(hooks(c)).set('authorization', owner).send(body());
    expectProblem(over, 409, 'WEBHOOK_LIMIT_REACHED');
    expect(over.body.details).toMatchObject({ limit: MAX_WEBHOOKS_PER_TENANT });
    const page1 = await api()
      .get(`${hooks(c)}?limit=15`)
      .set('authorization', owner);
    const page2 = await api()
      .get(`${hooks(c)}?limit=15&cursor=${page1.body.nextCursor}`)
      .set('authorization', owner);
    expect([...page1.body.items, ...page2.body.items].map((w: { id: string }) => w.id).sort()).toEqual([...ids].sort());
    expect(page2.body.nextCursor).toBeUndefined();
    expect(
      (
        await api()
          .delete(`${hooks(c)}/${ids[0]}`)
          .set('authorization', owner)
      ).status,
    ).toBe(204);
    expect((await api().post(hooks(c)).set('authorization', owner).send(body())).status).toBe(201);
  });

  it("deleting the tenant deletes its webhooks' Secrets in the control namespace (nothing cascades there), and no other tenant's", async () => {
    const d = uniqueTenantId('wh-del');
    await api()
      .post('/v1/tenants')
      .set('authorization', admin)
      .send({ id: d, displayName: d, profile: 'student', owners: [{ principalId: 'olga' }] });
    const res = await api().post(hooks(d)).set('authorization', owner).send(body());
    expect(res.status).toBe(201);
    const kept = await api().post(hooks(a)).set('authorization', owner).send(body());
    expect(kept.status).toBe(201);
    const op = await api().delete(`/v1/tenants/${d}`).set('authorization', admin);
    expect(op.status).toBe(202);
    await expect
      .poll(async () => (await api().get(`/v1/operations/${op.body.id}`).set('authorization', admin)).body.status, { timeout: 15_000, interval: 50 })
      .toBe('succeeded');
    expect((await api().get(`/v1/operations/${op.body.id}`).set('authorization', admin)).body.result).toEqual({
      tenant: d,
      deleted: true,
      webhooksDeleted: 1,
      ltiRegistrationsDeleted: 0,
    });
    expect(emulatorOf(t).store.get('secrets', control(), webhookSecretName(res.body.id))).toBeUndefined();
    expect(emulatorOf(t).store.get('secrets', control(), webhookSecretName(kept.body.id))).toBeDefined();
    expectProblem(await api().get(hooks(d)).set('authorization', admin), 404, 'TENANT_NOT_FOUND');
  });
});

describe('webhooks over GraphQL', () => {
  it('createWebhook answers the secret once; deleteWebhook removes it; a foreign caller gets NOT_FOUND', async () => {
    const created = await api()
      .post('/graphql')
      .set('authorization', owner)
      .send({
        query:
          'mutation($t: ID!) { createWebhook(tenant: $t, input: {url: "https://images.example.com/gql", events: [vm_auto_shutdown, lab_roster_synced, vm_idle_warning, operation_failed, vm_quota_warning]}) { secret webhook { id tenant events } } }',
        variables: { t: a },
      });
    const payload = created.body.data?.createWebhook;
    expect(payload?.secret, JSON.stringify(created.body)).toMatch(/^whsec_/);
    expect(payload.webhook).toMatchObject({
      tenant: a,
      events: ['operation_failed', 'lab_roster_synced', 'vm_idle_warning', 'vm_quota_warning', 'vm_auto_shutdown'],
    });
    const rest = await api()
      .get(`${hooks(a)}/${payload.webhook.id}`)
      .set('authorization', owner);
    expect(rest.body.events).toEqual(['operation.failed', 'lab.roster-synced', 'vm.idle-warning', 'vm.quota-warning', 'vm.auto-shutdown']);

    const refused = await api()
      .post('/graphql')
      .set('authorization', owner)
      .send({
        query: 'mutation($t: ID!) { createWebhook(tenant: $t, input: {url: "https://169.254.169.254/", events: [vm_ready]}) { secret } }',
        variables: { t: a },
      });
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('URL_NOT_ALLOWED');

    const foreign = await api()
      .post('/graphql')
      .set('authorization', foreignOwner)
      .send({ query: 'mutation($t: ID!, $id: ID!) { deleteWebhook(tenant: $t, id: $id) }', variables: { t: a, id: payload.webhook.id } });
    expect(foreign.body.errors?.[0]?.extensions?.code).toBe('TENANT_NOT_FOUND');
    const deleted = await api()
      .post('/graphql')
      .set('authorization', owner)
      .send({ query: 'mutation($t: ID!, $id: ID!) { deleteWebhook(tenant: $t, id: $id) }', variables: { t: a, id: payload.webhook.id } });
    expect(deleted.body.data?.deleteWebhook).toBe(true);
    expect(
      (
        await api()
          .get(`${hooks(a)}/${payload.webhook.id}`)
          .set('authorization', owner)
      ).status,
    ).toBe(404);
  });
});
