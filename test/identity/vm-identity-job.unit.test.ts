import { describe, expect, it } from 'vitest';
import { createSimAzure } from '../../src/adapters/sim/azure/index.js';
import type { OperationRecord } from '../../src/domain/operations/operation.js';
import type { VmIdentityState } from '../../src/domain/vms/vm.js';
import type { StepOutcome } from '../../src/jobs/job-kind.js';
import { vmIdentityJob } from '../../src/jobs/kinds/vm-identity.js';
import { manualClock } from '../azure/support/manual-clock.js';

/** `vm.identity` step by step over the simulated Azure: timeout, resume without a second PUT, owner role. */
function setup(options: { connectTimeoutMs?: number; owners?: string[] } = {}) {
  const clock = manualClock(Date.now());
  const sim = createSimAzure({ appearAfterMs: 0, connectAfterMs: 0, extensionInstallMs: 50, clock });
  const states: VmIdentityState[] = [];
  let record = {
    id: 'op-1',
    kind: 'vm.identity',
    status: 'running',
    createdAt: clock.now().toISOString(),
    startedAt: clock.now().toISOString(),
    createdBy: 'olga',
    target: { type: 'vm', id: 't1/vm1', name: 'vm1' },
    input: { tenant: 't1', name: 'vm1', ownerId: 'olga' },
    cursor: { step: 'wait-connected' },
  } as unknown as OperationRecord;
  let scrubbed = 0;
  const job = vmIdentityJob({
    repo: {
      get: async () => undefined,
      scrubCloudInit: async () => {
        scrubbed += 1;
        return true;
      },
      setIdentity: async (_t, _n, s) => void states.push(s),
    },
    tenants: {
      listMembers: async () => (options.owners ?? []).map((principalId) => ({ principalId, principalType: 'User' as const, role: 'owner' as const })),
    },
    arcMachines: sim.arcMachines(),
    access: sim.access(),
    settings: sim.settings,
    store: {
      mutate: async (_id, change) => {
        const next = change(record);
        if (next !== undefined) record = next;
        return undefined;
      },
    },
    recheckMs: 10,
    clock,
    ...(options.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: options.connectTimeoutMs }),
  });
  const run = (step: string): Promise<StepOutcome> =>
    job.steps[step]!({ operation: record, step, attempt: 1, signal: new AbortController().signal, report: async () => undefined });
  return {
    sim,
    clock,
    states,
    run,
    get record() {
      return record;
    },
    get scrubbed() {
      return scrubbed;
    },
  };
}

describe('vm.identity', () => {
  it('fails clearly when the machine never connects within the timeout', async () => {
    const t = setup({ connectTimeoutMs: 1 });
    t.clock.advance(2);
    await expect(t.run('wait-connected')).rejects.toMatchObject({ code: 'ARC_NOT_CONNECTED' });
    expect(t.states.at(-1)).toMatchObject({ arcStatus: 'Pending', ready: false });
  });

  it('re-checks until connected, scrubs, installs once (a re-run resumes polling without a second PUT), grants the owner administrator', async () => {
    const t = setup({ owners: ['olga'] });
    expect(await t.run('wait-connected')).toMatchObject({ type: 'recheck' });
    t.sim.simulateOnboarding('t1.vm1', {});
    expect(await t.run('wait-connected')).toEqual({ type: 'next', step: 'scrub-token', progress: 40 });
    await t.run('scrub-token');
    expect(t.scrubbed).toBe(1);
    expect(await t.run('install-extension')).toMatchObject({ type: 'recheck' });
    expect(typeof t.record.input['extensionResumeState']).toBe('string');
    // A crashed worker runs the step again: it polls the stored operation, no second PUT.
    expect(await t.run('install-extension')).toMatchObject({ type: 'recheck' });
    t.clock.advance(50);
    const outcome = await t.run('install-extension');
    expect(outcome).toMatchObject({ type: 'next', step: 'grant-access' });
    expect(t.sim.stats().extensionPuts).toBe(1);
    expect(await t.run('grant-access')).toMatchObject({ type: 'done', result: { ownerRole: 'administrator' } });
    expect(t.states.at(-1)).toMatchObject({ arcStatus: 'Connected', extensionState: 'Succeeded', ready: true });
  });

  it('grants a member owner user login only', async () => {
    const t = setup({ owners: [] });
    t.sim.seedMachine('t1.vm1');
    expect(await t.run('grant-access')).toMatchObject({ type: 'done', result: { ownerRole: 'user' } });
    const [a] = await t.sim.access().list(t.states.at(-1)!.machineResourceId);
    expect(a).toMatchObject({ principalId: 'olga', role: 'user', principalType: 'User' });
  });
});
