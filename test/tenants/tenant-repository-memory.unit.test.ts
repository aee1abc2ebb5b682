import { describe, expect, it } from 'vitest';
import { createMemoryTenantRepository } from '../../src/adapters/memory/tenant-repository.js';
import { UpstreamUnavailableError } from '../../src/domain/shared/errors.js';
import { tenantRepositoryContract, tenantSpec } from '../contracts/tenant-repository.contract.js';

tenantRepositoryContract('in-memory fake', async () => {
  const repo = createMemoryTenantRepository();
  return {
    repo,
    seed: {
      foreignNamespace: async (id) => repo.seedForeignNamespace(id),
      halfCreated: async (spec) => repo.seedHalfCreated(spec),
      volumeClaims: async (id, claims, storageGi) => repo.setUsage(id, { persistentVolumeClaims: claims, storageGi: claims * storageGi }),
      virtualMachines: async (id, count) => repo.setUsage(id, { virtualMachines: count }),
    },
    cleanup: () => repo.close(),
  };
});

describe('in-memory fake: seeding and fault injection', () => {
  it('seeded tenants are there from the start', async () => {
    const spec = tenantSpec();
    const repo = createMemoryTenantRepository({ tenants: [spec] });
    expect(await repo.get(spec.id)).toMatchObject({ id: spec.id, phase: 'Active' });
  });

  it('failNext fails exactly the next call and changes nothing', async () => {
    const repo = createMemoryTenantRepository();
    const spec = tenantSpec();
    repo.failNext(new UpstreamUnavailableError('KUBERNETES_UNAVAILABLE', 'down'));
    await expect(repo.create(spec)).rejects.toMatchObject({ code: 'KUBERNETES_UNAVAILABLE' });
    expect(await repo.get(spec.id)).toBeUndefined();
    expect((await repo.create(spec)).outcome).toBe('created');
  });

  it('latency delays every call', async () => {
    const repo = createMemoryTenantRepository();
    repo.latency(30);
    const started = performance.now();
    await repo.list();
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
  });
});
