import { afterEach, describe, expect, it, vi } from 'vitest';
import { createMemoryLabRepository, type MemoryLabRepository } from '../../src/adapters/memory/lab-repository.js';
import type { LabRecord, LabSpec, LabStoredStatus } from '../../src/domain/labs/lab.js';
import type { LabRepository } from '../../src/domain/labs/lab-repository.js';
import { UpstreamUnavailableError } from '../../src/domain/shared/errors.js';
import type { Clock } from '../../src/domain/shared/ids.js';
import type { Logger } from '../../src/domain/shared/logger.js';
import { createLabScheduler, type DueScheduleAction, type LabScheduler } from '../../src/jobs/lab-scheduler.js';

const INTERVAL = 30_000;
const CLAIM_TIMEOUT = 120_000;
const STUDENT_EMAIL = 'ada@uni.example';
const SSH_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBreakGlass';

function spec(overrides: Partial<LabSpec> = {}): LabSpec {
  return {
    tenant: 'physics',
    name: 'optics',
    template: {
      image: { scope: 'platform', name: 'ubuntu-24' },
      cpu: 2,
      memoryGi: 4,
      diskGi: 20,
      storageClass: 'kv-standard',
      arc: false,
      studentRole: 'user',
      sshPublicKeys: [SSH_KEY],
    },
    instructors: [],
    students: [{ id: '7d0c3a52-5c1e-4b8e-9f7a-1a2b3c4d5e6f', email: STUDENT_EMAIL }],
    // Europe/Berlin in May is UTC+2: 08:00 is 06:00Z, 18:00 is 16:00Z.
    schedules: [{ name: 'class', days: ['mon', 'tue', 'wed', 'thu', 'fri'], startTime: '08:00', stopTime: '18:00', timeZone: 'Europe/Berlin' }],
    dropGracePeriodHours: 72,
    endGracePeriodDays: 14,
    ...overrides,
  };
}

function manualClock(iso: string): Clock & { set(iso: string): void; advance(ms: number): void } {
  let t = Date.parse(iso);
  return { now: () => new Date(t), set: (s) => void (t = Date.parse(s)), advance: (ms) => void (t += ms) };
}

/** A stand-in for starting power/end/delete operations: records each call, fails when told to. */
function fakeApply(failWhen: (lab: LabRecord) => boolean = () => false) {
  const calls: (DueScheduleAction & { lab: string })[] = [];
  let failures = 0;
  const apply = async (lab: LabRecord, event: DueScheduleAction) => {
    calls.push({ lab: lab.name, action: event.action, dueAt: event.dueAt });
    if (failures > 0 || failWhen(lab)) {
      failures = Math.max(0, failures - 1);
      throw new UpstreamUnavailableError('KUBERNETES_UNAVAILABLE', 'The cluster did not answer.');
    }
    return { operationId: `op-${calls.length}` };
  };
  return { apply, calls, failNext: () => void (failures += 1) };
}

function fakeLogger(): Logger & { entries: { level: string; obj: object; msg?: string }[] } {
  const entries: { level: string; obj: object; msg?: string }[] = [];
  const at = (level: string) => (obj: object, msg?: string) => void entries.push({ level, obj, ...(msg === undefined ? {} : { msg }) });
  return { entries, info: at('info'), warn: at('warn'), error: at('error') };
}

function setup(start: string, labs: readonly { spec: LabSpec; status?: LabStoredStatus }[] = [{ spec: spec() }]) {
  const repo = createMemoryLabRepository({ labs });
  const clock = manualClock(start);
  const fake = fakeApply();
  const logger = fakeLogger();
  const scheduler = (apply = fake.apply, store: Pick<LabRepository, 'list' | 'updateStatus'> = repo, claimant?: string): LabScheduler =>
    createLabScheduler({
      labs: store,
      apply,
      clock,
      logger,
      intervalMs: INTERVAL,
      claimTimeoutMs: CLAIM_TIMEOUT,
      ...(claimant === undefined ? {} : { claimant }),
    });
  return { repo, clock, fake, logger, scheduler };
}

