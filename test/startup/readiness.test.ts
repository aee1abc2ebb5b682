import type { V1Namespace } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { crdOfPath } from '../../src/adapters/kubernetes/errors.js';
import { listOptions } from '../../src/adapters/kubernetes/kube-reads.js';
import { createResourceCache, customResource, type InformerHealth, type ResourceCache } from '../../src/adapters/kubernetes/resource-cache.js';
import { createKubeClient, type KubeClient } from '../../src/adapters/kubernetes/kube-client.js';
import { loadKubeConfig } from '../../src/adapters/kubernetes/kube-config.js';
import { LABS_PATH } from '../../src/adapters/kubernetes/lab-objects.js';
import { startKubeEmulator, type KubeEmulator, type KubeEmulatorOptions } from '../../src/adapters/sim/kube-emulator/index.js';
import { NotFoundError, UpstreamUnavailableError } from '../../src/domain/shared/errors.js';
import { informerCheck, informerProblem } from '../../src/main/readiness.js';
import { recordingLogger } from '../kubernetes/support/kube-fixture.js';

let em: KubeEmulator | undefined;
let store: ResourceCache<V1Namespace> | undefined;
afterEach(async () => {
  await store?.stop();
  await em?.close();
  store = undefined;
  em = undefined;
});

async function setUp(opts: KubeEmulatorOptions = {}): Promise<{ em: KubeEmulator; client: KubeClient }> {
  em = await startKubeEmulator(opts);
  return { em, client: createKubeClient({ kubeConfig: loadKubeConfig({ server: em.url }), logger: recordingLogger(), timeoutMs: 2000 }) };
}

function namespaces(client: KubeClient): ResourceCache<V1Namespace> {
  store = createResourceCache<V1Namespace>({
    client,
    name: 'namespaces',
    kind: 'Namespace',
    path: '/api/v1/namespaces',
    api: { list: (q) => client.core.listNamespace(listOptions(q)), read: (_, name) => client.core.readNamespace({ name }) },
    restartDelayMs: { min: 50, max: 200 },
  });
  return store;
}

const health = (h: Partial<InformerHealth>): InformerHealth => ({
  name: 'labs',
  synced: true,
  since: undefined,
  lastError: undefined,
  missingCrd: undefined,
  ...h,
});

describe('readiness of one informer', () => {
  const t0 = Date.parse('2026-12-06T10:00:00.000Z');
  it('is not ready before its first list, and says since when and why', () => {
    expect(informerProblem(health({ synced: false, since: new Date(t0), lastError: 'boom' }), 60_000, t0)).toBe(
      'the labs informer has not synced since 2026-12-06T10:00:00.000Z: boom',
    );
  });

  it('stays ready while a synced informer fails for less than the threshold, and not after', () => {
    const failing = health({ since: new Date(t0), lastError: 'watch failed' });
    expect(informerProblem(failing, 60_000, t0 + 60_000)).toBeUndefined();
    expect(informerProblem(failing, 60_000, t0 + 60_001)).toBe(
      'the labs informer has been failing to list or watch since 2026-12-06T10:00:00.000Z: watch failed',
    );
    expect(informerProblem(health({}), 60_000, t0 + 10 ** 9)).toBeUndefined();
  });

  it('a check rejects with every problem of its informers, joined', async () => {
    const check = informerCheck('vms', () => [
      health({ name: 'virtualmachines', synced: false }),
      health({ name: 'nodes' }),
      health({ name: 'vmis', synced: false }),
    ]);
    await expect(check.check()).rejects.toThrow('the virtualmachines informer has not synced; the vmis informer has not synced');
  });
});

