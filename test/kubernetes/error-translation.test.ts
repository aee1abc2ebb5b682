import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createKubeClient } from '../../src/adapters/kubernetes/kube-client.js';
import { loadKubeConfig } from '../../src/adapters/kubernetes/kube-config.js';
import { createKubeTenantRepository } from '../../src/adapters/kubernetes/tenant-repository.js';
import { ConflictError, NotFoundError, QuotaExceededError, UpstreamRejectedError, UpstreamUnavailableError } from '../../src/domain/shared/errors.js';
import { tenantSpec, uniqueId } from '../contracts/tenant-repository.contract.js';
import { REFUSED_PORT } from '../support/refused-port.js';
import { emulatorClient, recordingLogger, startKubeFixture, type KubeFixture } from './support/kube-fixture.js';

let fx: KubeFixture;
beforeEach(async () => {
  fx = await startKubeFixture({ timeoutMs: 1500, throttleRetry: { maxRetries: 3, maxRetryAfterSeconds: 2 } });
});
afterEach(async () => {
  await fx?.close();
});

function client() {
  return createKubeClient({ kubeConfig: loadKubeConfig({ server: fx.emulator.url }), logger: recordingLogger() });
}

const pvc = (name: string, storage = '1Gi') => ({
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: { name },
  spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage } } },
});

