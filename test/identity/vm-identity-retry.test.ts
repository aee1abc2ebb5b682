import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { arcMachineName } from '../../src/domain/identity/arc-machine.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { restClient, vmBody } from '../vms/support.js';

describe('retrying the Azure identity of a VM', { timeout: 60_000 }, () => {
  let t: TestApp;
  let admin: string;
  let rest: ReturnType<typeof restClient>;

  beforeAll(async () => {
    t = await startTestApp({ RATE_LIMIT_PER_MINUTE: '1000000' });
    admin = await t.bearer({ sub: 'root', roles: ['platform-admin'] });
    rest = restClient(t);
  });
  afterAll(async () => t.close());

  const identityOp = async (tenant: string, vm: string) => {
    const ops = (await rest.api().get(`/v1/operations?tenant=${tenant}&kind=vm.identity&limit=50`).set('authorization', admin)).body.items as {
      id: string;
      target: { name: string };
    }[];
    return ops.find((o) => o.target.name === vm);
  };

  it('after a failed extension install, a retry installs it, grants the owner and makes the identity ready', async () => {
    const tenant = await rest.createTenant(admin);
    const owner = await t.bearer({ sub: 'olga' });
    t.deps.identity.sim?.failNextExtension(arcMachineName(tenant, 'arc-1'), 'ExtensionOperationFailed: out of disk (simulated)');
    const created = await rest
      .api()
      .post(`/v1/tenants/${tenant}/vms`)
      .set('authorization', owner)
      .send(vmBody('arc-1', { arc: true }));
    expect(created.status).toBe(202);
    expect((await rest.settle(owner, created.body.id as string, 20_000))['status']).toBe('succeeded');
    await expect.poll(() => identityOp(tenant, 'arc-1'), { timeout: 10_000 }).toBeDefined();
    const first = await identityOp(tenant, 'arc-1');
    const failed = await rest.settle(admin, first?.id ?? '', 30_000);
    expect(failed['status']).toBe('failed');
    expect(failed['error']['code']).toBe('ARC_EXTENSION_FAILED');
    expect((await rest.vm(owner, tenant, 'arc-1')).body.identity.ready).toBe(false);

    const retry = await rest.api().post(`/v1/tenants/${tenant}/vms/arc-1/identity/retry`).set('authorization', owner).send();
    expect(retry.status, JSON.stringify(retry.body)).toBe(202);
    expect(retry.body.kind).toBe('vm.identity');
    expect((await rest.settle(owner, retry.body.id as string, 30_000))['status']).toBe('succeeded');
    expect((await rest.vm(owner, tenant, 'arc-1')).body.identity.ready).toBe(true);
    const again = await rest.api().post(`/v1/tenants/${tenant}/vms/arc-1/identity/retry`).set('authorization', owner).send();
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('IDENTITY_READY');
  });

  it('is refused for a VM without Arc, and members may not ask it', async () => {
    const tenant = await rest.createTenant(admin);
    const owner = await t.bearer({ sub: 'olga' });
    const created = await rest
      .api()
      .post(`/v1/tenants/${tenant}/vms`)
      .set('authorization', owner)
      .send(vmBody('plain-1', { owner: 'mia' }));
    expect((await rest.settle(owner, created.body.id as string, 20_000))['status']).toBe('succeeded');
    const res = await rest.api().post(`/v1/tenants/${tenant}/vms/plain-1/identity/retry`).set('authorization', owner).send();
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('ARC_NOT_ENABLED');
    await rest.api().put(`/v1/tenants/${tenant}/members/mia`).set('authorization', admin).send({ role: 'member' });
    const mia = await t.bearer({ sub: 'mia' });
    expect((await rest.api().post(`/v1/tenants/${tenant}/vms/plain-1/identity/retry`).set('authorization', mia).send()).status).toBe(403);
  });
});
