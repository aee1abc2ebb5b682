import { describe, expect, it } from 'vitest';
import { createMemoryLabRepository } from '../../src/adapters/memory/lab-repository.js';
import type { LabEvent } from '../../src/domain/labs/lab-repository.js';
import { UpstreamUnavailableError } from '../../src/domain/shared/errors.js';
import { labRepositoryContract, labSpec } from '../contracts/lab-repository.contract.js';

labRepositoryContract('in-memory fake', async () => {
  const repo = createMemoryLabRepository();
  return {
    repo,
    tenants: ['cs-101', 'cs-202'],
    seed: { otherWriter: async (spec) => void repo.seed({ spec }) },
    cleanup: () => repo.close(),
  };
});

describe('in-memory fake: seeding and fault injection', () => {
  it('labs seeded with a status are there from the start', async () => {
    const spec = labSpec('cs-101');
    const repo = createMemoryLabRepository({ labs: [{ spec, status: { failures: {}, lastOperationId: 'op-1' } }] });
    expect(await repo.get('cs-101', spec.name)).toMatchObject({ name: spec.name, generation: 1, status: { lastOperationId: 'op-1' } });
  });

  it('failNext fails exactly the next call and changes nothing', async () => {
    const repo = createMemoryLabRepository();
    const spec = labSpec('cs-101');
    repo.failNext(new UpstreamUnavailableError('KUBERNETES_UNAVAILABLE', 'down'));
    await expect(repo.create(spec)).rejects.toMatchObject({ code: 'KUBERNETES_UNAVAILABLE' });
    expect(await repo.get('cs-101', spec.name)).toBeUndefined();
    expect((await repo.create(spec)).name).toBe(spec.name);
  });

  it('markDeleting keeps the lab readable with deleting set, and tells watchers', async () => {
    const spec = labSpec('cs-101');
    const repo = createMemoryLabRepository({ labs: [{ spec }] });
    const events: LabEvent[] = [];
    repo.watch((e) => events.push(e));
    repo.markDeleting('cs-101', spec.name);
    expect((await repo.get('cs-101', spec.name))?.deleting).toBe(true);
    expect(events.map((e) => [e.type, e.lab.deleting])).toEqual([['changed', true]]);
  });

  it('records handed out are copies: changing one does not change the stored lab', async () => {
    const repo = createMemoryLabRepository();
    const spec = labSpec('cs-101');
    const created = await repo.create(spec);
    (created.students as unknown as unknown[]).push({ id: 'x' });
    expect((await repo.get('cs-101', spec.name))?.students).toHaveLength(spec.students.length);
  });

  it('a listener that throws neither fails the write nor stops other listeners', async () => {
    const repo = createMemoryLabRepository();
    const heard: string[] = [];
    repo.watch(() => {
      throw new Error('boom');
    });
    repo.watch((e) => heard.push(e.name));
    const spec = labSpec('cs-101');
    await repo.create(spec);
    expect(heard).toEqual([spec.name]);
  });
});
