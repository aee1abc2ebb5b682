import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, uniqueTenantId, type TestApp } from '../support/test-app.js';
import { emulatorOf, vmBody, vmCreateWrites } from '../vms/support.js';

/**
 * Real Azure settings without a dedicated onboarding identity (the simulated cluster still
 * chosen on its own): a VM with Arc on cannot be onboarded, so creating one is refused.
 */
let t: TestApp;
let admin: string;
beforeAll(async () => {
  t = await startTestApp({
    AZURE_SUBSCRIPTION_ID: '00000000-0000-0000-0000-000000000000',
    AZURE_RESOURCE_GROUP: 'rg-labs',
    AZURE_LOCATION: 'westeurope',
    AZURE_TENANT_ID: '11111111-1111-1111-1111-111111111111',
  });
  admin = await t.bearer({ sub: 'admin-arc-off', roles: ['platform-admin'] });
});
afterAll(async () => {
  await t?.close();
});

describe('Arc without an onboarding identity', () => {
  it('refuses a VM with Arc on with 409 and writes nothing, and still creates one with Arc off', async () => {
    const tenant = uniqueTenantId('arcoff');
    expect(
      (await request(t.app.server).post('/v1/tenants').set('authorization', admin).send({ id: tenant, displayName: 'x', profile: 'faculty' })).status,
    ).toBe(201);
    const writes = vmCreateWrites(emulatorOf(t), tenant);
    const refused = await request(t.app.server)
      .post(`/v1/tenants/${tenant}/vms`)
      .set('authorization', admin)
      .send(vmBody('arc-vm', { arc: true, owner: 'admin-arc-off' }));
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('ARC_ONBOARDING_NOT_CONFIGURED');
    expect(vmCreateWrites(emulatorOf(t), tenant)).toBe(writes);
    const plain = await request(t.app.server)
      .post(`/v1/tenants/${tenant}/vms`)
      .set('authorization', admin)
      .send(vmBody('plain-vm', { arc: false, owner: 'admin-arc-off' }));
    expect(plain.status, JSON.stringify(plain.body)).toBe(202);
    await expect.poll(() => vmCreateWrites(emulatorOf(t), tenant)).toBeGreaterThan(writes);
  });
});