describe('Kubernetes answers become domain errors', () => {
  it('404 becomes NotFoundError', async () => {
    const c = client();
    const read = c.request({ what: 'read Namespace nope', write: false, resource: 'tenant', name: 'nope' }, () =>
      c.core.readNamespace({ name: 'nope' }),
    );
    await expect(read).rejects.toBeInstanceOf(NotFoundError);
    await expect(
      c.request({ what: 'read', write: false, resource: 'tenant', name: 'nope' }, () => c.core.readNamespace({ name: 'nope' })),
    ).rejects.toMatchObject({
      code: 'TENANT_NOT_FOUND',
    });
  });

  it('409 AlreadyExists becomes ALREADY_EXISTS and 409 Conflict on a stale resourceVersion becomes VERSION_CONFLICT', async () => {
    const c = client();
    const id = uniqueId();
    const body = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: id } };
    const created = await c.request({ what: 'create', write: true }, () => c.core.createNamespace({ body }));
    await expect(c.request({ what: 'create again', write: true }, () => c.core.createNamespace({ body }))).rejects.toMatchObject({
      code: 'ALREADY_EXISTS',
    });
    await c.request({ what: 'label', write: true }, () =>
      c.core.replaceNamespace({ name: id, body: { ...created, metadata: { ...created.metadata, labels: { a: 'b' } } } }),
    );
    const stale = c.request({ what: 'stale replace', write: true }, () => c.core.replaceNamespace({ name: id, body: created }));
    await expect(stale).rejects.toBeInstanceOf(ConflictError);
    await expect(c.request({ what: 'stale replace', write: true }, () => c.core.replaceNamespace({ name: id, body: created }))).rejects.toMatchObject(
      {
        code: 'VERSION_CONFLICT',
      },
    );
  });

  it('a tenant id the API server refuses surfaces as KUBERNETES_INVALID with the offending fields, and nothing is created', async () => {
    const err: unknown = await fx.repo.create(tenantSpec({ id: 'Not_A_Label' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamRejectedError);
    expect(err).toMatchObject({ code: 'KUBERNETES_INVALID', details: { causes: [expect.objectContaining({ field: 'metadata.name' })] } });
    expect(JSON.stringify((err as UpstreamRejectedError).details)).not.toContain('"kind":"Status"');
    expect(await fx.repo.get('Not_A_Label')).toBeUndefined();
  });

  it('a write beyond the ResourceQuota becomes QUOTA_EXCEEDED with the figures', async () => {
    const s = tenantSpec({ quota: { ...tenantSpec().quota, persistentVolumeClaims: 1 } });
    await fx.repo.create(s);
    const c = client();
    const create = (name: string) =>
      c.request({ what: `create claim ${name}`, write: true }, () =>
        c.core.createNamespacedPersistentVolumeClaim({ namespace: s.id, body: pvc(name) }),
      );
    await create('one');
    const err: unknown = await create('two').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QuotaExceededError);
    expect(err).toMatchObject({
      code: 'QUOTA_EXCEEDED',
      details: {
        quota: 'labplane-quota',
        resources: expect.arrayContaining([{ resource: 'persistentvolumeclaims', requested: '1', used: '1', limited: '1' }]),
      },
    });
  });

  it('a create in a terminating namespace is the tenant being deleted: TENANT_TERMINATING, a conflict', async () => {
    const s = tenantSpec();
    await fx.repo.create(s);
    await fx.raw.delete(`/api/v1/namespaces/${s.id}`);
    const c = client();
    const write = c.request({ what: 'create claim', write: true }, () =>
      c.core.createNamespacedPersistentVolumeClaim({ namespace: s.id, body: pvc('late') }),
    );
    const err: unknown = await write.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect(err).toMatchObject({ code: 'TENANT_TERMINATING' });
  });

  it('other 403s (an RBAC refusal) become KUBERNETES_FORBIDDEN', async () => {
    const s = tenantSpec();
    await fx.repo.create(s);
    fx.emulator.faults.failNext(1, { status: 403, method: 'POST' });
    const c = client();
    const write = c.request({ what: 'create claim', write: true }, () =>
      c.core.createNamespacedPersistentVolumeClaim({ namespace: s.id, body: pvc('denied') }),
    );
    const err: unknown = await write.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamRejectedError);
    expect(err).toMatchObject({ code: 'KUBERNETES_FORBIDDEN' });
  });

  it('429 with a short Retry-After is waited out and retried, so the create succeeds', async () => {
    fx.emulator.faults.failNext(1, { status: 429, retryAfterSeconds: 1, method: 'POST' });
    const posts = fx.emulator.requestCount({ method: 'POST' });
    const started = performance.now();
    const { outcome } = await fx.repo.create(tenantSpec());
    expect(outcome).toBe('created');
    expect(performance.now() - started).toBeGreaterThanOrEqual(950);
    expect(fx.emulator.requestCount({ method: 'POST' })).toBe(posts + 1 + 8);
  });

  it('429 with a Retry-After beyond the cap fails at once as KUBERNETES_THROTTLED carrying the delay', async () => {
    fx.emulator.faults.failNext(1, { status: 429, retryAfterSeconds: 30, method: 'POST' });
    const started = performance.now();
    const err: unknown = await fx.repo.create(tenantSpec()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamUnavailableError);
    expect(err).toMatchObject({ code: 'KUBERNETES_THROTTLED', retryAfterSeconds: 30 });
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('429 that keeps coming is retried a bounded number of times', async () => {
    fx.emulator.faults.failNext(50, { status: 429, retryAfterSeconds: 0, method: 'POST' });
    const posts = fx.emulator.requestCount({ method: 'POST' });
    await expect(fx.repo.create(tenantSpec())).rejects.toMatchObject({ code: 'KUBERNETES_THROTTLED' });
    expect(fx.emulator.requestCount({ method: 'POST' })).toBe(posts + 4);
  });

  it('5xx becomes KUBERNETES_UNAVAILABLE and a write is not blindly repeated', async () => {
    fx.emulator.faults.failNext(1, { status: 500, method: 'POST' });
    const posts = fx.emulator.requestCount({ method: 'POST' });
    const err: unknown = await fx.repo.create(tenantSpec()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamUnavailableError);
    expect(err).toMatchObject({ code: 'KUBERNETES_UNAVAILABLE' });
    expect(fx.emulator.requestCount({ method: 'POST' })).toBe(posts + 1);
    fx.emulator.faults.failNext(1, { status: 503, method: 'GET', pathPrefix: '/version' });
    await expect(fx.repo.ping()).rejects.toMatchObject({ code: 'KUBERNETES_UNAVAILABLE' });
    await expect(fx.repo.ping()).resolves.toBeUndefined();
  });

  it('a request slower than the timeout is abandoned as KUBERNETES_UNAVAILABLE', async () => {
    fx.emulator.faults.latency(8000, { method: 'POST' });
    const started = performance.now();
    const err: unknown = await fx.repo.create(tenantSpec()).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'KUBERNETES_UNAVAILABLE', details: { timeout: true } });
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(1400);
    expect(elapsed).toBeLessThan(5000);
  });

  it('a refused connection becomes KUBERNETES_UNAVAILABLE', async () => {
    const repo = createKubeTenantRepository({ client: emulatorClient(`http://127.0.0.1:${REFUSED_PORT}`) });
    await expect(repo.ping()).rejects.toMatchObject({ code: 'KUBERNETES_UNAVAILABLE' });
    await expect(repo.get('anything')).rejects.toBeInstanceOf(UpstreamUnavailableError);
  });
});