/** `repo` for two schedulers whose `list` calls both return before either goes on (each sees the same labs). */
function readingTogether(repo: MemoryLabRepository): Pick<LabRepository, 'list' | 'updateStatus'> {
  let waiting: (() => void)[] = [];
  return {
    list: async () => {
      const labs = await repo.list();
      await new Promise<void>((resolve) => {
        waiting.push(resolve);
        if (waiting.length === 2) [waiting, (waiting = [])][0]?.forEach((r) => r());
      });
      return labs;
    },
    updateStatus: (tenant, name, mutate) => repo.updateStatus(tenant, name, mutate),
  };
}

const stored = async (repo: MemoryLabRepository, name = 'optics') => (await repo.get('physics', name))?.status.schedule;

afterEach(() => {
  vi.useRealTimers();
});

describe('lab scheduler', () => {
  it('brings a new lab in line with the latest past event at its first tick', async () => {
    const { repo, fake, scheduler } = setup('2025-05-04T12:00:00Z');
    await scheduler().tick();
    expect(fake.calls).toEqual([{ lab: 'optics', action: 'stop', dueAt: '2025-05-02T16:00:00.000Z' }]);
    expect(await stored(repo)).toEqual({ action: 'stop', dueAt: '2025-05-02T16:00:00.000Z', operationId: 'op-1' });
  });

  it('applies a due start once and records its operation in the lab', async () => {
    const fridayStop = { action: 'stop', dueAt: '2025-05-02T16:00:00.000Z', operationId: 'op-0' } as const;
    const { repo, clock, fake, scheduler } = setup('2025-05-05T05:59:00Z', [{ spec: spec(), status: { failures: {}, schedule: fridayStop } }]);
    const s = scheduler();
    await s.tick();
    expect(fake.calls).toEqual([]);
    clock.set('2025-05-05T06:00:10Z');
    await s.tick();
    clock.advance(INTERVAL);
    await s.tick();
    expect(fake.calls).toEqual([{ lab: 'optics', action: 'start', dueAt: '2025-05-05T06:00:00.000Z' }]);
    expect(await stored(repo)).toEqual({ action: 'start', dueAt: '2025-05-05T06:00:00.000Z', operationId: 'op-1' });
  });

  it('when two schedulers share the labs, a due event is applied once', async () => {
    const { repo, fake, scheduler } = setup('2025-05-05T06:00:10Z');
    // Both workers read the labs before either claims: each sees the event as due.
    const together = readingTogether(repo);
    await Promise.all([scheduler(fake.apply, together).tick(), scheduler(fake.apply, together).tick()]);
    expect(fake.calls).toHaveLength(1);
    expect(await stored(repo)).toMatchObject({ action: 'start', operationId: 'op-1' });
  });

  it('retries an apply that failed on the next tick, then records it and stops retrying', async () => {
    const { repo, clock, fake, logger, scheduler } = setup('2025-05-05T06:00:10Z');
    const s = scheduler();
    fake.failNext();
    await s.tick();
    expect(await stored(repo)).toEqual({
      action: 'start',
      dueAt: '2025-05-05T06:00:00.000Z',
      claimedAt: '2025-05-05T06:00:10.000Z',
      claimant: expect.any(String),
    });
    clock.advance(INTERVAL);
    await s.tick();
    clock.advance(INTERVAL);
    await s.tick();
    expect(fake.calls.map((c) => c.dueAt)).toEqual(['2025-05-05T06:00:00.000Z', '2025-05-05T06:00:00.000Z']);
    expect(await stored(repo)).toEqual({ action: 'start', dueAt: '2025-05-05T06:00:00.000Z', operationId: 'op-2' });
    const failure = logger.entries.find((e) => e.level === 'error');
    expect(failure?.obj).toMatchObject({ tenant: 'physics', lab: 'optics', code: 'KUBERNETES_UNAVAILABLE' });
    expect(JSON.stringify(logger.entries)).not.toMatch(new RegExp(`${STUDENT_EMAIL}|${SSH_KEY}`));
  });

  it('applies a claim written without claimedAt (before it existed) once this scheduler saw it unsettled for the claim timeout', async () => {
    const claim = { action: 'start', dueAt: '2025-05-05T06:00:00.000Z' } as const;
    const { repo, clock, fake, scheduler } = setup('2025-05-05T06:00:05Z', [{ spec: spec(), status: { failures: {}, schedule: claim } }]);
    const s = scheduler();
    await s.tick();
    clock.advance(CLAIM_TIMEOUT - 1000);
    await s.tick();
    expect(fake.calls).toEqual([]);
    clock.advance(1000);
    await s.tick();
    expect(fake.calls).toEqual([{ lab: 'optics', ...claim }]);
    expect(await stored(repo)).toEqual({ ...claim, operationId: 'op-1' });
  });

  it('a claim whose writer died is applied again by exactly one of two schedulers, once older than the claim timeout', async () => {
    const claim = { action: 'start', dueAt: '2025-05-05T06:00:00.000Z', claimedAt: '2025-05-05T06:00:01.000Z', claimant: 'dead-worker' } as const;
    const { repo, clock, scheduler } = setup('2025-05-05T06:00:05Z', [{ spec: spec(), status: { failures: {}, schedule: claim } }]);
    // Both read the labs before either writes: each sees the dead worker's claim.
    const together = readingTogether(repo);
    // Each apply holds until released, so a second one (both taking the claim over) would run alongside.
    const calls: string[] = [];
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let bothApplying!: () => void;
    const twoCalls = new Promise<void>((resolve) => (bothApplying = resolve));
    const holdingApply = (who: string) => async () => {
      calls.push(who);
      if (calls.length === 2) bothApplying();
      await released;
      return { operationId: `op-${who}` };
    };
    const a = scheduler(holdingApply('a'), together, 'a');
    const b = scheduler(holdingApply('b'), together, 'b');
    const both = () => Promise.all([a.tick(), b.tick()]);
    await both();
    clock.set('2025-05-05T06:02:00.999Z'); // the claim is 1 ms short of the timeout
    await both();
    expect(calls).toEqual([]);

    clock.set('2025-05-05T06:02:01.000Z');
    const ta = a.tick();
    const tb = b.tick();
    // The winner holds in apply; the loser's pass ends (its compare-and-set failed), unless it took the claim over too.
    await Promise.race([ta, tb, twoCalls]);
    release();
    await Promise.all([ta, tb]);
    expect(calls).toHaveLength(1);
    expect(await stored(repo)).toEqual({ action: 'start', dueAt: '2025-05-05T06:00:00.000Z', operationId: `op-${calls[0]}` });
    clock.advance(CLAIM_TIMEOUT);
    await both();
    expect(calls).toHaveLength(1);
  });

  it('another scheduler leaves a fresh claim alone while its claimant retries its failed apply', async () => {
    const { repo, clock, scheduler } = setup('2025-05-05T06:00:10Z');
    const a = fakeApply();
    const b = fakeApply();
    a.failNext();
    const sa = scheduler(a.apply, repo, 'a');
    const sb = scheduler(b.apply, repo, 'b');
    await sa.tick();
    expect(await stored(repo)).toMatchObject({ claimant: 'a', claimedAt: '2025-05-05T06:00:10.000Z' });
    clock.advance(INTERVAL);
    await sb.tick();
    expect(b.calls).toEqual([]);
    await sa.tick();
    expect(a.calls).toHaveLength(2);
    expect(await stored(repo)).toEqual({ action: 'start', dueAt: '2025-05-05T06:00:00.000Z', operationId: 'op-2' });
  });

  it('after a restart across a missed start and stop, applies only the stop', async () => {
    const { repo, clock, fake, scheduler } = setup('2025-05-05T16:00:05Z');
    const before = scheduler();
    await before.tick();
    await before.stop();
    clock.set('2025-05-06T17:00:00Z');
    const after = scheduler();
    await after.tick();
    await after.tick();
    expect(fake.calls.map((c) => `${c.action}@${c.dueAt}`)).toEqual(['stop@2025-05-05T16:00:00.000Z', 'stop@2025-05-06T16:00:00.000Z']);
    expect(await stored(repo)).toMatchObject({ action: 'stop', dueAt: '2025-05-06T16:00:00.000Z' });
  });

  it('ends the course at endsAt and removes the lab after the grace period, once each', async () => {
    const lab = spec({ endsAt: '2025-05-09T18:00:00+02:00', endGracePeriodDays: 2 });
    const { clock, fake, scheduler } = setup('2025-05-09T16:00:01Z', [{ spec: lab }]);
    const s = scheduler();
    await s.tick();
    clock.set('2025-05-10T12:00:00Z');
    await s.tick();
    clock.set('2025-05-11T16:00:01Z');
    await s.tick();
    clock.set('2025-05-12T06:00:00Z');
    await s.tick();
    expect(fake.calls.map((c) => `${c.action}@${c.dueAt}`)).toEqual(['end@2025-05-09T16:00:00.000Z', 'remove@2025-05-11T16:00:00.000Z']);
  });

  it('leaves labs being deleted alone, and one lab failing does not stop the others', async () => {
    const labs = ['alpha', 'beta', 'gamma'].map((name) => ({ spec: spec({ name }) }));
    const { repo, fake: _unused, logger, scheduler } = setup('2025-05-05T06:00:10Z', labs);
    repo.markDeleting('physics', 'gamma');
    const failing = fakeApply((lab) => lab.name === 'alpha');
    await scheduler(failing.apply).tick();
    expect(failing.calls.map((c) => c.lab)).toEqual(['alpha', 'beta']);
    expect(await stored(repo, 'beta')).toMatchObject({ operationId: 'op-2' });
    expect(await stored(repo, 'gamma')).toBeUndefined();
    expect(logger.entries.filter((e) => e.level === 'error').map((e) => e.obj)).toEqual([expect.objectContaining({ lab: 'alpha' })]);
  });

  it('does not run a tick while one is still running', async () => {
    const { repo, scheduler } = setup('2025-05-05T06:00:10Z');
    let release!: () => void;
    let entered!: () => void;
    const inApply = new Promise<void>((resolve) => (entered = resolve));
    const calls: string[] = [];
    const slowApply = async (_lab: LabRecord, event: DueScheduleAction) => {
      calls.push(event.dueAt);
      entered();
      await new Promise<void>((resolve) => (release = resolve));
      return { operationId: 'op-slow' };
    };
    let lists = 0;
    const counted: Pick<LabRepository, 'list' | 'updateStatus'> = {
      list: async () => ((lists += 1), repo.list()),
      updateStatus: (tenant, name, mutate) => repo.updateStatus(tenant, name, mutate),
    };
    const s = scheduler(slowApply, counted);
    const first = s.tick();
    await inApply;
    const second = s.tick();
    release();
    await Promise.all([first, second]);
    expect({ lists, calls }).toEqual({ lists: 1, calls: ['2025-05-05T06:00:00.000Z'] });
  });

  it('once started, ticks at once and then every interval until stopped', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { repo, scheduler } = setup('2025-05-05T06:00:10Z');
    let lists = 0;
    const counted: Pick<LabRepository, 'list' | 'updateStatus'> = {
      list: async () => ((lists += 1), repo.list()),
      updateStatus: (tenant, name, mutate) => repo.updateStatus(tenant, name, mutate),
    };
    const s = scheduler(undefined, counted);
    s.start();
    s.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(lists).toBe(1);
    await vi.advanceTimersByTimeAsync(INTERVAL);
    expect(lists).toBe(2);
    await s.stop();
    await vi.advanceTimersByTimeAsync(5 * INTERVAL);
    expect(lists).toBe(2);
  });
});
