import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { labBody, labClient } from '../labs/support.js';
import { expectProblem, vmBody } from '../vms/support.js';
import { contractDocument } from '../../src/api/openapi-spec.js';

let t: TestApp;
let admin: string;
let rest: ReturnType<typeof labClient>;

beforeAll(async () => {
  t = await startTestApp();
  admin = await t.bearer({ sub: 'admin-conditional', roles: ['platform-admin'] });
  rest = labClient(t);
});
afterAll(async () => {
  await t?.close();
});

/** GET with `If-None-Match`: the current ETag (strong or weak) is 304 with no body; another one is 200. */
async function expectConditionalGet(path: string): Promise<void> {
  const first = await rest.api().get(path).set('authorization', admin);
  expect(first.status, JSON.stringify(first.body)).toBe(200);
  const etag = String(first.headers['etag']);
  expect(etag).toBe(`"${first.body.version}"`);

  for (const header of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
    const again = await rest.api().get(path).set('authorization', admin).set('if-none-match', header);
    expect(again.status, header).toBe(304);
    expect(again.text ?? '').toBe('');
    expect(again.headers['etag']).toBe(etag);
  }
  const changed = await rest.api().get(path).set('authorization', admin).set('if-none-match', '"not-the-version"');
  expect(changed.status).toBe(200);
  expect(changed.body.version).toBe(first.body.version);
}

describe('conditional requests', () => {
  it('a stale If-Match on VM PATCH and DELETE is 412 VERSION_MISMATCH and changes nothing; a current one applies', async () => {
    const tenant = await rest.createTenant(admin);
    await rest.createVm(admin, tenant, vmBody('cond', { running: false }));
    const path = `/v1/tenants/${tenant}/vms/cond`;
    const read = await rest.vm(admin, tenant, 'cond');
    const before = String(read.headers['etag']);
    expect(before).toBe(`"${read.body.version}"`);

    const patched = await rest.api().patch(path).set('authorization', admin).set('if-match', before).send({ instanceType: 'medium' });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.headers['etag']).toBe(`"${patched.body.version}"`);
    expect(patched.headers['etag']).not.toBe(before);

    const stale = await rest.api().patch(path).set('authorization', admin).set('if-match', before).send({ instanceType: 'large' });
    expectProblem(stale, 412, 'VERSION_MISMATCH');
    expectProblem(await rest.api().delete(path).set('authorization', admin).set('if-match', before), 412, 'VERSION_MISMATCH');
    expectProblem(await rest.api().patch(path).set('authorization', admin).set('if-match', 'not-an-etag').send({ cpu: 1 }), 412, 'BAD_IF_MATCH');
    const after = await rest.vm(admin, tenant, 'cond');
    expect(after.body).toMatchObject({ instanceType: 'medium', deleting: false });

    const current = String((await rest.vm(admin, tenant, 'cond')).headers['etag']);
    const deleted = await rest.api().delete(path).set('authorization', admin).set('if-match', current);
    expect(deleted.status, JSON.stringify(deleted.body)).toBe(202);
    expect((await rest.settle(admin, deleted.body.id as string)).status).toBe('succeeded');
    expect((await rest.vm(admin, tenant, 'cond')).status).toBe(404);
  });

  it('If-None-Match naming the current ETag answers 304 with no body on a VM, a tenant and a lab', async () => {
    const tenant = await rest.createTenant(admin);
    await rest.createVm(admin, tenant, vmBody('seen', { running: false }));
    await rest.createLab(admin, tenant, labBody('cs101'));
    await expectConditionalGet(`/v1/tenants/${tenant}`);
    await expectConditionalGet(`/v1/tenants/${tenant}/labs/cs101`);
    await expectConditionalGet(`/v1/tenants/${tenant}/vms/seen`);
  });
});

/** One write on a mutable resource: where its ETag is read, and the conditional write itself. */
interface Row {
  readonly resource: string;
  /** The resource's own GET (its ETag). */
  readonly get: string;
  readonly method: 'patch' | 'put' | 'delete';
  /** Defaults to `get`. */
  readonly url?: string;
  readonly body?: Record<string, unknown>;
  /** What the write answers with the current ETag. */
  readonly ok: number;
}

