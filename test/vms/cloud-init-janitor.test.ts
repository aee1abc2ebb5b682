import { describe, expect, it } from 'vitest';
import { createMemoryOperationStore } from '../../src/adapters/memory/operation-store.js';
import { createMemoryVmRepository } from '../../src/adapters/memory/vm-repository.js';
import { newOperationRecord } from '../../src/domain/operations/operation-lifecycle.js';
import { createCloudInitJanitor } from '../../src/jobs/cloud-init-janitor.js';
import { recordingLogger } from '../jobs/helpers.js';

// The memory fake keeps staged cloud-init like the Kubernetes adapter (test/contracts/vm-repository.contract.ts
// checks both), so the janitor is tested without an API server, on the same clock as the repository.

describe('cloud-init janitor', () => {
  it('removes staged cloud-init that no open operation will use once it is older than the bound; keeps younger ones and those an operation still needs', async () => {
    let now = Date.now();
    const clock = { now: () => new Date(now) };
    const repo = createMemoryVmRepository({ clock });
    const staged = async () => (await repo.listStagedCloudInit()).map((s) => `${s.tenant}/${s.name}`).sort();
    await repo.putCloudInit('t1', 'ghost', '#cloud-config\n# token would be here\n');
    await repo.putCloudInit('t1', 'busy', '#cloud-config\n');
    const operations = createMemoryOperationStore();
    const open = newOperationRecord(
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
    );
    await operations.create(open);
    const logger = recordingLogger();
    const janitor = createCloudInitJanitor({ vms: repo, operations, clock, logger, maxAgeMs: 60_000, intervalMs: 60_000 });

    await janitor.tick(); // both younger than a minute
    expect(await staged()).toEqual(['t1/busy', 't1/ghost']);

    now += 61_000;
    await janitor.tick();
    expect(await staged()).toEqual(['t1/busy']);
    expect(logger.entries.some((e) => e.msg?.startsWith('removed cloud-init staged'))).toBe(true);
    expect(JSON.stringify(logger.entries)).not.toContain('token would be here');

    await operations.mutate('op-1', (op) => ({ ...op, status: 'failed' }));
    await janitor.tick();
    expect(await staged()).toEqual([]);
  });
});
