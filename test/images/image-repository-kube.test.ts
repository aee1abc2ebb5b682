import { afterEach, describe, expect, it } from 'vitest';
import { createKubeClient } from '../../src/adapters/kubernetes/kube-client.js';
import { loadKubeConfig } from '../../src/adapters/kubernetes/kube-config.js';
import { createKubeImageRepository, type KubeImageRepository } from '../../src/adapters/kubernetes/image-repository.js';
import { dataVolumeObject } from '../../src/adapters/kubernetes/image-objects.js';
import { createDataVolumeController } from '../../src/adapters/sim/kube-emulator/datavolume-controller.js';
import { startKubeEmulator, type KubeEmulator } from '../../src/adapters/sim/kube-emulator/index.js';
import { PLATFORM, type ImageOwner, type ImageSpec } from '../../src/domain/images/image.js';
import { ConflictError, NotFoundError } from '../../src/domain/shared/errors.js';
import { imageRepositoryContract } from '../contracts/image-repository.contract.js';
import { rawClient, recordingLogger } from '../kubernetes/support/kube-fixture.js';

const DV = 'datavolumes.cdi.kubevirt.io';
const poll = { timeout: 5000, interval: 20 };

interface Fx {
  emulator: KubeEmulator;
  repo: KubeImageRepository;
  logger: ReturnType<typeof recordingLogger>;
  close(): Promise<void>;
}
let fx: Fx | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

async function start(opts: { start?: boolean; importMs?: number } = {}): Promise<Fx> {
  const emulator = await startKubeEmulator({ controllers: [createDataVolumeController({ importDurationMs: opts.importMs ?? 60_000 })] });
  const logger = recordingLogger();
  const client = createKubeClient({ kubeConfig: loadKubeConfig({ server: emulator.url }), logger });
  const repo = createKubeImageRepository({ client, watchRestartDelayMs: { min: 20, max: 200 } });
  if (opts.start !== false) expect(await repo.start()).toBe(true);
  await rawClient(emulator.url).post('/api/v1/namespaces', { metadata: { name: 'lab1' } });
  fx = { emulator, repo, logger, close: async () => (await repo.close(), await emulator.close()) };
  return fx;
}

imageRepositoryContract('Kubernetes adapter over the emulator', async () => {
  const tenants = ['cs-101', 'cs-202'] as const;
  const emulator = await startKubeEmulator({ namespaces: [...tenants] });
  const logger = recordingLogger();
  const repo = createKubeImageRepository({
    client: createKubeClient({ kubeConfig: loadKubeConfig({ server: emulator.url }), logger }),
    watchRestartDelayMs: { min: 20, max: 200 },
  });
  if (!(await repo.start())) throw new Error(`the DataVolume informer did not sync: ${JSON.stringify(logger.lines)}`);
  return {
    repo,
    tenants,
    // The VM side records the image in labels (see ImageUsage): a VirtualMachine with those labels is enough.
    async vmBuiltFrom(tenant, name, image) {
      emulator.store.create('virtualmachines.kubevirt.io', {
        apiVersion: 'kubevirt.io/v1',
        kind: 'VirtualMachine',
        metadata: { name, namespace: tenant, labels: { 'labplane.io/image-scope': image.scope, 'labplane.io/image': image.name } },
        spec: { runStrategy: 'Halted', template: { spec: { domain: { devices: {} } } } },
      });
    },
    unavailableNext: () => emulator.faults.failNext(1, { status: 503, method: 'POST', pathPrefix: '/apis/cdi.kubevirt.io' }),
    async cleanup() {
      await repo.close();
      await emulator.close();
    },
  };
});

let n = 0;
function spec(owner: ImageOwner = { scope: 'tenant', tenant: 'lab1' }, extra: Partial<ImageSpec> = {}): ImageSpec {
  n += 1;
  return {
    owner,
    name: `img-${n}`,
    displayName: `Image ${n}`,
    os: 'ubuntu-24.04',
    source: { type: 'http', url: 'https://images.example.com/disk.img' },
    sizeGi: 5,
    storageClass: 'kv-premium-retain',
    ...extra,
  };
}

