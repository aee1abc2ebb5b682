import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { arcMachineName, arcResourceId, ROLE_DEFINITION_GUIDS } from '../../src/domain/identity/index.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { restClient, vmBody } from '../vms/support.js';

/** Access grants on VMs (role assignments on their Arc machines) over REST and GraphQL, on the embedded default. */
let t: TestApp;
let rest: ReturnType<typeof restClient>;
let admin: string;
let owner: string;
let member: string;
let otherMember: string;
let stranger: string;
let tenant: string;
const PRINCIPAL = '0b7e3c1e-5d2a-4f0e-9a51-2f6c1c0e7a11';
const GROUP = '7d0c2d7a-7a0f-4f55-8a5b-3f2d9a4e6b22';

beforeAll(async () => {
  t = await startTestApp({ RATE_LIMIT_PER_MINUTE: '1000000' });
  rest = restClient(t);
  admin = await t.bearer({ sub: 'ada', roles: ['platform-admin'] });
  tenant = await rest.createTenant(admin);
  const other = await rest.createTenant(admin, { owners: [{ principalId: 'oscar' }] });
  for (const m of ['mia', 'max']) {
    expect((await rest.api().put(`/v1/tenants/${tenant}/members/${m}`).set('authorization', admin).send({ role: 'member' })).status).toBe(201);
  }
  owner = await t.bearer({ sub: 'olga' });
  member = await t.bearer({ sub: 'mia' });
  otherMember = await t.bearer({ sub: 'max' });
  stranger = await t.bearer({ sub: 'oscar' });
  expect(other).not.toBe(tenant);
  await rest.createVm(owner, tenant, vmBody('arc-vm', { owner: 'mia', arc: true, running: false }));
  await rest.createVm(owner, tenant, vmBody('plain-vm', { owner: 'mia', running: false }));
});
afterAll(async () => {
  await t?.close();
});

const accessUrl = (vm: string, principal?: string) => `/v1/tenants/${tenant}/vms/${vm}/access${principal === undefined ? '' : `/${principal}`}`;

describe('VM access over REST', () => {
  it('an owner grants administrator and user, idempotently, on the Arc machine of the VM', async () => {
    const g1 = await rest
      .api()
      .put(accessUrl('arc-vm', PRINCIPAL))
      .set('authorization', owner)
      .send({ role: 'administrator', principalType: 'User' });
    expect(g1.status, JSON.stringify(g1.body)).toBe(200);
    expect(g1.body).toEqual({ principalId: PRINCIPAL, role: 'administrator', principalType: 'User' });
    const again = await rest
      .api()
      .put(accessUrl('arc-vm', PRINCIPAL))
      .set('authorization', owner)
      .send({ role: 'administrator', principalType: 'User' });
    expect(again.status).toBe(200);
    const g2 = await rest.api().put(accessUrl('arc-vm', GROUP)).set('authorization', owner).send({ role: 'user', principalType: 'Group' });
    expect(g2.status).toBe(200);

    const { subscriptionId, resourceGroup } = t.deps.identity.settings;
    const assignments = await t.deps.identity.access.list(arcResourceId(subscriptionId, resourceGroup, arcMachineName(tenant, 'arc-vm')));
    expect(assignments.map((a) => [a.principalId, a.roleDefinitionId.split('/').at(-1)]).sort()).toEqual(
      [
        [PRINCIPAL, ROLE_DEFINITION_GUIDS.administrator],
        [GROUP, ROLE_DEFINITION_GUIDS.user],
      ].sort(),
    );

    const list = await rest.api().get(accessUrl('arc-vm')).set('authorization', owner);
    expect(list.status).toBe(200);
    expect(list.body.items).toEqual(
      expect.arrayContaining([
        { principalId: PRINCIPAL, role: 'administrator', principalType: 'User' },
        { principalId: GROUP, role: 'user', principalType: 'Group' },
      ]),
    );
  });

  it('the member owning the VM reads its access but grants and revokes nothing (403)', async () => {
    const list = await rest.api().get(accessUrl('arc-vm')).set('authorization', member);
    expect(list.status).toBe(200);
    expect(list.body.items.length).toBeGreaterThanOrEqual(2);
    const grant = await rest.api().put(accessUrl('arc-vm', 'someone')).set('authorization', member).send({ role: 'user', principalType: 'User' });
    expect(grant.status).toBe(403);
    const revoke = await rest.api().delete(accessUrl('arc-vm', PRINCIPAL)).set('authorization', member);
    expect(revoke.status).toBe(403);
  });

  it("another member of the tenant gets 404 on reads (403 on writes, whatever the VM), another tenant's owner 404", async () => {
    expect((await rest.api().get(accessUrl('arc-vm')).set('authorization', otherMember)).status).toBe(404);
    // Members may grant on no VM at all: refused before any lookup, so the answer tells nothing about the VM.
    expect(
      (await rest.api().put(accessUrl('arc-vm', 'x')).set('authorization', otherMember).send({ role: 'user', principalType: 'User' })).status,
    ).toBe(403);
    expect(
      (await rest.api().put(accessUrl('no-such-vm', 'x')).set('authorization', otherMember).send({ role: 'user', principalType: 'User' })).status,
    ).toBe(403);
    expect((await rest.api().get(accessUrl('arc-vm')).set('authorization', stranger)).status).toBe(404);
    expect(
      (await rest.api().put(accessUrl('arc-vm', 'x')).set('authorization', stranger).send({ role: 'administrator', principalType: 'User' })).status,
    ).toBe(404);
    expect((await rest.api().delete(accessUrl('arc-vm', PRINCIPAL)).set('authorization', stranger)).status).toBe(404);
    expect((await rest.api().get(accessUrl('missing-vm')).set('authorization', owner)).status).toBe(404);
  });

  it('a VM without Arc is 409 ARC_NOT_ENABLED', async () => {
    const list = await rest.api().get(accessUrl('plain-vm')).set('authorization', owner);
    expect(list.status).toBe(409);
    expect(list.body.code).toBe('ARC_NOT_ENABLED');
    const grant = await rest.api().put(accessUrl('plain-vm', PRINCIPAL)).set('authorization', owner).send({ role: 'user', principalType: 'User' });
    expect(grant.status).toBe(409);
    expect(grant.body.code).toBe('ARC_NOT_ENABLED');
  });

  it('rejects malformed bodies (unknown role, principal type, extra fields)', async () => {
    for (const body of [
      { role: 'owner', principalType: 'User' },
      { role: 'user', principalType: 'ServicePrincipal' },
      { role: 'user', principalType: 'User', extra: 1 },
      { role: 'user' },
    ]) {
      expect((await rest.api().put(accessUrl('arc-vm', PRINCIPAL)).set('authorization', owner).send(body)).status).toBe(400);
    }
  });

  it('revoking removes every access role of the principal and is idempotent', async () => {
    await rest.api().put(accessUrl('arc-vm', PRINCIPAL)).set('authorization', owner).send({ role: 'user', principalType: 'User' });
    const r1 = await rest.api().delete(accessUrl('arc-vm', PRINCIPAL)).set('authorization', owner);
    expect(r1.status).toBe(204);
    const r2 = await rest.api().delete(accessUrl('arc-vm', PRINCIPAL)).set('authorization', owner);
    expect(r2.status).toBe(204);
    const list = await rest.api().get(accessUrl('arc-vm')).set('authorization', owner);
    expect(list.body.items.map((i: any) => i.principalId)).not.toContain(PRINCIPAL);
  });
});

