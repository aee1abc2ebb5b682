import { describe, expect, it } from 'vitest';
import { createSimAzure, type SimAzure, type SimAzureOptions } from '../../src/adapters/sim/azure/index.js';
import { AAD_SSH_LOGIN_EXTENSION, arcResourceId } from '../../src/domain/identity/arc-machine.js';
import { UpstreamUnavailableError } from '../../src/domain/shared/errors.js';
import { accessContract } from '../contracts/access.contract.js';
import { arcMachinesContract } from '../contracts/arc-machines.contract.js';
import { onboardingCredentialsContract } from '../contracts/onboarding-credentials.contract.js';
import { manualScheduler } from '../support/manual-scheduler.js';
import { manualClock, type ManualClock } from './support/manual-clock.js';

function simFixture(options: SimAzureOptions = {}): { sim: SimAzure; clock: ManualClock } {
  const clock = manualClock();
  return { sim: createSimAzure({ clock, extensionInstallMs: 3_000, ...options }), clock };
}

arcMachinesContract('simulated Azure', async () => {
  const { sim, clock } = simFixture();
  return {
    port: sim.arcMachines(),
    freshPort: () => sim.arcMachines(),
    seedMachine: (name, status, tags) => sim.seedMachine(name, { status, ...(tags === undefined ? {} : { tags }) }),
    failNextExtension: (machine, code, message) => sim.failNextExtension(machine, `${code}: ${message}`),
    tick: () => clock.advance(1_000),
    extensionPuts: () => sim.stats().extensionPuts,
    reads: () => sim.stats().reads,
    resourceIdOf: (name) => arcResourceId(sim.settings.subscriptionId, sim.settings.resourceGroup, name),
    cleanup: async () => undefined,
  };
});

accessContract('simulated Azure', async () => {
  const { sim } = simFixture();
  return {
    port: sim.access(),
    subscriptionId: sim.settings.subscriptionId,
    machineScope: (name) => arcResourceId(sim.settings.subscriptionId, sim.settings.resourceGroup, name),
    seedAssignment: (a) => void sim.seedRoleAssignment(a),
    setAssignmentLimit: (n) => sim.setRoleAssignmentLimit(n),
    cleanup: async () => undefined,
  };
});

onboardingCredentialsContract('simulated Azure', async () => {
  const { sim, clock } = simFixture();
  return { credentials: sim.onboardingCredentials(), now: () => clock.ms, cleanup: async () => undefined };
});

