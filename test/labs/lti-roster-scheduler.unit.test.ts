import { describe, expect, it } from 'vitest';
import { createMemoryLabRepository } from '../../src/adapters/memory/lab-repository.js';
import type { LabRecord, LabSpec, LabStoredStatus } from '../../src/domain/labs/lab.js';
import type { Logger } from '../../src/domain/shared/logger.js';
import { createLtiRosterScheduler } from '../../src/jobs/lti-roster-scheduler.js';

const HOUR = 3_600_000;
const INTERVAL = 60_000;

function spec(name: string, lti = true): LabSpec {
  return {
    tenant: 'physics',
    name,
    template: {
      image: { scope: 'platform', name: 'ubuntu-24' },
      cpu: 1,
      memoryGi: 2,
      diskGi: 10,
      storageClass: 'kv-standard',
      arc: false,
      studentRole: 'user',
      sshPublicKeys: [],
    },
    instructors: [],
    students: [],
    schedules: [],
    dropGracePeriodHours: 72,
    endGracePeriodDays: 14,
    ...(lti
      ? {
          lti: {
            registrationId: 'r',
            deploymentId: 'd',
            contextId: `ctx-${name}`,
            membershipsUrl: 'https://lms.example.edu/nrps',
            boundAt: '2026-01-01T00:00:00Z',
          },
        }
      : {}),
  };
}

const quiet: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined } as unknown as Logger;

function synced(at: string): LabStoredStatus {
  return { failures: {}, ltiSync: { at, trigger: 'schedule', outcome: 'succeeded' } };
}

/** Time moves only when the test says; each tick is one pass of the leader loop. */
function setup(labs: { spec: LabSpec; status?: LabStoredStatus }[], opts: { perPass?: number; failFor?: string } = {}) {
  let now = Date.parse('2026-03-02T10:00:00Z');
  const clock = { now: () => new Date(now) };
  const repo = createMemoryLabRepository({ clock, labs });
  const started: string[] = [];
  const loop = createLtiRosterScheduler({
    labs: repo,
    clock,
    logger: quiet,
    everyHours: 24,
    intervalMs: INTERVAL,
    perPass: opts.perPass ?? 5,
    start: async (lab: LabRecord) => {
      started.push(lab.name);
      if (lab.name === opts.failFor) throw new Error('queue down');
      return { operationId: `op-${started.length}` };
    },
  });
  /** A sync that ended now, as the job writes it. */
  const finish = async (name: string) => {
    await repo.updateStatus('physics', name, (s) => ({
      ...s,
      ltiSync: { at: new Date(now).toISOString(), trigger: 'schedule', outcome: 'succeeded' },
    }));
  };
  return { repo, loop, started, finish, advance: (ms: number) => void (now += ms), at: () => new Date(now).toISOString() };
}

describe('LMS roster sync schedule', () => {
  it('starts never-synced and stale bound labs, oldest first, not fresh or unbound ones', async () => {
    const t = setup([
      { spec: spec('fresh'), status: synced('2026-03-02T00:00:00Z') },
      { spec: spec('stale'), status: synced('2026-03-01T09:00:00Z') },
      { spec: spec('never') },
      { spec: spec('plain', false) },
    ]);
    await t.loop.tick();
    expect(t.started).toEqual(['never', 'stale']);
  });

  it('spreads many due labs over passes, and a restart (a new scheduler) does not start what synced meanwhile', async () => {
    const labs = Array.from({ length: 12 }, (_, i) => ({ spec: spec(`lab-${String(i).padStart(2, '0')}`) }));
    const t = setup(labs, { perPass: 5 });
    await t.loop.tick();
    expect(t.started).toHaveLength(5);
    for (const name of t.started) await t.finish(name);
    t.advance(INTERVAL);
    await t.loop.tick();
    expect(t.started).toHaveLength(10);
    for (const name of t.started.slice(5)) await t.finish(name);

    // A new leader: only the two never synced are due.
    const restarted = createLtiRosterScheduler({
      labs: t.repo,
      clock: { now: () => new Date(t.at()) },
      logger: quiet,
      perPass: 5,
      start: async (lab) => {
        t.started.push(lab.name);
        return { operationId: 'x' };
      },
    });
    await restarted.tick();
    expect(t.started.slice(10)).toEqual(['lab-10', 'lab-11']);
  });

  it('a sync is due again once its last one is older than the period; a running one is not started over each pass', async () => {
    const t = setup([{ spec: spec('optics') }]);
    await t.loop.tick();
    t.advance(INTERVAL);
    await t.loop.tick();
    expect(t.started).toEqual(['optics']);
    await t.finish('optics');
    t.advance(23 * HOUR);
    await t.loop.tick();
    expect(t.started).toEqual(['optics']);
    t.advance(HOUR);
    await t.loop.tick();
    expect(t.started).toEqual(['optics', 'optics']);
  });

  it('a failed start is tried again on the next pass', async () => {
    const t = setup([{ spec: spec('optics') }], { failFor: 'optics' });
    await t.loop.tick();
    t.advance(INTERVAL);
    await t.loop.tick();
    expect(t.started).toEqual(['optics', 'optics']);
  });
});
