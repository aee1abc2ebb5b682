import { describe, expect, it } from 'vitest';
import { createMemoryLabRepository, type MemoryLabRepository } from '../../src/adapters/memory/lab-repository.js';
import { makePrincipal } from '../../src/domain/auth/principal.js';
import { LAB_DELETE_KIND } from '../../src/domain/labs/lab.js';
import { createLabService } from '../../src/domain/labs/lab-service.js';
import type { Operation } from '../../src/domain/operations/operation.js';
import type { StartOperationInput } from '../../src/domain/operations/operation-service.js';
import { UpstreamUnavailableError } from '../../src/domain/shared/errors.js';
import type { Tenant } from '../../src/domain/tenants/tenant.js';
import { labSpec } from '../contracts/lab-repository.contract.js';

const TENANT = 'physics';
const NOW = new Date('2026-03-02T10:00:00Z');
const clock = { now: () => NOW };
const admin = makePrincipal({ id: 'admin', platformAdmin: true });

const TENANT_RECORD = {
  id: TENANT,
  displayName: 'Physics',
  profile: 'faculty',
  quota: {
    requestsCpu: 10,
    requestsMemoryGi: 40,
    limitsCpu: 10,
    limitsMemoryGi: 40,
    storageGi: 1000,
    persistentVolumeClaims: 10,
    virtualMachines: 10,
  },
  vmCaps: { maxCpu: 16, maxMemoryGi: 64 },
  phase: 'Active',
  createdAt: NOW.toISOString(),
  version: '1',
} as Tenant;

const SPEC = labSpec(TENANT, { name: 'optics' });

/** A lab service whose job queue runs `onStart` as the operation starts (a worker that is done at once). */
function service(onStart: (input: StartOperationInput, labs: MemoryLabRepository) => Promise<void>) {
  const labs = createMemoryLabRepository({ clock, labs: [{ spec: SPEC }] });
  const labService = createLabService({
    labs,
    vms: { list: async () => [], watch: () => () => undefined },
    tenants: { get: async (id) => (id === TENANT ? TENANT_RECORD : undefined), usage: async () => ({ ...TENANT_RECORD.quota, virtualMachines: 0 }) },
    images: {} as never,
    operations: {
      async start(_p: unknown, input: StartOperationInput): Promise<Operation> {
        await onStart(input, labs);
        return { id: 'op-1', kind: input.kind } as Operation;
      },
    },
    arcAvailable: false,
    clock,
  });
  return { labs, labService };
}

describe('lab delete', () => {
  it('answers the deletion when a worker removed the lab before the operation id was written on it', async () => {
    const s = service(async (input, labs) => {
      if (input.kind === LAB_DELETE_KIND) await labs.delete(TENANT, 'optics');
    });
    const op = await s.labService.delete(admin, TENANT, 'optics');
    expect(op).toMatchObject({ id: 'op-1', kind: LAB_DELETE_KIND });
    expect(await s.labs.get(TENANT, 'optics')).toBeUndefined();
  });

  it('still reports any other failure of that write', async () => {
    const s = service(async (_input, labs) => {
      // The store goes away between the start and the write.
      labs.updateStatus = async () => {
        throw new UpstreamUnavailableError('KUBERNETES_UNAVAILABLE', 'down');
      };
    });
    await expect(s.labService.delete(admin, TENANT, 'optics')).rejects.toMatchObject({ code: 'KUBERNETES_UNAVAILABLE' });
  });
});
