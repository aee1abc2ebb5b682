import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryOperationStore } from '../../src/adapters/memory/operation-store.js';
import { createSimAzure } from '../../src/adapters/sim/azure/index.js';
import { ARC_TAG_CLUSTER, ARC_TAG_TENANT, ARC_TAG_VM_ID, arcMachineName } from '../../src/domain/identity/arc-machine.js';
import { newOperationRecord } from '../../src/domain/operations/operation-lifecycle.js';
import { createArcMachineJanitor } from '../../src/jobs/arc-machine-janitor.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { recordingLogger } from '../jobs/helpers.js';
import { emulatorOf, restClient, VM, vmBody } from '../vms/support.js';

const VM_ID = '0b7d6a52-6f3e-4b8e-9a51-3c1f9e2a4d10';

describe('Arc machine janitor', () => {
  it('removes, on its second pass, only machines of this installation that are not connected, whose VM is gone and that no open operation is about', async () => {
    const sim = createSimAzure();
    const machines = sim.arcMachines();
    const tags = (tenant: string, cluster?: string) => ({
      [ARC_TAG_TENANT]: tenant,
      [ARC_TAG_VM_ID]: VM_ID,
      ...(cluster === undefined ? {} : { [ARC_TAG_CLUSTER]: cluster }),
    });
    const seed = (name: string, t: Record<string, string>, status: 'Connected' | 'Disconnected' = 'Disconnected') =>
      sim.seedMachine(name, { status, tags: t });
    seed('gone', tags('t1', 'aks-1'));
    seed('alive', tags('t1', 'aks-1'));
    seed('busy', tags('t1', 'aks-1'));
    seed('other-install', tags('t1', 'aks-2'));
    seed('untagged', tags('t1'));
    seed('connected', tags('t1', 'aks-1'), 'Connected');
    const operations = createMemoryOperationStore();
    await operations.create(
      newOperationRecord(
        {
          id: 'op-1',
          kind: 'vm.create',
          tenant: 't1',
          target: { type: 'vm', id: 't1/busy', name: 'busy' },
          createdBy: 'olga',
          input: {},
          firstStep: 'create',
        },
        new Date(),
      ),
    );
    const logger = recordingLogger();
    const janitor = createArcMachineJanitor({
      arcMachines: machines,
      vms: { get: async (_t, name) => (name === 'alive' ? ({ name } as never) : undefined) },
      operations,
      cluster: 'aks-1',
      logger,
      intervalMs: 60_000,
    });
    const names = async () => (await machines.listMachines()).map((m) => m.name).sort();
    const all = ['alive', 'busy', 'connected', 'gone', 'other-install', 'untagged'];

    await janitor.tick();
    expect(await names()).toEqual(all); // seen once: maybe a VM being created right now
    await janitor.tick();
    expect(await names()).toEqual(all.filter((n) => n !== 'gone'));
    expect(logger.entries.filter((e) => e.msg?.startsWith('removed an Azure Arc machine'))).toHaveLength(1);

    await operations.mutate('op-1', (op) => ({ ...op, status: 'failed' }));
    await janitor.tick();
    expect(await names()).toEqual(all.filter((n) => n !== 'gone')); // its first pass without the operation
    await janitor.tick();
    expect(await names()).toEqual(['alive', 'connected', 'other-install', 'untagged']);
  });

  describe('on the embedded stack', { timeout: 60_000 }, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp({ JANITOR_INTERVAL_MS: '1000' });
    });
    afterAll(async () => t.close());

    it('a VM deleted outside the API (kubectl delete vm) loses its Arc machine and the role assignments on it', async () => {
      const rest = restClient(t);
      const admin = await t.bearer({ sub: 'root', roles: ['platform-admin'] });
      const tenant = await rest.createTenant(admin);
      const op = await rest.createVm(admin, tenant, vmBody('stray', { arc: true }));
      expect(op['status']).toBe('succeeded');
      const arc = t.deps.identity.arcMachines;
      // vm.create chains vm.identity: the machine connects, then the owner's access is granted.
      await expect
        .poll(async () => (await arc.getMachine(arcMachineName(tenant, 'stray')))?.tags, { timeout: 20_000, interval: 200 })
        .toMatchObject({ [ARC_TAG_TENANT]: tenant, [ARC_TAG_CLUSTER]: 'embedded' });
      const scope = (await arc.getMachine(arcMachineName(tenant, 'stray')))?.resourceId ?? '';
      await expect.poll(async () => (await t.deps.identity.access.list(scope)).length, { timeout: 20_000, interval: 200 }).toBeGreaterThan(0);

      emulatorOf(t).store.delete(VM, tenant, 'stray');
      await expect.poll(async () => arc.getMachine(arcMachineName(tenant, 'stray')), { timeout: 20_000, interval: 200 }).toBeUndefined();
      expect(await t.deps.identity.access.list(scope)).toEqual([]);
    });
  });
});
