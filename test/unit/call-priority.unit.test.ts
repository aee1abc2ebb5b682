import { describe, expect, it } from 'vitest';
import {
  compareCallPriority,
  compareOptionalCallPriority,
  currentCallPriority,
  withCallPriority,
} from '../../src/domain/operations/call-priority.js';
import { newOperationRecord } from '../../src/domain/operations/operation-lifecycle.js';
import { toOperation } from '../../src/domain/operations/operation.js';
import { createTokenBucket } from '../../src/domain/identity/token-bucket.js';
import { manualClock, sleepOnNextTurn } from '../azure/support/manual-clock.js';

describe('call priority', () => {
  it('orders depth first, oldest first: a lab, its first student and that student’s VM, then the next student', () => {
    const lab = [100];
    const student1 = [100, 101];
    const student2 = [100, 102];
    const vm1 = [100, 101, 150];
    const single = [120];
    const sorted = [single, student2, vm1, lab, student1].sort(compareCallPriority);
    expect(sorted).toEqual([lab, student1, vm1, student2, single]);
    expect(compareCallPriority([5], [5])).toBe(0);
  });

  it('with none: work outside any step goes before every step’s, and two without are equal', () => {
    expect(compareOptionalCallPriority(undefined, [100])).toBeLessThan(0);
    expect(compareOptionalCallPriority([100], [100, 101])).toBeLessThan(0);
    expect(compareOptionalCallPriority(undefined, undefined)).toBe(0);
    expect(compareOptionalCallPriority([1], undefined)).toBeGreaterThan(0);
  });

  it('is the calling step’s inside withCallPriority, across awaits, and none outside', async () => {
    expect(currentCallPriority()).toBeUndefined();
    const seen = await withCallPriority([1, 2], async () => {
      await new Promise((r) => setImmediate(r));
      return currentCallPriority();
    });
    expect(seen).toEqual([1, 2]);
    expect(currentCallPriority()).toBeUndefined();
  });

  it('an operation started by a step ranks after that step’s operation; the rank stays off the client view', () => {
    const init = {
      id: 'op-2',
      kind: 'vm.create',
      target: { type: 'vm', id: 't/v' },
      createdBy: 'x',
      input: {},
      firstStep: 's',
    };
    const child = newOperationRecord({ ...init, parentRank: [100, 101] }, new Date(150));
    expect(child.rank).toEqual([100, 101, 150]);
    expect(newOperationRecord(init, new Date(150)).rank).toBeUndefined();
    expect('rank' in toOperation(child)).toBe(false);
  });

  it('a bucket with call priorities serves a student’s whole chain before the next student', async () => {
    const clock = manualClock(0);
    let current: readonly number[] | undefined;
    const bucket = createTokenBucket({ ratePerSecond: 10, burst: 1, clock, sleep: sleepOnNextTurn(clock), priority: () => current });
    await bucket.take();
    const served: string[] = [];
    const take = (name: string, rank: readonly number[]) => {
      current = rank;
      const p = bucket.take().then(() => void served.push(name));
      current = undefined;
      return p;
    };
    await Promise.all([take('student2', [100, 102]), take('student1', [100, 101]), take('student1-vm', [100, 101, 150]), take('lab', [100])]);
    expect(served).toEqual(['lab', 'student1', 'student1-vm', 'student2']);
  });
});
