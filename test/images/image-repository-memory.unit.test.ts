import { describe, expect, it } from 'vitest';
import { createMemoryImageRepository } from '../../src/adapters/memory/image-repository.js';
import { createMemoryVmRepository } from '../../src/adapters/memory/vm-repository.js';
import { PLATFORM, type ImageOwner } from '../../src/domain/images/image.js';
import { UpstreamUnavailableError } from '../../src/domain/shared/errors.js';
import { imageRepositoryContract, imageSpec } from '../contracts/image-repository.contract.js';
import { vmSpec } from '../contracts/vm-repository.contract.js';

const TENANTS = ['cs-101', 'cs-202'] as const;
const mine: ImageOwner = { scope: 'tenant', tenant: 'cs-101' };

const SOURCE = { namespace: 'labplane-images', pvcName: 'ubuntu' };

imageRepositoryContract('in-memory fake', async () => {
  const vms = createMemoryVmRepository();
  const repo = createMemoryImageRepository({ tenants: TENANTS, vms });
  return {
    repo,
    tenants: TENANTS,
    vmBuiltFrom: async (tenant, name, image) => void (await vms.create(vmSpec(tenant, SOURCE, { name, image }))),
    unavailableNext: () => repo.failNext(new UpstreamUnavailableError('KUBERNETES_UNAVAILABLE', 'down')),
    cleanup: () => repo.close(),
  };
});

describe('in-memory image fake: lifecycle, seeding, usage and fault injection', () => {
  it('an import succeeds at once by default: the create answers Importing, the next read Ready', async () => {
    const repo = createMemoryImageRepository();
    const s = imageSpec(mine);
    expect((await repo.create(s)).phase).toBe('Importing');
    expect(await repo.get(mine, s.name)).toMatchObject({ phase: 'Ready', progress: 100 });
  });

  it('in the manual lifecycle an import moves only when the test says so', async () => {
    const repo = createMemoryImageRepository({ lifecycle: 'manual' });
    const s = imageSpec(mine);
    await repo.create(s);
    expect(await repo.get(mine, s.name)).toMatchObject({ phase: 'Importing', progress: 0 });
    repo.setImport(mine, s.name, { phase: 'Importing', progress: 40, importRestarts: 1 });
    expect(await repo.get(mine, s.name)).toMatchObject({ phase: 'Importing', progress: 40, importRestarts: 1 });
    repo.setImport(mine, s.name, { phase: 'Failed', failureReason: 'HTTP 404' });
    expect(await repo.get(mine, s.name)).toMatchObject({ phase: 'Failed', progress: 40, failureReason: 'HTTP 404', importRestarts: 1 });
  });

  it('seeded images are there from the start, Ready unless said otherwise', async () => {
    const ready = imageSpec(PLATFORM);
    const failing = imageSpec(PLATFORM);
    const repo = createMemoryImageRepository({ images: [{ spec: ready }, { spec: failing, import: { phase: 'Failed', failureReason: 'gone' } }] });
    expect(await repo.get(PLATFORM, ready.name)).toMatchObject({ phase: 'Ready', progress: 100 });
    expect(await repo.get(PLATFORM, failing.name)).toMatchObject({ phase: 'Failed', failureReason: 'gone' });
  });

  it('without a VM repository no VM uses any image', async () => {
    expect(await createMemoryImageRepository().vmsUsing(PLATFORM, 'ubuntu')).toBe(0);
  });

  it('a tenant added later may hold images', async () => {
    const repo = createMemoryImageRepository({ tenants: [] });
    await expect(repo.create(imageSpec(mine))).rejects.toMatchObject({ code: 'TENANT_NOT_FOUND' });
    repo.addTenant('cs-101');
    expect((await repo.create(imageSpec(mine))).tenant).toBe('cs-101');
  });
});
