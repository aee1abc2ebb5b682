import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { createDevTokens } from '../../src/adapters/auth/dev-tokens.js';
import { startKubeEmulator, type KubeEmulator } from '../../src/adapters/sim/kube-emulator/index.js';
import { startTestApp, uniqueTenantId, type TestApp } from '../support/test-app.js';

/**
 * The service pointed at an API server through a kubeconfig file (as an operator would run it),
 * with the emulator standing in for the cluster: what it writes must be accepted as real objects.
 */
let em: KubeEmulator;
let t: TestApp;
let jwks: Server;
let signingKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
const secret = 'k'.repeat(40);
const DIRECTORY = '7a2c9f4e-0d1b-4c3a-9e8f-112233445566';
const AUDIENCE = 'api://labplane-test';

async function azureAdToken(claims: Record<string, unknown>, aud = AUDIENCE): Promise<string> {
  return new SignJWT({ tid: DIRECTORY, ver: '2.0', ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
    .setIssuer(`https://login.microsoftonline.com/${DIRECTORY}/v2.0`)
    .setAudience(aud)
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(signingKey);
}

beforeAll(async () => {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  signingKey = privateKey;
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  jwks = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
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
  t = await startTestApp({
    KUBECONFIG: path,
    REDIS_URL: process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379',
    DEV_TOKEN_SECRET: secret,
    AUTH_TENANT_IDS: DIRECTORY,
    AUTH_AUDIENCES: AUDIENCE,
    AUTH_JWKS_URI: `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/keys`,
    EMBEDDED_WORKER: 'false',
  });
});
afterAll(async () => {
  await t?.close();
  await em?.close();
  jwks?.close();
});

describe('pointed at an API server through a kubeconfig', () => {
  it('uses the real adapter, is ready when the cluster and Redis answer, and has no dev routes', async () => {
    expect(t.deps.emulator).toBeUndefined();
    expect(t.deps.config.kube.mode).toBe('kubeconfig');
    const ready = await request(t.app.server).get('/readyz');
    const informers = {
      tenants: { ok: true },
      webhooks: { ok: true },
      lti: { ok: true },
      images: { ok: true },
      vms: { ok: true },
      labs: { ok: true },
    };
    expect(ready.body).toEqual({ status: 'ready', checks: { kubernetes: { ok: true }, redis: { ok: true }, ...informers } });
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

describe('Azure AD sign-in against the kubeconfig-backed service', () => {
  it('an admin app role creates a tenant; a member learns roles from membership; other tokens get 401', async () => {
    const admin = await azureAdToken({ oid: 'aaaaaaaa-0000-0000-0000-000000000001', sub: 's1', name: 'Ada Admin', roles: ['LabPlane.Admin'] });
    const id = uniqueTenantId('aad');
    const created = await request(t.app.server)
      .post('/v1/tenants')
      .set('authorization', `Bearer ${admin}`)
      .send({ id, displayName: 'AAD', profile: 'student', owners: [{ principalId: 'bbbbbbbb-0000-0000-0000-000000000002' }] });
    expect(created.status).toBe(201);
    const owner = await azureAdToken({ oid: 'bbbbbbbb-0000-0000-0000-000000000002', sub: 's2', name: 'Olga Owner' });
    expect((await request(t.app.server).get(`/v1/tenants/${id}`).set('authorization', `Bearer ${owner}`)).status).toBe(200);
    const foreignAudience = await azureAdToken({ oid: 'x', sub: 'x', roles: ['LabPlane.Admin'] }, 'api://another-api');
    const res = await request(t.app.server).get('/v1/tenants').set('authorization', `Bearer ${foreignAudience}`);
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
  });
});

describe('GraphQL outside dev mode', () => {
  it('allows schema introspection to platform admins only, and has no GraphiQL', async () => {
    const introspect = { query: '{ __schema { queryType { name } } }' };
    const admin = await azureAdToken({ oid: 'aaaaaaaa-0000-0000-0000-000000000001', sub: 's1', roles: ['LabPlane.Admin'] });
    const user = await azureAdToken({ oid: 'cccccccc-0000-0000-0000-000000000003', sub: 's3' });
    const asAdmin = await request(t.app.server).post('/graphql').set('authorization', `Bearer ${admin}`).send(introspect);
    expect(asAdmin.body.data?.__schema.queryType.name, JSON.stringify(asAdmin.body)).toBe('Query');
    const asUser = await request(t.app.server).post('/graphql').set('authorization', `Bearer ${user}`).send(introspect);
    expect(asUser.body.errors[0].extensions.code).toBe('FORBIDDEN');
    for (const url of ['/graphiql', '/graphiql/schema.json', '/graphiql/assets/graphiql.min.js'])
      expect((await request(t.app.server).get(url)).status, url).toBe(404);
  });
});
