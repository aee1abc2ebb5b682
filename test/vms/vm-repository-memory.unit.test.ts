import { describe, expect, it } from 'vitest';
import { createMemoryVmRepository } from '../../src/adapters/memory/vm-repository.js';
import { UpstreamUnavailableError } from '../../src/domain/shared/errors.js';
import type { VmEvent } from '../../src/domain/vms/vm-repository.js';
import { deriveVmState } from '../../src/domain/vms/vm-state.js';
import { vmRepositoryContract, vmSpec } from '../contracts/vm-repository.contract.js';

const SOURCE = { namespace: 'labplane-images', pvcName: 'golden' };

vmRepositoryContract('in-memory fake', async () => {
  const repo = createMemoryVmRepository({ tenants: ['cs-101', 'cs-202'] });
  return {
    repo,
    tenants: ['cs-101', 'cs-202'],
    source: SOURCE,
    inspect: {
      placedCloudInit: async (tenant, vm) => repo.placedCloudInit(tenant, vm),
      retainedDisks: async (tenant, vm) => repo.retainedDisks(tenant).filter((n) => n === vm).length,
    },
    unavailableNext: () => repo.failNext(new UpstreamUnavailableError('KUBERNETES_UNAVAILABLE', 'down')),
    cleanup: () => repo.close(),
  };
});

describe('in-memory VM fake: seeding, manual lifecycle and fault injection', () => {
  it('seeded VMs are there from the start, settled', async () => {
    const spec = vmSpec('cs-101', SOURCE, { running: true });
    const repo = createMemoryVmRepository({ vms: [spec] });
    const vm = await repo.get('cs-101', spec.name);
    expect(vm === undefined ? undefined : deriveVmState(vm.observation).state).toBe('Running');
  });

  it('in the manual lifecycle nothing happens until the test says so', async () => {
    const repo = createMemoryVmRepository({ lifecycle: 'manual', ids: { next: () => 'uid-1' } });
    const spec = vmSpec('cs-101', SOURCE, { running: true });
    await repo.create(spec);
    const state = async () => deriveVmState((await repo.get('cs-101', spec.name))?.observation ?? { conditions: [] }).state;
    expect(await state()).toBe('Provisioning');
    repo.observe('cs-101', spec.name, {
      observation: { printableStatus: 'ErrorUnschedulable', conditions: [{ type: 'Failure', status: 'True', message: 'quota' }] },
    });
    expect(await state()).toBe('Error');
    repo.settle('cs-101', spec.name);
    expect(await state()).toBe('Running');
    expect((await repo.get('cs-101', spec.name))?.instance?.uid).toBe('uid-1');

    await repo.migrate('cs-101', spec.name, 'm-1');
    expect((await repo.migration('cs-101', 'm-1'))?.phase).toBe('Pending');
    repo.setMigration('cs-101', 'm-1', { phase: 'Running' });
    expect((await repo.get('cs-101', spec.name))?.migration).toEqual({ name: 'm-1', phase: 'Running' });
  });

  it('failNext fails exactly the next call and changes nothing', async () => {
    const repo = createMemoryVmRepository();
    const spec = vmSpec('cs-101', SOURCE);
    repo.failNext(new UpstreamUnavailableError('KUBERNETES_UNAVAILABLE', 'down'));
    await expect(repo.create(spec)).rejects.toMatchObject({ code: 'KUBERNETES_UNAVAILABLE' });
    expect(await repo.get('cs-101', spec.name)).toBeUndefined();
  });

  it('markDeleting keeps the VM readable with deleting set, and tells watchers; power actions are recorded', async () => {
    const spec = vmSpec('cs-101', SOURCE);
    const repo = createMemoryVmRepository({ vms: [spec] });
    const events: VmEvent[] = [];
    repo.watch((e) => events.push(e));
    repo.markDeleting('cs-101', spec.name);
    expect((await repo.get('cs-101', spec.name))?.deleting).toBe(true);
    expect(events.map((e) => [e.type, e.vm?.deleting])).toEqual([['changed', true]]);
    await repo.act('cs-101', spec.name, 'start');
    expect(repo.actions).toEqual([{ tenant: 'cs-101', name: spec.name, action: 'start' }]);
  });

  it('a listener that throws neither fails the write nor stops other listeners; records handed out are copies', async () => {
    const repo = createMemoryVmRepository();
    const heard: string[] = [];
    repo.watch(() => {
      throw new Error('boom');
    });
    repo.watch((e) => heard.push(e.name));
    const spec = vmSpec('cs-101', SOURCE);
    const created = await repo.create(spec);
    expect(heard).toContain(spec.name);
    (created.labels as Record<string, string>)['team'] = 'blue';
    expect((await repo.get('cs-101', spec.name))?.labels).toEqual({ team: 'red' });
  });
});
