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
    job,
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
    // One write per phase (connecting, installing, ready), none per re-check or per field.
    expect(t.states.map((s) => [s.arcStatus, s.extensionState, s.ready])).toEqual([
      ['Pending', 'NotStarted', false],
      ['Connected', 'InProgress', false],
      ['Connected', 'Succeeded', true],
    ]);
  });

  it('writes nothing while it waits for the machine after the first look, and nothing when it is connected at once', async () => {
    const waiting = setup();
    expect(await waiting.run('wait-connected')).toMatchObject({ type: 'recheck' });
    expect(waiting.states).toHaveLength(1);
    // The engine records the re-check's wait on the cursor; the later looks change nothing on the VM.
    const cursor = { ...waiting.record.cursor, wait: { since: waiting.clock.now().toISOString(), rechecks: 1, percent: 10 } };
    const again = { ...waiting.record, cursor } as OperationRecord;
    waiting.sim.seedMachine('t1.vm1', { status: 'Disconnected' });
    expect(
      await waiting.job.steps['wait-connected']!({
        operation: again,
        step: 'wait-connected',
        attempt: 1,
        signal: new AbortController().signal,
        report: async () => undefined,
      }),
    ).toMatchObject({ type: 'recheck' });
    expect(waiting.states).toHaveLength(1);

    const connected = setup();
    connected.sim.seedMachine('t1.vm1');
    expect(await connected.run('wait-connected')).toMatchObject({ type: 'next', step: 'scrub-token' });
    expect(connected.states).toHaveLength(0);
  });

  it('grants a member owner user login only', async () => {
    const t = setup({ owners: [] });
    t.sim.seedMachine('t1.vm1');
    expect(await t.run('grant-access')).toMatchObject({ type: 'done', result: { ownerRole: 'user' } });
    const [a] = await t.sim.access().list(t.states.at(-1)!.machineResourceId);
    expect(a).toMatchObject({ principalId: 'olga', role: 'user', principalType: 'User' });
  });
});