describe('every mutable resource: ETag on GET, 304 on If-None-Match, 412 on a stale If-Match', () => {
  let tenant: string;
  let doomed: string;
  const T = () => `/v1/tenants/${tenant}`;
  const WEBHOOK = { url: 'https://images.example.com/labplane-hooks', events: ['vm.ready'], description: 'conditional' };
  const LTI = {
    issuer: 'https://canvas.example.edu',
    clientId: '10000000000001',
    deploymentIds: ['1:8865aa05b4b79b64a91a86042e43af5ea8ae79eb'],
    authLoginUrl: 'https://canvas.example.edu/api/lti/authorize_redirect',
    accessTokenUrl: 'https://canvas.example.edu/login/oauth2/token',
    jwksUrl: 'https://canvas.example.edu/api/lti/security/jwks',
  };
  let webhook = '';
  let lti = '';
  const rows: Row[] = [];

  beforeAll(async () => {
    tenant = await rest.createTenant(admin);
    doomed = await rest.createTenant(admin);
    const ok = async (res: Promise<{ status: number; body: any }>, status: number) => {
      const r = await res;
      expect(r.status, JSON.stringify(r.body)).toBe(status);
      return r.body;
    };
    await ok(rest.api().put(`${T()}/members/ann`).set('authorization', admin).send({ role: 'member' }), 201);
    await rest.createVm(admin, tenant, vmBody('cond-vm', { running: false }));
    // An Arc VM given no SSH key: Azure AD sign-in is its way in (the contract requires keys only without Arc).
    await rest.createVm(admin, tenant, vmBody('cond-arc', { arc: true, running: false, sshPublicKeys: undefined }));
    await ok(rest.api().put(`${T()}/vms/cond-arc/access/grantee`).set('authorization', admin).send({ role: 'user', principalType: 'User' }), 200);
    const snap = await ok(rest.api().post(`${T()}/vms/cond-vm/snapshots`).set('authorization', admin).send({ name: 'cond-snap' }), 202);
    expect((await rest.settle(admin, snap.id as string, 30_000))['status']).toBe('succeeded');
    for (const [url, name] of [
      ['/v1/images', `cond-${tenant}`],
      [`${T()}/images`, 'cond-img'],
    ] as const) {
      const op = await ok(
        rest
          .api()
          .post(url)
          .set('authorization', admin)
          .send({ name, source: { type: 'http', url: 'https://images.example.com/cond.qcow2' }, sizeGi: 5 }),
        202,
      );
      expect((await rest.settle(admin, op.id as string, 30_000))['status']).toBe('succeeded');
    }
    for (const lab of ['cond-lab', 'cond-lab-2']) {
      const op = await ok(rest.api().post(`${T()}/labs`).set('authorization', admin).send(labBody(lab)), 202);
      expect((await rest.settle(admin, op.id as string, 30_000))['status']).toBe('succeeded');
    }
    webhook = (await ok(rest.api().post(`${T()}/webhooks`).set('authorization', admin).send(WEBHOOK), 201)).id as string;
    lti = (await ok(rest.api().post(`${T()}/lti/registrations`).set('authorization', admin).send(LTI), 201)).id as string;
    rows.push(
      { resource: 'tenant (PATCH)', get: T(), method: 'patch', body: { displayName: 'Renamed' }, ok: 200 },
      { resource: 'tenant cost controls (PATCH)', get: T(), method: 'patch', body: { costControls: { warningPeriod: 'PT10M' } }, ok: 200 },
      { resource: 'tenant (DELETE)', get: `/v1/tenants/${doomed}`, method: 'delete', ok: 202 },
      { resource: 'member (PUT)', get: `${T()}/members/ann`, method: 'put', body: { role: 'owner' }, ok: 200 },
      { resource: 'member (DELETE)', get: `${T()}/members/ann`, method: 'delete', ok: 204 },
      { resource: 'platform image (DELETE)', get: `/v1/images/cond-${tenant}`, method: 'delete', ok: 204 },
      { resource: 'tenant image (DELETE)', get: `${T()}/images/cond-img`, method: 'delete', ok: 204 },
      { resource: 'VM (PATCH)', get: `${T()}/vms/cond-vm`, method: 'patch', body: { instanceType: 'medium' }, ok: 200 },
      { resource: 'snapshot (DELETE)', get: `${T()}/vms/cond-vm/snapshots/cond-snap`, method: 'delete', ok: 204 },
      { resource: 'VM (DELETE)', get: `${T()}/vms/cond-vm`, method: 'delete', ok: 202 },
      {
        resource: 'VM access (PUT)',
        get: `${T()}/vms/cond-arc/access/grantee`,
        method: 'put',
        body: { role: 'administrator', principalType: 'User' },
        ok: 200,
      },
      { resource: 'VM access (DELETE)', get: `${T()}/vms/cond-arc/access/grantee`, method: 'delete', ok: 204 },
      { resource: 'lab (PATCH)', get: `${T()}/labs/cond-lab`, method: 'patch', body: { displayName: 'Conditional' }, ok: 200 },
      {
        resource: 'lab cost controls (PATCH)',
        get: `${T()}/labs/cond-lab`,
        method: 'patch',
        body: { costControls: { usageQuotaHours: 12 } },
        ok: 200,
      },
      { resource: 'lab (DELETE)', get: `${T()}/labs/cond-lab-2`, method: 'delete', ok: 202 },
      { resource: 'webhook (PATCH)', get: `${T()}/webhooks/${webhook}`, method: 'patch', body: { description: 'Conditional' }, ok: 200 },
      { resource: 'webhook (DELETE)', get: `${T()}/webhooks/${webhook}`, method: 'delete', ok: 204 },
      {
        resource: 'LTI registration (PUT)',
        get: `${T()}/lti/registrations/${lti}`,
        method: 'put',
        body: { ...LTI, clientId: '10000000000002' },
        ok: 200,
      },
      { resource: 'LTI registration (DELETE)', get: `${T()}/lti/registrations/${lti}`, method: 'delete', ok: 204 },
    );
  }, 240_000);

  const write = (row: Row, ifMatch: string) => {
    const api = rest.api();
    const req = api[row.method](row.url ?? row.get)
      .set('authorization', admin)
      .set('if-match', ifMatch);
    return row.body === undefined ? req : req.send(row.body);
  };

  // The rows run in order: each reads its resource afresh, so the ones before it may have changed it.
  it.each(Array.from({ length: 19 }, (_, i) => i))('row %i', async (i) => {
    const row = rows[i];
    if (row === undefined) throw new Error(`row ${i} is missing`);
    const read = await rest.api().get(row.get).set('authorization', admin);
    expect(read.status, `${row.resource}: ${JSON.stringify(read.body)}`).toBe(200);
    const etag = String(read.headers['etag']);
    expect(etag, row.resource).toMatch(/^"[^"]+"$/);

    const unchanged = await rest.api().get(row.get).set('authorization', admin).set('if-none-match', etag);
    expect(unchanged.status, row.resource).toBe(304);

    for (const stale of ['"never-current"', `W/${etag}`]) {
      const refused = await write(row, stale);
      expect(refused.status, `${row.resource} with If-Match ${stale}: ${JSON.stringify(refused.body)}`).toBe(412);
      expect(refused.body).toMatchObject({ status: 412, code: 'VERSION_MISMATCH' });
    }
    const after = await rest.api().get(row.get).set('authorization', admin);
    expect(after.headers['etag'], `${row.resource}: a refused write changes nothing`).toBe(etag);

    const done = await write(row, etag);
    expect(done.status, `${row.resource}: ${JSON.stringify(done.body)}`).toBe(row.ok);
    if (row.method !== 'delete') {
      expect(done.headers['etag'], `${row.resource}: the write answers the new ETag`).not.toBe(etag);
      // What was current before the write is stale now.
      const again = await write(row, etag);
      expect(again.status, `${row.resource}: the ETag read before the write is stale after it`).toBe(412);
    }
  });

  it('the table covers every PUT, PATCH and DELETE of the contract on a resource (or says why not)', () => {
    const covered = new Set(rows.map((r) => r.resource.replace(/ \(.*$/, '')));
    expect(covered.size).toBeGreaterThanOrEqual(11);
    const paths = contractDocument().paths;
    const writes = Object.entries(paths).flatMap(([path, item]) =>
      (['put', 'patch', 'delete'] as const).filter((m) => item[m] !== undefined).map((m) => `${m.toUpperCase()} ${path}`),
    );
    const conditional = (path: string, method: string) =>
      ((paths[path]?.[method] as { parameters?: Array<{ $ref?: string }> }).parameters ?? []).some(
        (p) => p.$ref === '#/components/parameters/IfMatch',
      );
    // A roster PUT replaces the students through a sync (an operation, not a stored representation one reads back).
    const exempt = new Set(['PUT /v1/tenants/{tenant}/labs/{lab}/roster']);
    const without = writes.filter((w) => !exempt.has(w) && !conditional(w.split(' ')[1] ?? '', (w.split(' ')[0] ?? '').toLowerCase()));
    expect(without).toEqual([]);
  });
});
