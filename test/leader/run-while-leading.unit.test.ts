import { describe, expect, it } from 'vitest';
import { createSoleLeader, runWhileLeading, type LeaderElector, type LeadershipListener } from '../../src/domain/shared/leadership.js';

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** An elector the test switches by hand. */
function manualElector(): LeaderElector & { set(leading: boolean): Promise<void>; stops: number } {
  const listeners = new Set<LeadershipListener>();
  let leading = false;
  const self = {
    identity: 'manual',
    stops: 0,
    isLeader: () => leading,
    onChange(l: LeadershipListener) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    start: () => undefined,
    async stop() {
      self.stops += 1;
      if (leading) await self.set(false);
    },
    async set(value: boolean) {
      leading = value;
      for (const l of listeners) await l(value);
    },
  };
  return self;
}

function recordingLoop(log: string[], name: string) {
  return {
    start: () => void log.push(`${name} start`),
    stop: async () => {
      await Promise.resolve();
      log.push(`${name} stop`);
    },
  };
}

describe('loops that run only while leading', () => {
  it('start on election, stop on losing it, start again on re-election', async () => {
    const elector = manualElector();
    const log: string[] = [];
    const gate = runWhileLeading(elector, [recordingLoop(log, 'scheduler'), recordingLoop(log, 'recovery')], silent);
    gate.start();
    expect(log).toEqual([]);
    await elector.set(true);
    expect(log).toEqual(['scheduler start', 'recovery start']);
    await elector.set(false);
    expect(log.slice(2).sort()).toEqual(['recovery stop', 'scheduler stop']);
    await elector.set(true);
    expect(log.slice(4)).toEqual(['scheduler start', 'recovery start']);
  });

  it('stop stops the loops before the elector returns and steps down', async () => {
    const elector = manualElector();
    const log: string[] = [];
    const gate = runWhileLeading(elector, [recordingLoop(log, 'scheduler')], silent);
    gate.start();
    await elector.set(true);
    await gate.stop();
    expect(log).toContain('scheduler stop');
    expect(elector.stops).toBe(1);
    await elector.set(true);
    expect(log.filter((l) => l === 'scheduler start')).toHaveLength(1);
  });

  it('the sole leader (one process, nothing to elect) leads from start to stop', async () => {
    const elector = createSoleLeader('only');
    const log: string[] = [];
    const gate = runWhileLeading(elector, [recordingLoop(log, 'scheduler')], silent);
    gate.start();
    await Promise.resolve();
    expect(elector.isLeader()).toBe(true);
    expect(log).toEqual(['scheduler start']);
    await gate.stop();
    expect(elector.isLeader()).toBe(false);
    expect(log).toEqual(['scheduler start', 'scheduler stop']);
  });
});
