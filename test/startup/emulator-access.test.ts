import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKubeEmulator, type KubeEmulator } from '../../src/adapters/sim/kube-emulator/index.js';

/** The emulator's stand-ins for authentication and RBAC answer what a real API server answers. */
let em: KubeEmulator;
beforeAll(async () => {
  em = await startKubeEmulator({ access: { bearerToken: 'good', user: 'system:serviceaccount:lp:api', forbidden: ['labs.labplane.io', 'secrets'] } });
});
afterAll(async () => {
  await em?.close();
});

const get = async (path: string, token = 'good', method = 'GET') => {
  const res = await fetch(`${em.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(method === 'POST' ? { body: '{}' } : {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

describe('emulator access control', () => {
  it('answers 401 Unauthorized (a v1 Status) to a missing or wrong token, everywhere', async () => {
    for (const path of ['/version', '/api/v1/namespaces', '/apis']) {
      expect(await get(path, 'bad')).toEqual({
        status: 401,
        body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 },
      });
    }
    expect((await get('/api/v1/namespaces')).status).toBe(200);
  });

  it('answers 403 Forbidden worded like the RBAC authorizer, with the verb and scope of the request', async () => {
    expect(await get('/apis/labplane.io/v1alpha1/labs?limit=1')).toEqual({
      status: 403,
      body: {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message:
          'labs.labplane.io is forbidden: User "system:serviceaccount:lp:api" cannot list resource "labs" in API group "labplane.io" at the cluster scope',
        reason: 'Forbidden',
        details: { kind: 'labs', group: 'labplane.io' },
        code: 403,
      },
    });
    const named = await get('/api/v1/namespaces/default/secrets/s1');
    expect(named.body['message']).toBe(
      'secrets "s1" is forbidden: User "system:serviceaccount:lp:api" cannot get resource "secrets" in API group "" in the namespace "default"',
    );
    expect((await get('/api/v1/namespaces/default/secrets?watch=true')).body['message']).toContain('cannot watch resource "secrets"');
    expect((await get('/api/v1/namespaces/default/secrets', 'good', 'POST')).body['message']).toContain('cannot create resource "secrets"');
  });
});
