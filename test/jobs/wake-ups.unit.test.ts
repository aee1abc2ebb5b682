import { describe, expect, it } from 'vitest';
import type { OperationRecord } from '../../src/domain/operations/operation.js';
import type { Clock } from '../../src/domain/shared/ids.js';
import { createWakeUps } from '../../src/jobs/wake-ups.js';
import { recordingLogger } from './helpers.js';

/** Wake-ups over a store and a transport that only count, with a clock and timers moved by hand. */
function setup() {
  let nowMs = Date.parse('2026-12-01T09:00:00Z');
  const clock: Clock = { now: () => new Date(nowMs) };
  const timers: Array<{ at: number; fn: () => void; cancelled: boolean }> = [];
  const record = {
    id: 'op-1',
    kind: 'vm.create',
    status: 'running',
    cursor: { step: 'wait', generation: 4, attempt: 1, state: 'pending', wait: { since: '2026-12-01T08:59:00Z', rechecks: 3, percent: 40 } },
  } as unknown as OperationRecord;
  const calls = { lists: 0, gets: 0, woken: [] as string[] };
  const wakeUps = createWakeUps({
    store: {
      get: async () => (calls.gets++, record),
      list: async () => (calls.lists++, { items: [record] }),
    },
    transport: { wake: async (job) => (calls.woken.push(`${job.operationId}:${job.step}:${job.generation}`), true) },
    logger: recordingLogger(),
    clock,
    coalesceMs: 500,
    schedule: (ms, fn) => {
      const t = { at: nowMs + ms, fn, cancelled: false };
      timers.push(t);
      return { cancel: () => void (t.cancelled = true) };
    },
  });
  const advance = async (ms: number): Promise<void> => {
    nowMs += ms;
    for (const t of timers.splice(0)) {
      if (t.cancelled) continue;
      if (t.at <= nowMs) t.fn();
      else timers.push(t);
    }
    await new Promise((r) => setImmediate(r));
  };
  return { wakeUps, calls, advance, timers };
}

describe('early wake-ups', () => {
  it('wakes the cursor’s own job (step and generation), the one the runner will accept', async () => {
    const { wakeUps, calls } = setup();
    expect(await wakeUps.wake('op-1')).toBe(true);
    expect(calls.woken).toEqual(['op-1:wait:4']);
  });

  it('a burst of watch events for one target costs one look now and one at the end of the interval, not one each', async () => {
    const { wakeUps, calls, advance } = setup();
    const target = { type: 'vm', id: 't1/vm-a' };
    for (let i = 0; i < 20; i += 1) wakeUps.wakeTarget(target);
    await advance(0);
    expect(calls.lists).toBe(1);
    await advance(499);
    expect(calls.lists).toBe(1);
    await advance(1);
    expect(calls.lists).toBe(2);
    // Quiet for a while: the next event is looked at at once.
    await advance(5_000);
    wakeUps.wakeTarget(target);
    await advance(0);
    expect(calls.lists).toBe(3);
    // Other targets are not held back by this one.
    wakeUps.wakeTarget({ type: 'vm', id: 't1/vm-b' });
    await advance(0);
    expect(calls.lists).toBe(4);
  });

  it('fifty children finishing together wake their parent twice', async () => {
    const { wakeUps, calls, advance } = setup();
    for (let i = 0; i < 50; i += 1) wakeUps.wakeParent('op-1');
    await advance(0);
    await advance(500);
    await advance(5_000);
    expect(calls.gets).toBe(2);
  });

  it('remembers only the last interval’s keys: parents woken once each, a second apart, do not pile up', async () => {
    const { wakeUps, advance } = setup();
    for (let i = 0; i < 5_000; i += 1) {
      wakeUps.wakeParent(`op-${i}`);
      await advance(i % 100 === 0 ? 1_000 : 0);
    }
    expect(wakeUps.tracked()).toBeLessThan(1_200);
  });

  it('close drops the pending trailing wake-ups', async () => {
    const { wakeUps, calls, advance } = setup();
    wakeUps.wakeParent('op-1');
    wakeUps.wakeParent('op-1');
    await advance(0);
    wakeUps.close();
    await advance(1_000);
    expect(calls.gets).toBe(1);
  });
});