describe('informer health against a real-protocol API server', () => {
  it('a watch that failed and relisted does not flip readiness, and is healthy again afterwards', async () => {
    const { em, client } = await setUp();
    const s = namespaces(client);
    s.start();
    await s.whenSynced;
    expect(s.health()).toMatchObject({ synced: true, since: undefined, lastError: undefined });
    const check = informerCheck('tenants', () => [s.health()]);
    em.faults.failNext(3, { status: 503, method: 'GET', pathPrefix: '/api/v1/namespaces' });
    // The watch opens just after the list: the first three attempts after the drop answer 503.
    await expect.poll(() => em.faults.dropWatches(), { timeout: 5000, interval: 10 }).toBeGreaterThan(0);
    await expect.poll(() => s.health().lastError, { timeout: 5000, interval: 10 }).toBeDefined();
    await expect(check.check()).resolves.toBeUndefined();
    await expect.poll(() => s.health(), { timeout: 5000, interval: 10 }).toMatchObject({ synced: true, since: undefined, lastError: undefined });
  });

  it('an informer that keeps failing is not ready once past the threshold', async () => {
    const { em, client } = await setUp();
    const s = namespaces(client);
    s.start();
    await s.whenSynced;
    em.faults.failNext(10_000, { status: 500, method: 'GET', pathPrefix: '/api/v1/namespaces' });
    await expect.poll(() => em.faults.dropWatches() + (s.health().since === undefined ? 0 : 1), { timeout: 5000, interval: 10 }).toBeGreaterThan(0);
    await expect.poll(() => s.health().since, { timeout: 5000, interval: 10 }).toBeInstanceOf(Date);
    const later = informerCheck('tenants', () => [s.health()], { staleAfterMs: 60_000, now: () => Date.now() + 61_000 });
    await expect(later.check()).rejects.toThrow(/the namespaces informer has been failing to list or watch since .*Z: /);
  });

  it('a list of a resource that is not served fails as CRD_NOT_INSTALLED and resolves whenNotServed', async () => {
    const { client } = await setUp({ uninstalledResources: ['labs.labplane.io'] });
    const labs = createResourceCache({
      client,
      name: 'labs',
      kind: 'Lab',
      path: LABS_PATH,
      api: customResource(client, 'labplane.io', 'v1alpha1', 'labs'),
      restartDelayMs: { min: 10, max: 50 },
    });
    try {
      labs.start();
      await labs.whenNotServed;
      expect(labs.synced()).toBe(false);
      expect(labs.health()).toMatchObject({ missingCrd: 'labs.labplane.io', synced: false });
      expect(labs.health().since).toBeInstanceOf(Date);
    } finally {
      await labs.stop();
    }
  });
});

describe('a 404 is a missing object or a missing resource type', () => {
  it('a missing object stays NotFound; a resource the server does not serve is CRD_NOT_INSTALLED (retryable, 30 s)', async () => {
    const { em, client } = await setUp({ uninstalledResources: ['virtualmachines.kubevirt.io'] });
    const vm = client.request({ what: 'read VM', write: false, resource: 'vm', name: 'x' }, () =>
      client.custom.getNamespacedCustomObject({ group: 'kubevirt.io', version: 'v1', plural: 'virtualmachines', namespace: 'default', name: 'x' }),
    );
    await expect(vm).rejects.toBeInstanceOf(UpstreamUnavailableError);
    await expect(vm).rejects.toMatchObject({ code: 'CRD_NOT_INSTALLED', retryAfterSeconds: 30, details: { crd: 'virtualmachines.kubevirt.io' } });
    await expect(vm).rejects.toThrow('install KubeVirt');
    const dv = client.request({ what: 'read DataVolume', write: false, resource: 'image', name: 'x' }, () =>
      client.custom.getNamespacedCustomObject({
        group: 'cdi.kubevirt.io',
        version: 'v1beta1',
        plural: 'datavolumes',
        namespace: 'default',
        name: 'x',
      }),
    );
    await expect(dv).rejects.toBeInstanceOf(NotFoundError);
    await expect(dv).rejects.toMatchObject({ code: 'IMAGE_NOT_FOUND' });
    expect(em.requestCount({ pathPrefix: '/apis/kubevirt.io' })).toBe(1);
  });

  it('names the CRD from the request path', () => {
    expect(crdOfPath('/apis/labplane.io/v1alpha1/namespaces/t1/labs/algebra')).toBe('labs.labplane.io');
    expect(crdOfPath('/apis/kubevirt.io/v1/virtualmachines')).toBe('virtualmachines.kubevirt.io');
    expect(crdOfPath('/apis/labplane.io/v1alpha1/namespaces/t1/labs?limit=1')).toBe('labs.labplane.io');
    expect(crdOfPath('/api/v1/namespaces/t1')).toBeUndefined();
  });
});
