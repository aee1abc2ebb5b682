import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createNamespace, expectApiError, startCluster, type Cluster } from '../emulator/support.js';

/** coordination.k8s.io/v1 Leases in the emulator, through client-node as a real client sees them. */
const NS = 'lease-ns';
let c: Cluster;
let api: k8s.CoordinationV1Api;

function lease(name: string, spec: Record<string, unknown>): k8s.V1Lease {
  return { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace: NS }, spec: spec as k8s.V1LeaseSpec };
}

beforeAll(async () => {
  c = await startCluster();
  await createNamespace(c, NS);
  api = c.kc.makeApiClient(k8s.CoordinationV1Api);
});
afterAll(async () => {
  await c.emu.close();
});

describe('Leases in the emulator', () => {
  test('discovery lists coordination.k8s.io/v1 leases as a namespaced resource with every verb', async () => {
    const groups = await new k8s.ApisApi(kcConfig()).getAPIVersions();
    expect(groups.groups.map((g) => g.name)).toContain('coordination.k8s.io');
    const res = await fetch(`${c.emu.url}/apis/coordination.k8s.io/v1`);
    const list = (await res.json()) as { resources: Array<{ name: string; namespaced: boolean; kind: string; verbs: string[] }> };
    expect(list.resources).toContainEqual(expect.objectContaining({ name: 'leases', namespaced: true, kind: 'Lease' }));
    expect(list.resources.find((r) => r.name === 'leases')?.verbs).toEqual(expect.arrayContaining(['create', 'get', 'update', 'delete', 'watch']));
  });

  test('create, read, replace with the current resourceVersion, list, delete', async () => {
    const now = new k8s.V1MicroTime();
    const created = await api.createNamespacedLease({
      namespace: NS,
      body: lease('crud', { holderIdentity: 'a', leaseDurationSeconds: 15, acquireTime: now, renewTime: now, leaseTransitions: 0 }),
    });
    expect(created.spec?.holderIdentity).toBe('a');
    const read = await api.readNamespacedLease({ namespace: NS, name: 'crud' });
    expect(read.metadata?.resourceVersion).toBe(created.metadata?.resourceVersion);
    const replaced = await api.replaceNamespacedLease({
      namespace: NS,
      name: 'crud',
      body: { ...read, spec: { ...read.spec, holderIdentity: 'b', leaseTransitions: 1 } },
    });
    expect(replaced.spec?.holderIdentity).toBe('b');
    expect(replaced.metadata?.resourceVersion).not.toBe(read.metadata?.resourceVersion);
    expect((await api.listNamespacedLease({ namespace: NS })).items.map((l) => l.metadata?.name)).toContain('crud');
    await api.deleteNamespacedLease({ namespace: NS, name: 'crud' });
    await expectApiError(api.readNamespacedLease({ namespace: NS, name: 'crud' }), 404);
  });

  test('a replace with a stale resourceVersion is 409 Conflict and changes nothing', async () => {
    const first = await api.createNamespacedLease({ namespace: NS, body: lease('occ', { holderIdentity: 'a', leaseDurationSeconds: 15 }) });
    await api.replaceNamespacedLease({ namespace: NS, name: 'occ', body: { ...first, spec: { ...first.spec, holderIdentity: 'b' } } });
    const err = await expectApiError(
      api.replaceNamespacedLease({ namespace: NS, name: 'occ', body: { ...first, spec: { ...first.spec, holderIdentity: 'c' } } }),
      409,
    );
    expect(err.reason).toBe('Conflict');
    expect((await api.readNamespacedLease({ namespace: NS, name: 'occ' })).spec?.holderIdentity).toBe('b');
  });

  test('creating a Lease that exists is 409 AlreadyExists; a Lease in a missing namespace is 404', async () => {
    await api.createNamespacedLease({ namespace: NS, body: lease('twice', {}) });
    expect((await expectApiError(api.createNamespacedLease({ namespace: NS, body: lease('twice', {}) }), 409)).reason).toBe('AlreadyExists');
    await expectApiError(api.createNamespacedLease({ namespace: 'no-such-ns', body: { ...lease('x', {}), metadata: { name: 'x' } } }), 404);
  });

  test.each([
    ['milliseconds only (Date#toISOString)', '2026-12-06T10:00:00.123Z'],
    ['no fraction', '2026-12-06T10:00:00Z'],
    ['nanoseconds', '2026-12-06T10:00:00.123456789Z'],
    ['a month 13', '2026-13-06T10:00:00.123456Z'],
  ])('a renewTime with %s is refused with 400, as the Go decoder of RFC3339Micro does', async (_what, value) => {
    const body = { ...lease('bad-time', { holderIdentity: 'a' }), spec: { holderIdentity: 'a', renewTime: value } };
    const res = await fetch(`${c.emu.url}/apis/coordination.k8s.io/v1/namespaces/${NS}/leases`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { reason: string }).reason).toBe('BadRequest');
  });

  test('MicroTime with microseconds and a zone offset is accepted', async () => {
    const body = lease('offset', {});
    body.spec = { acquireTime: '2026-12-06T10:00:00.123456+02:00', renewTime: '2026-12-06T08:00:00.000001Z' } as unknown as k8s.V1LeaseSpec;
    const res = await fetch(`${c.emu.url}/apis/coordination.k8s.io/v1/namespaces/${NS}/leases`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(201);
  });

  test.each([
    ['leaseDurationSeconds 0', { leaseDurationSeconds: 0 }, 'spec.leaseDurationSeconds'],
    ['negative leaseTransitions', { leaseTransitions: -1 }, 'spec.leaseTransitions'],
    ['a fractional leaseDurationSeconds', { leaseDurationSeconds: 1.5 }, 'spec.leaseDurationSeconds'],
    ['holderIdentity as a number', { holderIdentity: 7 }, 'spec.holderIdentity'],
    ['an unsupported strategy', { strategy: 'Newest' }, 'spec.strategy'],
    ['preferredHolder without strategy', { preferredHolder: 'b' }, 'spec.preferredHolder'],
  ])('%s is refused with 422 naming the field', async (_what, spec, field) => {
    const name = `bad-${Math.random().toString(36).slice(2, 8)}`;
    const err = await expectApiError(api.createNamespacedLease({ namespace: NS, body: lease(name, spec) }), 422);
    expect(err.reason).toBe('Invalid');
    expect(err.details?.causes?.map((x) => x.field)).toContain(field);
  });
});

test('an unknown spec field is refused with 422 under fieldValidation=Strict', async () => {
  const res = await fetch(`${c.emu.url}/apis/coordination.k8s.io/v1/namespaces/${NS}/leases?fieldValidation=Strict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...lease('unknown-field', {}), spec: { holder: 'a' } }),
  });
  expect(res.status).toBe(422);
  expect(((await res.json()) as { details: { causes: Array<{ field: string }> } }).details.causes.map((x) => x.field)).toContain('spec.holder');
});

function kcConfig(): k8s.Configuration {
  return k8s.createConfiguration({ baseServer: new k8s.ServerConfiguration(c.emu.url, {}), authMethods: { default: c.kc } });
}
