import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { expectProblem, restClient, vmBody } from '../vms/support.js';

let t: TestApp;
let admin: string;
let rest: ReturnType<typeof restClient>;
let tenant: string;

const LTI = (clientId: string) => ({
  issuer: 'https://moodle.example.edu',
  clientId,
  deploymentIds: ['1'],
  authLoginUrl: 'https://moodle.example.edu/mod/lti/auth.php',
  accessTokenUrl: 'https://moodle.example.edu/mod/lti/token.php',
  jwksUrl: 'https://moodle.example.edu/mod/lti/certs.php',
});

beforeAll(async () => {
  t = await startTestApp();
  admin = await t.bearer({ sub: 'admin-pages', roles: ['platform-admin'] });
  rest = restClient(t);
  tenant = await rest.createTenant(admin);
  const ok = async (res: Promise<{ status: number; body: any }>, status: number) => {
    const r = await res;
    expect(r.status, JSON.stringify(r.body)).toBe(status);
    return r.body;
  };
  for (const who of ['ann', 'bob', 'cyd']) {
    await ok(rest.api().put(`/v1/tenants/${tenant}/members/${who}`).set('authorization', admin).send({ role: 'member' }), 201);
  }
  await rest.createVm(admin, tenant, vmBody('paged', { arc: true, running: false }));
  for (const who of ['ann', 'bob']) {
    await ok(
      rest.api().put(`/v1/tenants/${tenant}/vms/paged/access/${who}`).set('authorization', admin).send({ role: 'user', principalType: 'User' }),
      200,
    );
  }
  for (const name of ['snap-1', 'snap-2', 'snap-3']) {
    const op = await ok(rest.api().post(`/v1/tenants/${tenant}/vms/paged/snapshots`).set('authorization', admin).send({ name }), 202);
    expect((await rest.settle(admin, op.id as string, 30_000))['status']).toBe('succeeded');
  }
  for (const id of ['client-1', 'client-2', 'client-3']) {
    await ok(rest.api().post(`/v1/tenants/${tenant}/lti/registrations`).set('authorization', admin).send(LTI(id)), 201);
  }
}, 180_000);
afterAll(async () => {
  await t?.close();
});

/** Every item of a list, page by page (`limit` per page, following `nextCursor`). */
async function pages(path: string, limit: number): Promise<{ items: unknown[]; count: number }> {
  const items: unknown[] = [];
  let cursor: string | undefined;
  let count = 0;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const res = await rest
      .api()
      .get(`${path}${sep}limit=${limit}${cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`}`)
      .set('authorization', admin);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.items.length).toBeLessThanOrEqual(limit);
    items.push(...(res.body.items as unknown[]));
    cursor = res.body.nextCursor as string | undefined;
    count += 1;
    expect(count).toBeLessThan(100);
  } while (cursor !== undefined);
  return { items, count };
}

describe('lists that grow are paged like the others (limit, cursor, nextCursor)', () => {
  const lists = (): Array<[string, string]> => [
    ['members', `/v1/tenants/${tenant}/members`],
    ['instance types', `/v1/instance-types?tenant=${tenant}`],
    ['nodes', '/v1/nodes'],
    ['VM access', `/v1/tenants/${tenant}/vms/paged/access`],
    ['snapshots', `/v1/tenants/${tenant}/vms/paged/snapshots`],
    ['LTI registrations', `/v1/tenants/${tenant}/lti/registrations`],
  ];

  it.each([0, 1, 2, 3, 4, 5])('list %i: pages of one hold every item once, in the order of one page', async (i) => {
    const [what, path] = lists()[i] ?? ['', ''];
    const whole = await rest.api().get(path).set('authorization', admin);
    expect(whole.status, JSON.stringify(whole.body)).toBe(200);
    expect(whole.body.nextCursor, what).toBeUndefined();
    const all = whole.body.items as unknown[];
    expect(all.length, `${what} needs at least 2 items to page`).toBeGreaterThanOrEqual(2);
    const paged = await pages(path, 1);
    expect(paged.items, what).toEqual(all);
    expect(paged.count, what).toBe(all.length);
  });

  it('a bad limit or cursor is a 400 problem naming the query parameter', async () => {
    const bad = await rest.api().get(`/v1/tenants/${tenant}/members?limit=0`).set('authorization', admin);
    expectProblem(bad, 400, 'VALIDATION_FAILED');
    expect(bad.body.errors).toEqual([expect.objectContaining({ field: '/limit', in: 'query' })]);
    expectProblem(await rest.api().get(`/v1/nodes?cursor=not-a-cursor`).set('authorization', admin), 400, 'VALIDATION_FAILED');
  });
});
