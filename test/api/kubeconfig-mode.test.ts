import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDevTokens } from '../../src/adapters/auth/dev-tokens.js';
import { startKubeEmulator, type KubeEmulator } from '../../src/adapters/sim/kube-emulator/index.js';
import { startTestApp, uniqueTenantId, type TestApp } from '../support/test-app.js';

/**
 * The service pointed at an API server through a kubeconfig file (as an operator would run it),
 * with the emulator standing in for the cluster: what it writes must be accepted as real objects.
 */
let em: KubeEmulator;
let t: TestApp;
const secret = 'k'.repeat(40);

beforeAll(async () => {
  em = await startKubeEmulator();
  const dir = mkdtempSync(join(tmpdir(), 'lp-kubeconfig-'));
  const path = join(dir, 'config');
  writeFileSync(
    path,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters: [{name: c, cluster: {server: "' + em.url + '", insecure-skip-tls-verify: true}}]',
      'users: [{name: u, user: {token: not-a-real-token}}]',
      'contexts: [{name: x, context: {cluster: c, user: u}}]',
      'current-context: x',
    ].join('\n'),
  );
  // A real cluster turns dev mode off, so the test signs tokens with a verifier of its own.
  t = await startTestApp({ KUBECONFIG: path, REDIS_URL: process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379', DEV_TOKEN_SECRET: secret });
});
afterAll(async () => {
  await t?.close();
  await em?.close();
});

describe('pointed at an API server through a kubeconfig', () => {
  it('uses the real adapter, is ready when the cluster and Redis answer, and has no dev routes', async () => {
    expect(t.deps.emulator).toBeUndefined();
    expect(t.deps.config.kube.mode).toBe('kubeconfig');
    const ready = await request(t.app.server).get('/readyz');
    expect(ready.body).toEqual({ status: 'ready', checks: { kubernetes: { ok: true }, redis: { ok: true } } });
    expect((await request(t.app.server).post('/dev/token').send({ sub: 'x' })).status).toBe(404);
  });

  it('writes tenant objects the API server accepts, and reads them back from its watch cache', async () => {
    const id = uniqueTenantId('kc');
    const before = em.requestCount();
    await t.deps.tenantRepo.create({
      id,
      displayName: 'Kubeconfig tenant',
      profile: 'faculty',
      quota: { requestsCpu: 4, requestsMemoryGi: 8, limitsCpu: 8, limitsMemoryGi: 16, storageGi: 100, persistentVolumeClaims: 4, virtualMachines: 4 },
      vmCaps: { maxCpu: 2, maxMemoryGi: 4 },
      members: [{ principalId: 'olga', principalType: 'User', role: 'owner' }],
    });
    expect(em.requestCount()).toBeGreaterThan(before);
    for (const path of [
      `/api/v1/namespaces/${id}`,
      `/api/v1/namespaces/${id}/resourcequotas/labplane-quota`,
      `/api/v1/namespaces/${id}/limitranges/labplane-limits`,
      `/apis/networking.k8s.io/v1/namespaces/${id}/networkpolicies/labplane-ingress`,
      `/apis/networking.k8s.io/v1/namespaces/${id}/networkpolicies/labplane-egress`,
      `/apis/rbac.authorization.k8s.io/v1/namespaces/${id}/roles/labplane-tenant-owner`,
    ]) {
      expect((await fetch(`${em.url}${path}`)).status, path).toBe(200);
    }
    const reads = em.requestCount({ method: 'GET' });
    expect((await t.deps.tenantRepo.get(id))?.displayName).toBe('Kubeconfig tenant');
    expect(em.requestCount({ method: 'GET' })).toBe(reads);
  });

  it('refuses dev tokens: only configured identity providers are trusted', async () => {
    const forged = await createDevTokens(secret).issue({ sub: 'mallory', roles: ['platform-admin'] });
    const res = await request(t.app.server).get('/v1/tenants').set('authorization', `Bearer ${forged.accessToken}`);
    expect(res.status).toBe(401);
  });
});
