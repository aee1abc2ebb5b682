import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryOperationStore } from '../../src/adapters/memory/operation-store.js';
import { createKubeVmRepository } from '../../src/adapters/kubernetes/vm-repository.js';
import { startKubeEmulator, type KubeEmulator } from '../../src/adapters/sim/kube-emulator/index.js';
import { newOperationRecord } from '../../src/domain/operations/operation-lifecycle.js';
import { createCloudInitJanitor } from '../../src/jobs/cloud-init-janitor.js';
import { recordingLogger } from '../jobs/helpers.js';
import { emulatorClient, recordingLogger as kubeLogger } from '../kubernetes/support/kube-fixture.js';

const CONTROL = 'labplane-system';
let emulator: KubeEmulator;
let repo: ReturnType<typeof createKubeVmRepository>;

beforeAll(async () => {
  emulator = await startKubeEmulator({ namespaces: [CONTROL] });
  repo = createKubeVmRepository({ client: emulatorClient(emulator.url, kubeLogger()), controlNamespace: CONTROL });
});
afterAll(async () => {
  await repo.close();
  await emulator.close();
});

const staged = () => emulator.store.list('secrets', { namespace: CONTROL }).map((s) => s.metadata.name).sort();

describe('cloud-init janitor', () => {
  it('removes staged cloud-init that no open operation will use once it is older than the bound; keeps younger ones and those an operation still needs', async () => {
    await repo.putCloudInit('t1', 'ghost', '#cloud-config\n# token would be here\n');
    await repo.putCloudInit('t1', 'busy', '#cloud-config\n');
    const operations = createMemoryOperationStore();
    const open = newOperationRecord({ id: 'op-1', kind: 'vm.create', tenant: 't1', target: { type: 'vm', id: 't1/busy', name: 'busy' }, createdBy: 'olga', input: {}, firstStep: 'create' }, new Date());
    await operations.create(open);
    let now = Date.now();
    const logger = recordingLogger();
    const janitor = createCloudInitJanitor({ vms: repo, operations, clock: { now: () => new Date(now) }, logger, maxAgeMs: 60_000, intervalMs: 60_000 });

    await janitor.tick(); // both younger than a minute
    expect(staged()).toEqual(['labplane-cloudinit.t1.busy', 'labplane-cloudinit.t1.ghost']);

    now += 61_000;
    await janitor.tick();
    expect(staged()).toEqual(['labplane-cloudinit.t1.busy']);
    expect(logger.entries.some((e) => e.msg?.startsWith('removed cloud-init staged'))).toBe(true);
    expect(JSON.stringify(logger.entries)).not.toContain('token would be here');

    await operations.mutate('op-1', (op) => ({ ...op, status: 'failed' }));
    await janitor.tick();
    expect(staged()).toEqual([]);
  });
});
