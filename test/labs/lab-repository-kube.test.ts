import { afterEach, describe, expect, it } from 'vitest';
import { createKubeLabRepository, type KubeLabRepository } from '../../src/adapters/kubernetes/lab-repository.js';
import { startKubeEmulator, type KubeEmulator } from '../../src/adapters/sim/kube-emulator/index.js';
import type { LabSpec } from '../../src/domain/labs/lab.js';
import { emulatorClient, rawClient, recordingLogger, type RawClient } from '../kubernetes/support/kube-fixture.js';
import { labRepositoryContract, labSpec, person, specOf, type LabContractFixture } from '../contracts/lab-repository.contract.js';

const TENANTS = ['cs-101', 'cs-202'] as const;
const labsPath = (tenant: string) => `/apis/labplane.io/v1alpha1/namespaces/${tenant}/labs`;

interface KubeLabFixture extends LabContractFixture {
  readonly repo: KubeLabRepository;
  readonly emulator: KubeEmulator;
  readonly raw: RawClient;
}

async function ok(res: Promise<{ status: number; body: Record<string, unknown> }>): Promise<Record<string, unknown>> {
  const { status, body } = await res;
  if (status >= 300) throw new Error(`seed write failed: ${status} ${JSON.stringify(body)}`);
  return body;
}

/** kubectl/GitOps: a Lab written with no platform labels or annotations, spec replaced when it exists. */
async function writeAsOtherClient(raw: RawClient, spec: LabSpec): Promise<void> {
  const { tenant, name, ...body } = spec;
  const current = await raw.get(`${labsPath(tenant)}/${name}`);
  if (current.status === 404) {
    await ok(raw.post(labsPath(tenant), { apiVersion: 'labplane.io/v1alpha1', kind: 'Lab', metadata: { name }, spec: body }));
  } else {
    await ok(raw.put(`${labsPath(tenant)}/${name}`, { ...current.body, spec: body }));
  }
}

async function startFixture(opts: { start?: boolean } = {}): Promise<KubeLabFixture> {
  const emulator = await startKubeEmulator();
  const raw = rawClient(emulator.url);
  for (const t of TENANTS) await ok(raw.post('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: t } }));
  const logger = recordingLogger();
  const repo = createKubeLabRepository({ client: emulatorClient(emulator.url, logger), watchRestartDelayMs: { min: 20, max: 200 } });
  if (opts.start !== false && !(await repo.start())) throw new Error(`the lab informer did not sync: ${JSON.stringify(logger.lines)}`);
  return {
    repo,
    emulator,
    raw,
    tenants: TENANTS,
    seed: { otherWriter: (spec) => writeAsOtherClient(raw, spec) },
    async cleanup() {
      await repo.close();
      await emulator.close();
    },
  };
}

labRepositoryContract('Kubernetes adapter over the emulator', () => startFixture());

describe('Kubernetes lab repository', () => {
  let fx: KubeLabFixture | undefined;
  afterEach(async () => {
    await fx?.cleanup();
    fx = undefined;
  });

  it('writes a Lab object in the tenant namespace: spec without tenant and name, labelled as ours, student count annotated', async () => {
    fx = await startFixture();
    const spec = labSpec('cs-101');
    await fx.repo.create(spec);
    const { body } = await fx.raw.get(`${labsPath('cs-101')}/${spec.name}`);
    const { tenant: _t, name: _n, ...stored } = spec;
    expect(body).toMatchObject({
      metadata: {
        labels: { 'app.kubernetes.io/managed-by': 'labplane', 'labplane.io/tenant': 'cs-101' },
        annotations: { 'labplane.io/student-count': '2' },
      },
      spec: stored,
    });
    expect(body.status).toBeUndefined();
  });

  it('once synced, get and list cost the API server nothing', async () => {
    fx = await startFixture();
    const spec = labSpec('cs-101');
    await fx.repo.create(spec);
    const before = fx.emulator.requestCount();
    await fx.repo.get('cs-101', spec.name);
    await fx.repo.list();
    await fx.repo.list('cs-202');
    expect(fx.emulator.requestCount()).toBe(before);
  });

  it('before the cache syncs, reads go to the API server', async () => {
    fx = await startFixture({ start: false });
    const spec = labSpec('cs-101');
    await fx.seed.otherWriter(spec);
    expect(fx.repo.cacheSynced()).toBe(false);
    expect(specOf((await fx.repo.get('cs-101', spec.name)) ?? ({} as never))).toEqual(spec);
    expect((await fx.repo.list()).map((l) => l.name)).toEqual([spec.name]);
  });

  it('a lab the CRD schema refuses is UpstreamRejectedError KUBERNETES_INVALID naming the field, and nothing is stored', async () => {
    fx = await startFixture();
    const spec = labSpec('cs-101', { students: [person(1), { id: 'not-a-guid' }] });
    const err: unknown = await fx.repo.create(spec).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'upstream_rejected', code: 'KUBERNETES_INVALID' });
    expect(JSON.stringify((err as { details?: unknown }).details)).toContain('spec.students[1].id');
    expect((await fx.raw.get(`${labsPath('cs-101')}/${spec.name}`)).status).toBe(404);
  });

  it('an API server outage is UpstreamUnavailableError, and a create in a namespace that does not exist is TENANT_NOT_FOUND', async () => {
    fx = await startFixture();
    fx.emulator.faults.failNext(1, { status: 503, method: 'POST', pathPrefix: '/apis/labplane.io' });
    await expect(fx.repo.create(labSpec('cs-101'))).rejects.toMatchObject({ kind: 'upstream_unavailable', code: 'KUBERNETES_UNAVAILABLE' });
    await expect(fx.repo.create(labSpec('no-such-tenant'))).rejects.toMatchObject({ kind: 'not_found', code: 'TENANT_NOT_FOUND' });
  });

  it('a lab held by a finalizer is still read after delete, marked deleting', async () => {
    fx = await startFixture();
    const spec = labSpec('cs-101');
    await fx.repo.create(spec);
    const current = await fx.raw.get(`${labsPath('cs-101')}/${spec.name}`);
    const metadata = { ...(current.body.metadata as Record<string, unknown>), finalizers: ['example.com/hold'] };
    await ok(fx.raw.put(`${labsPath('cs-101')}/${spec.name}`, { ...current.body, metadata }));
    expect(await fx.repo.delete('cs-101', spec.name)).toBe(true);
    expect((await fx.repo.get('cs-101', spec.name))?.deleting).toBe(true);
  });

  it('after the watch drops, changes made by others still reach the cache and the listeners', async () => {
    fx = await startFixture();
    const names: string[] = [];
    fx.repo.watch((e) => names.push(e.name));
    fx.emulator.faults.dropWatches();
    const spec = labSpec('cs-202');
    await fx.seed.otherWriter(spec);
    await expect.poll(() => names, { timeout: 5000 }).toContain(spec.name);
    expect((await fx.repo.get('cs-202', spec.name))?.name).toBe(spec.name);
  });
});
