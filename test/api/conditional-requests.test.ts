import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { labBody, labClient } from '../labs/support.js';
import { expectProblem, vmBody } from '../vms/support.js';

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