describe('simulated Azure: onboarding timeline and knobs', () => {
  const TAGS = { 'labplane-tenant': 'os-2025', 'labplane-vm-id': '9b1f0d1e-3f57-4c1a-9a43-0c9b1c3f2e11' };

  it('after onboarding starts, the machine appears Disconnected, then reports Connected', async () => {
    const { sim, clock } = simFixture({ appearAfterMs: 2_000, connectAfterMs: 5_000 });
    const arc = sim.arcMachines();
    sim.simulateOnboarding('vm-1', TAGS);
    expect(await arc.getMachine('vm-1')).toBeUndefined();
    clock.advance(2_000);
    expect(await arc.getMachine('vm-1')).toMatchObject({ status: 'Disconnected', tags: TAGS });
    clock.advance(3_000);
    expect(await arc.getMachine('vm-1')).toMatchObject({ status: 'Connected', lastStatusChange: new Date(clock.ms).toISOString() });
  });

  it('a VM planned to never connect never appears; one planned to fail appears with status Error', async () => {
    const { sim, clock } = simFixture();
    sim.planOnboarding('vm-silent', 'never-connect');
    sim.planOnboarding('vm-broken', 'fail');
    sim.simulateOnboarding('vm-silent', TAGS);
    sim.simulateOnboarding('vm-broken', TAGS);
    clock.advance(60 * 60_000);
    const arc = sim.arcMachines();
    expect(await arc.getMachine('vm-silent')).toBeUndefined();
    expect((await arc.getMachine('vm-broken'))?.status).toBe('Error');
    expect((await arc.listMachines()).map((m) => m.name)).toEqual(['vm-broken']);
  });

  it('onboarding with a token this subscription did not mint, or an expired one, never connects', async () => {
    const { sim, clock } = simFixture({ tokenLifetimeMs: 60_000 });
    const good = await sim.onboardingCredentials().mintAccessToken();
    const stale = await sim.onboardingCredentials().mintAccessToken();
    sim.simulateOnboarding('vm-good', TAGS, { accessToken: good.token });
    sim.simulateOnboarding('vm-forged', TAGS, { accessToken: 'eyJforged' });
    clock.advance(61_000);
    sim.simulateOnboarding('vm-late', TAGS, { accessToken: stale.token });
    clock.advance(60_000);
    expect((await sim.arcMachines().listMachines()).map((m) => m.name)).toEqual(['vm-good']);
    expect(good.expiresOn.getTime() - Date.parse('2025-03-01T08:00:00Z')).toBe(60_000);
  });

  it('disconnect and reconnect change the reported status at once', async () => {
    const { sim } = simFixture();
    sim.seedMachine('vm-1');
    const arc = sim.arcMachines();
    sim.disconnect('vm-1');
    expect((await arc.getMachine('vm-1'))?.status).toBe('Disconnected');
    sim.reconnect('vm-1');
    expect((await arc.getMachine('vm-1'))?.status).toBe('Connected');
  });

  it('an extension install on a machine that is not connected ends Failed', async () => {
    const { sim, clock } = simFixture();
    sim.seedMachine('vm-1', { status: 'Disconnected' });
    const arc = sim.arcMachines();
    const state = await arc.beginInstallExtension('vm-1', AAD_SSH_LOGIN_EXTENSION);
    clock.advance(3_000);
    expect(await arc.pollExtension('vm-1', AAD_SSH_LOGIN_EXTENSION.name, state)).toMatchObject({
      status: 'Failed',
      error: expect.stringContaining('MachineNotConnected'),
    });
  });

  it('deleting a machine takes the role assignments on its scope with it', async () => {
    const { sim } = simFixture();
    sim.seedMachine('vm-1');
    const scope = arcResourceId(sim.settings.subscriptionId, sim.settings.resourceGroup, 'vm-1');
    await sim.access().grant({ scope, role: 'user', principalId: 'p-1', principalType: 'User' });
    await sim.arcMachines().deleteMachine('vm-1');
    expect(await sim.access().list(scope)).toEqual([]);
  });

  it('a principal the directory does not know yet is a retryable AZURE_PRINCIPAL_NOT_FOUND', async () => {
    const { sim } = simFixture();
    sim.unknownPrincipal('p-new');
    const scope = arcResourceId(sim.settings.subscriptionId, sim.settings.resourceGroup, 'vm-1');
    await expect(sim.access().grant({ scope, role: 'user', principalId: 'p-new', principalType: 'User' })).rejects.toMatchObject({
      code: 'AZURE_PRINCIPAL_NOT_FOUND',
      retryAfterSeconds: 30,
    });
    sim.unknownPrincipal('p-new', false);
    await expect(sim.access().grant({ scope, role: 'user', principalId: 'p-new', principalType: 'User' })).resolves.toMatchObject({ role: 'user' });
  });

  it('with ARM throttling on, calls over the bucket fail with AZURE_THROTTLED and are counted', async () => {
    const { sim, clock } = simFixture({ throttling: { reads: { ratePerSecond: 2, burst: 3 } } });
    const arc = sim.arcMachines();
    for (let i = 0; i < 3; i += 1) await arc.listMachines();
    const err = await arc.listMachines().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamUnavailableError);
    expect(err).toMatchObject({ code: 'AZURE_THROTTLED', retryAfterSeconds: 1 });
    clock.advance(500);
    await expect(arc.listMachines()).resolves.toEqual([]);
    expect(sim.stats()).toMatchObject({ reads: 4, throttled: 1 });
  });

  it("with a client budget, a burst waits its turn instead of meeting ARM's throttling", async () => {
    // On the scheduler's time: real timers on a loaded machine can wake several waiting callers
    // together, which is a burst a reservation limiter rightly lets through (and ARM would throttle).
    const scheduler = manualScheduler();
    const sim = createSimAzure({
      scheduler,
      throttling: { reads: { ratePerSecond: 50, burst: 2 } },
      clientBudget: { reads: { ratePerSecond: 40, burst: 2 } },
    });
    const arc = sim.arcMachines();
    const started = scheduler.ms;
    let finished = 0;
    const calls = Array.from({ length: 6 }, () => arc.listMachines().then(() => (finished += 1)));
    for (let i = 0; i < 20 && finished < 6; i += 1) await scheduler.advanceAsync(25);
    await Promise.all(calls);
    // Two at once (the burst), then one every 25 ms: the last goes 100 ms (plus the margin) after the first.
    expect(scheduler.ms - started).toBeGreaterThanOrEqual(100);
    expect(sim.stats()).toMatchObject({ reads: 6, throttled: 0 });
  });

  it('failNext fails exactly the next call and changes nothing', async () => {
    const { sim } = simFixture();
    const arc = sim.arcMachines();
    sim.failNext(new UpstreamUnavailableError('AZURE_UNAVAILABLE', 'down'));
    await expect(arc.deleteMachine('vm-1')).rejects.toMatchObject({ code: 'AZURE_UNAVAILABLE' });
    sim.seedMachine('vm-1');
    await arc.deleteMachine('vm-1');
    expect(await arc.getMachine('vm-1')).toBeUndefined();
  });

  it('latency delays every call', async () => {
    const time = manualScheduler();
    const sim = createSimAzure({ latencyMs: 30, scheduler: time });
    let answered = false;
    const call = sim
      .arcMachines()
      .listMachines()
      .then(() => (answered = true));
    await time.advanceAsync(29);
    expect(answered).toBe(false);
    await time.advanceAsync(1);
    await call;
    expect(answered).toBe(true);
  });
});