describe('Kubernetes image repository (over the wire)', () => {
  it('writes DataVolumes the emulator accepts under strict validation, for http, registry and s3 sources', async () => {
    const f = await start();
    const sources: ImageSpec['source'][] = [
      { type: 'http', url: 'https://images.example.com/a.qcow2' },
      { type: 'registry', url: 'docker://quay.io/containerdisks/fedora:40' },
      { type: 's3', url: 's3://bucket/disk.img', secretRef: { name: 's3-creds' } },
    ];
    for (const source of sources) {
      const s = spec(undefined, { source });
      const image = await f.repo.create({ ...s, operationId: 'op-1' });
      expect(image).toMatchObject({
        scope: 'tenant',
        tenant: 'lab1',
        name: s.name,
        source,
        sizeGi: 5,
        storageClass: 'kv-premium-retain',
        phase: 'Importing',
        operationId: 'op-1',
      });
      const stored = f.emulator.store.get(DV, 'lab1', s.name);
      expect(stored?.metadata.labels).toMatchObject({
        'app.kubernetes.io/managed-by': 'labplane',
        'labplane.io/image': s.name,
        'labplane.io/image-scope': 'tenant',
      });
      expect(stored?.spec).toMatchObject({ storage: { resources: { requests: { storage: '5Gi' } }, storageClassName: 'kv-premium-retain' } });
    }
    expect(f.emulator.store.get(DV, 'lab1', `img-${n}`)?.spec).toMatchObject({
      source: { s3: { url: 's3://bucket/disk.img', secretRef: 's3-creds' } },
    });
  });

  it('a platform image creates the catalog namespace, labelled as ours, with an egress policy and clone permission for tenants', async () => {
    const f = await start();
    const s = spec(PLATFORM);
    await f.repo.create(s);
    const ns = f.emulator.store.get('namespaces', undefined, 'labplane-images');
    expect(ns?.metadata.labels).toMatchObject({ 'app.kubernetes.io/managed-by': 'labplane' });
    expect(ns?.metadata.labels?.['labplane.io/provisioned']).toBeUndefined();
    const policy = f.emulator.store.get('networkpolicies.networking.k8s.io', 'labplane-images', 'labplane-egress');
    expect(JSON.stringify(policy?.spec)).toContain('169.254.0.0/16');
    const clone = f.emulator.store.get('roles.rbac.authorization.k8s.io', 'labplane-images', 'labplane-image-clone');
    expect(clone?.rules).toEqual([{ apiGroups: ['cdi.kubevirt.io'], resources: ['datavolumes/source'], verbs: ['create'] }]);
    const binding = f.emulator.store.get('rolebindings.rbac.authorization.k8s.io', 'labplane-images', 'labplane-image-clone');
    expect(binding?.subjects).toEqual([{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'system:serviceaccounts' }]);
    expect(await f.repo.get(PLATFORM, s.name)).toMatchObject({ scope: 'platform', name: s.name });
    expect(await f.repo.get({ scope: 'tenant', tenant: 'lab1' }, s.name)).toBeUndefined();
    await f.repo.create(spec(PLATFORM));
    expect((await f.repo.list(PLATFORM)).length).toBe(2);
  });

  it('once synced, get and list cost the API server nothing, even right after a write', async () => {
    const f = await start();
    const owner: ImageOwner = { scope: 'tenant', tenant: 'lab1' };
    const a = spec(owner);
    const before = f.emulator.requestCount();
    await f.repo.create(a);
    expect(f.emulator.requestCount()).toBe(before + 1);
    for (let i = 0; i < 20; i++) {
      expect(await f.repo.get(owner, a.name)).toMatchObject({ name: a.name });
      expect((await f.repo.list(owner)).map((x) => x.name)).toContain(a.name);
    }
    expect(await f.repo.get(owner, 'absent')).toBeUndefined();
    expect(f.emulator.requestCount()).toBe(before + 1);
    expect(f.emulator.requestCount({ method: 'GET', pathPrefix: '/apis/cdi.kubevirt.io/v1beta1/namespaces' })).toBe(0);
  });

  it('before the informer is synced, reads go to the API server', async () => {
    const f = await start({ start: false });
    const owner: ImageOwner = { scope: 'tenant', tenant: 'lab1' };
    const a = spec(owner);
    await f.repo.create(a);
    const before = f.emulator.requestCount({ method: 'GET' });
    expect(await f.repo.get(owner, a.name)).toMatchObject({ name: a.name });
    expect((await f.repo.list(owner)).map((x) => x.name)).toEqual([a.name]);
    expect(f.emulator.requestCount({ method: 'GET' })).toBe(before + 2);
  });

  it('follows the import through the watch: progress from status.progress, Ready on Succeeded', async () => {
    const f = await start({ importMs: 400 });
    const owner: ImageOwner = { scope: 'tenant', tenant: 'lab1' };
    const a = spec(owner);
    await f.repo.create(a);
    const seen: number[] = [];
    await expect
      .poll(async () => {
        const img = await f.repo.get(owner, a.name);
        if (img !== undefined) seen.push(img.progress);
        return img?.phase;
      }, poll)
      .toBe('Ready');
    expect(seen.some((p) => p > 0 && p < 100)).toBe(true);
    expect((await f.repo.get(owner, a.name))?.progress).toBe(100);
  });

  it('an existing name is IMAGE_EXISTS, unless it is the same operation retrying (then the image is answered)', async () => {
    const f = await start();
    const a = { ...spec(), operationId: 'op-a' };
    await f.repo.create(a);
    expect(await f.repo.create(a)).toMatchObject({ name: a.name, operationId: 'op-a' });
    const err = await f.repo.create({ ...a, operationId: 'op-b' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as ConflictError).code).toBe('IMAGE_EXISTS');
  });

  it('a tenant image in a namespace that does not exist is TENANT_NOT_FOUND', async () => {
    const f = await start();
    const err = await f.repo.create(spec({ scope: 'tenant', tenant: 'nowhere' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as NotFoundError).code).toBe('TENANT_NOT_FOUND');
  });

  it('delete removes the DataVolume and the cache forgets it at once; an absent image answers false', async () => {
    const f = await start();
    const owner: ImageOwner = { scope: 'tenant', tenant: 'lab1' };
    const a = spec(owner);
    await f.repo.create(a);
    expect(await f.repo.delete(owner, a.name)).toBe(true);
    expect(await f.repo.get(owner, a.name)).toBeUndefined();
    expect(f.emulator.store.get(DV, 'lab1', a.name)).toBeUndefined();
    expect(await f.repo.delete(owner, a.name)).toBe(false);
  });

  it('DataVolumes that are not images (VM disks, other tools) are invisible', async () => {
    const f = await start();
    const raw = rawClient(f.emulator.url);
    const disk = dataVolumeObject(spec());
    delete disk.metadata?.labels?.['app.kubernetes.io/component'];
    expect((await raw.post('/apis/cdi.kubevirt.io/v1beta1/namespaces/lab1/datavolumes', disk)).status).toBe(201);
    // Real time: the repository's cache is fed by a watch on real time; 100 ms is the window in which a wrong entry would show.
    await new Promise((r) => setTimeout(r, 100));
    expect(await f.repo.get({ scope: 'tenant', tenant: 'lab1' }, disk.metadata?.name ?? '')).toBeUndefined();
  });

  it('after a dropped watch the cache catches up with images written and deleted meanwhile', async () => {
    const f = await start();
    const owner: ImageOwner = { scope: 'tenant', tenant: 'lab1' };
    const doomed = spec(owner);
    await f.repo.create(doomed);
    const raw = rawClient(f.emulator.url);
    f.emulator.faults.failNext(10_000, { status: 500, method: 'GET', pathPrefix: '/apis/cdi.kubevirt.io' });
    expect(f.emulator.faults.dropWatches()).toBeGreaterThanOrEqual(1);
    const added = spec(owner);
    expect((await raw.post('/apis/cdi.kubevirt.io/v1beta1/namespaces/lab1/datavolumes', dataVolumeObject(added))).status).toBe(201);
    expect((await raw.delete(`/apis/cdi.kubevirt.io/v1beta1/namespaces/lab1/datavolumes/${doomed.name}`)).status).toBe(200);
    await expect.poll(() => f.logger.lines.filter((l) => l.msg.includes('restarting')).length, poll).toBeGreaterThanOrEqual(2);
    expect(await f.repo.get(owner, added.name)).toBeUndefined();
    f.emulator.faults.clear();
    await expect.poll(() => f.repo.get(owner, added.name), poll).toMatchObject({ name: added.name });
    await expect.poll(() => f.repo.get(owner, doomed.name), poll).toBeUndefined();
  });
});