describe('VM access over GraphQL', () => {
  const gql = (auth: string, query: string, variables: Record<string, unknown> = {}) =>
    rest.api().post('/graphql').set('authorization', auth).send({ query, variables });
  const GRANT =
    'mutation($t: ID!, $n: ID!, $p: ID!) { grantVmAccess(tenant: $t, name: $n, principalId: $p, role: administrator, principalType: User) { principalId role principalType } }';

  it('grants, lists and revokes like REST', async () => {
    const g = await gql(owner, GRANT, { t: tenant, n: 'arc-vm', p: 'gql-principal' });
    expect(g.body.errors).toBeUndefined();
    expect(g.body.data.grantVmAccess).toEqual({ principalId: 'gql-principal', role: 'administrator', principalType: 'User' });
    const l = await gql(member, 'query($t: ID!, $n: ID!) { vmAccess(tenant: $t, name: $n) { principalId role } }', { t: tenant, n: 'arc-vm' });
    expect(l.body.data.vmAccess).toContainEqual({ principalId: 'gql-principal', role: 'administrator' });
    const r = await gql(owner, 'mutation($t: ID!, $n: ID!) { revokeVmAccess(tenant: $t, name: $n, principalId: "gql-principal") }', {
      t: tenant,
      n: 'arc-vm',
    });
    expect(r.body.data.revokeVmAccess).toBe(true);
  });

  it('members are FORBIDDEN to grant, strangers NOT_FOUND, a VM without Arc ARC_NOT_ENABLED', async () => {
    const m = await gql(member, GRANT, { t: tenant, n: 'arc-vm', p: 'x' });
    expect(m.body.errors[0].extensions.code).toBe('FORBIDDEN');
    const s = await gql(stranger, GRANT, { t: tenant, n: 'arc-vm', p: 'x' });
    expect(s.body.errors[0].extensions.code).toMatch(/NOT_FOUND$/);
    const p = await gql(owner, GRANT, { t: tenant, n: 'plain-vm', p: 'x' });
    expect(p.body.errors[0].extensions.code).toBe('ARC_NOT_ENABLED');
  });
});
