import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startKubeEmulator, type KubeEmulator } from '../../src/adapters/sim/kube-emulator/index.js';
import { startTestApp, uniqueTenantId, type TestApp } from '../support/test-app.js';
import { labBody } from '../labs/support.js';
import { realEnv, startAzureAdStub, writeKubeconfig, type AzureAdStub } from './support.js';

/**
 * A real-protocol API server without the Lab CRD: the process starts, but stays NOT ready naming
 * the Lab informer and the CRD; what needs Labs answers 503 CRD_NOT_INSTALLED (REST and GraphQL);
 * once the CRD is installed the informer syncs and the process becomes ready, without a restart.
 */
let em: KubeEmulator;
let t: TestApp;
let aad: AzureAdStub;
let admin: string;
const tenant = uniqueTenantId('nocrd');

beforeAll(async () => {
  aad = await startAzureAdStub();
  em = await startKubeEmulator({ uninstalledResources: ['labs.labplane.io'] });
  t = await startTestApp(realEnv(writeKubeconfig(em.url), { AUTH_JWKS_URI: aad.jwksUri }));
  admin = `Bearer ${await aad.token({ oid: 'aaaaaaaa-0000-0000-0000-0000000000c1', sub: 'c1', roles: ['LabPlane.Admin'] })}`;
  await t.deps.tenantRepo.create({
    id: tenant,
    displayName: 'No CRD',
    profile: 'faculty',
    quota: { requestsCpu: 4, requestsMemoryGi: 8, limitsCpu: 8, limitsMemoryGi: 16, storageGi: 100, persistentVolumeClaims: 4, virtualMachines: 4 },
    vmCaps: { maxCpu: 2, maxMemoryGi: 4 },
    members: [{ principalId: 'olga', principalType: 'User', role: 'owner' }],
  });
}, 60_000);
afterAll(async () => {
  await t?.close();
  await em?.close();
  await aad?.close();
});

describe('the Lab CRD is not installed', () => {
  it('discovery of the emulator leaves it out, as a cluster without the CRD does', async () => {
    const res = await fetch(`${em.url}/apis`);
    const groups = ((await res.json()) as { groups: Array<{ name: string }> }).groups.map((g) => g.name);
    expect(groups).not.toContain('labplane.io');
    expect(groups).toContain('kubevirt.io');
    const labs = await fetch(`${em.url}/apis/labplane.io/v1alpha1/labs`);
    expect(labs.status).toBe(404);
    expect(await labs.json()).toMatchObject({ kind: 'Status', reason: 'NotFound', message: 'the server could not find the requested resource' });
  });

  it('/readyz is 503 naming the Lab informer, since when, and the CRD; the other informers are fine', async () => {
    const res = await request(t.app.server).get('/readyz');
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('5');
    expect(res.body.code).toBe('NOT_READY');
    const checks = res.body.details.checks as Record<string, { ok: boolean; detail?: string }>;
    expect(checks['labs']?.ok).toBe(false);
    expect(checks['labs']?.detail).toMatch(
      /^the labs informer has not synced since \d{4}-\d\d-\d\dT[\d:.]+Z: The Kubernetes API server does not serve labs\.labplane\.io/,
    );
    expect(checks['labs']?.detail).toContain('kubectl apply --server-side -f deploy/crds/labs.labplane.io.yaml');
    for (const ok of ['kubernetes', 'redis', 'tenants', 'webhooks', 'images', 'vms']) expect(checks[ok], ok).toEqual({ ok: true });
    expect(res.body.detail).toContain('labs (the labs informer has not synced');
  });

  it('REST: creating or listing labs answers 503 CRD_NOT_INSTALLED with Retry-After, naming the CRD', async () => {
    const created = await request(t.app.server).post(`/v1/tenants/${tenant}/labs`).set('authorization', admin).send(labBody('algebra'));
    expect(created.status, JSON.stringify(created.body)).toBe(503);
    expect(created.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(created.headers['retry-after']).toBe('30');
    expect(created.body).toMatchObject({ code: 'CRD_NOT_INSTALLED', status: 503, details: { crd: 'labs.labplane.io' } });
    expect(created.body.detail).toContain('labs.labplane.io');
    const listed = await request(t.app.server).get(`/v1/tenants/${tenant}/labs`).set('authorization', admin);
    expect(listed.status).toBe(503);
    expect(listed.body.code).toBe('CRD_NOT_INSTALLED');
  });

  it('GraphQL carries the same code in extensions.code', async () => {
    const res = await request(t.app.server)
      .post('/graphql')
      .set('authorization', admin)
      .send({ query: 'query($t: ID!) { labs(tenant: $t) { items { name } } }', variables: { t: tenant } });
    expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: 'CRD_NOT_INSTALLED', status: 503, details: { crd: 'labs.labplane.io' } });
  });

  it('once the CRD is installed, the informer syncs and the process becomes ready', async () => {
    em.installResource('labs.labplane.io');
    // Real time: the informer retries on its own back-off (at most 30 s apart), nothing to hook into.
    await vi.waitFor(
      async () => {
        const res = await request(t.app.server).get('/readyz');
        expect(res.status, JSON.stringify(res.body)).toBe(200);
      },
      { timeout: 45_000, interval: 250 },
    );
    const listed = await request(t.app.server).get(`/v1/tenants/${tenant}/labs`).set('authorization', admin);
    expect(listed.status).toBe(200);
  }, 60_000);
});
