import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { checkLeaderTimings, createLeaderElector } from '../../src/adapters/kubernetes/leader-election.js';
import type { LeaderElector } from '../../src/domain/shared/leadership.js';
import { MemoryLease } from './memory-lease-lock.js';

/** client-go's algorithm in fake time: lease 15 s, renew deadline 10 s, retry 2 s, no jitter. */
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };
const clock = { now: () => new Date() };
const started: LeaderElector[] = [];

function elector(lease: MemoryLease, id: string, faults: { fail?: boolean; hang?: boolean } = {}): { e: LeaderElector; changes: boolean[] } {
  const e = createLeaderElector({ lock: lease.lock(id, faults), identity: id, clock, random: () => 0, logger: silent });
  const changes: boolean[] = [];
  e.onChange((leading) => {
    changes.push(leading);
  });
  started.push(e);
  return { e, changes };
}

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2026-12-06T10:00:00Z') });
});
afterEach(async () => {
  for (const e of started.splice(0)) await e.stop();
  vi.useRealTimers();
});

describe('leader election (fake time)', () => {
  it('acquires a lease nobody holds by creating it, and renews it every retry period keeping acquireTime', async () => {
    const lease = new MemoryLease();
    const { e, changes } = elector(lease, 'a');
    e.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(e.isLeader()).toBe(true);
    expect(changes).toEqual([true]);
    const first = lease.current?.record;
    expect(first).toMatchObject({ holderIdentity: 'a', leaseDurationSeconds: 15, leaseTransitions: 0 });
    expect(first?.renewTime?.toISOString()).toBe('2026-12-06T10:00:00.000Z');
    await vi.advanceTimersByTimeAsync(2_000);
    expect(lease.current?.record.renewTime?.toISOString()).toBe('2026-12-06T10:00:02.000Z');
    expect(lease.current?.record.acquireTime?.toISOString()).toBe('2026-12-06T10:00:00.000Z');
    expect(lease.current?.record.leaseTransitions).toBe(0);
    expect(lease.writes.length).toBe(2);
    expect(changes).toEqual([true]);
  });

  it('waits out a held lease for the lease duration from when it saw it change, however old its renewTime, then takes over counting a transition', async () => {
    const lease = new MemoryLease();
    const longAgo = new Date('2026-12-05T10:00:00Z');
    lease.set({ holderIdentity: 'gone', leaseDurationSeconds: 15, acquireTime: longAgo, renewTime: longAgo, leaseTransitions: 4 });
    const { e } = elector(lease, 'b');
    e.start();
    await vi.advanceTimersByTimeAsync(14_000);
    expect(e.isLeader()).toBe(false);
    expect(lease.current?.record.holderIdentity).toBe('gone');
    await vi.advanceTimersByTimeAsync(2_000);
    expect(e.isLeader()).toBe(true);
    expect(lease.current?.record).toMatchObject({ holderIdentity: 'b', leaseTransitions: 5 });
  });

  it('does not take over while the holder keeps renewing', async () => {
    const lease = new MemoryLease();
    const { e: holder } = elector(lease, 'holder');
    holder.start();
    await vi.advanceTimersByTimeAsync(0);
    const { e: follower, changes } = elector(lease, 'follower');
    follower.start();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(holder.isLeader()).toBe(true);
    expect(follower.isLeader()).toBe(false);
    expect(changes).toEqual([]);
    expect(lease.current?.record.leaseTransitions).toBe(0);
  });

  it('of two electors racing for a free lease exactly one wins (create and update conflict)', async () => {
    const lease = new MemoryLease();
    const a = elector(lease, 'a');
    const b = elector(lease, 'b');
    a.e.start();
    b.e.start();
    await vi.advanceTimersByTimeAsync(30_000);
    expect([a.e.isLeader(), b.e.isLeader()].filter(Boolean)).toHaveLength(1);
    expect(lease.current?.record.leaseTransitions).toBe(0);
  });

  it('a stale resourceVersion makes the update fail and the elector stays a follower', async () => {
    const lease = new MemoryLease();
    lease.set({ holderIdentity: '', leaseDurationSeconds: 1, acquireTime: undefined, renewTime: undefined, leaseTransitions: 2 });
    const lock = lease.lock('c');
    const seen = await lock.get();
    lease.set({ holderIdentity: 'other', leaseDurationSeconds: 15, acquireTime: new Date(), renewTime: new Date(), leaseTransitions: 3 });
    await expect(
      lock.update(
        { holderIdentity: 'c', leaseDurationSeconds: 15, acquireTime: new Date(), renewTime: new Date(), leaseTransitions: 3 },
        seen?.version ?? '',
      ),
    ).rejects.toMatchObject({ code: 'VERSION_CONFLICT' });
    const { e } = elector(lease, 'c');
    e.start();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(e.isLeader()).toBe(false);
    expect(lease.current?.record.holderIdentity).toBe('other');
  });

  it('steps down when renewals fail for the renew deadline, not before, and another replica takes over after the lease duration', async () => {
    const lease = new MemoryLease();
    const faults: { fail?: boolean } = {};
    const { e: a, changes } = elector(lease, 'a', faults);
    a.start();
    await vi.advanceTimersByTimeAsync(0);
    const { e: b } = elector(lease, 'b');
    b.start();
    await vi.advanceTimersByTimeAsync(1_000);
    faults.fail = true;
    await vi.advanceTimersByTimeAsync(8_500);
    expect(a.isLeader()).toBe(true);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(a.isLeader()).toBe(false);
    expect(changes).toEqual([true, false]);
    expect(b.isLeader()).toBe(false);
    await vi.advanceTimersByTimeAsync(6_000);
    expect(b.isLeader()).toBe(true);
    expect(lease.current?.record).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
  });

  it('steps down at the renew deadline even when a renewal never answers', async () => {
    const lease = new MemoryLease();
    const faults: { hang?: boolean } = {};
    const { e, changes } = elector(lease, 'a', faults);
    e.start();
    await vi.advanceTimersByTimeAsync(0);
    faults.hang = true;
    await vi.advanceTimersByTimeAsync(9_999);
    expect(e.isLeader()).toBe(true);
    await vi.advanceTimersByTimeAsync(1);
    expect(changes).toEqual([true, false]);
    faults.hang = false;
    lease.timeOutHungCalls();
  });

  it('on stop, tells listeners first, then releases the lease so the next replica takes over at once', async () => {
    const lease = new MemoryLease();
    const order: string[] = [];
    const { e: a } = elector(lease, 'a');
    a.onChange((leading) => {
      if (!leading) order.push(`loops stopped, holder ${lease.current?.record.holderIdentity ?? '?'}`);
    });
    a.start();
    await vi.advanceTimersByTimeAsync(0);
    const { e: b } = elector(lease, 'b');
    b.start();
    await vi.advanceTimersByTimeAsync(3_000);
    await a.stop();
    expect(order).toEqual(['loops stopped, holder a']);
    expect(lease.current?.record).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 0 });
    await vi.advanceTimersByTimeAsync(4_400);
    expect(b.isLeader()).toBe(true);
    expect(lease.current?.record).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
  });

  it('logs an unreachable API server once, not on every retry, and losing a race not at all', async () => {
    const lease = new MemoryLease();
    const warnings: string[] = [];
    const logger = { ...silent, warn: (_o: object, m?: string) => void warnings.push(m ?? '') };
    const down = createLeaderElector({ lock: lease.lock('down', { fail: true }), identity: 'down', clock, random: () => 0, logger });
    started.push(down);
    down.start();
    await vi.advanceTimersByTimeAsync(20_000);
    expect(warnings).toEqual(['could not read or create the leader lease']);
    const { e: a } = elector(lease, 'a');
    a.start();
    const racer = createLeaderElector({ lock: lease.lock('b'), identity: 'b', clock, random: () => 0, logger });
    started.push(racer);
    racer.start();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(warnings).toHaveLength(1);
  });

  it('refuses timings client-go refuses', () => {
    expect(() => checkLeaderTimings(10_000, 10_000, 2_000)).toThrow(/lease duration/);
    expect(() => checkLeaderTimings(15_000, 2_000, 2_000)).toThrow(/renew deadline/);
    expect(() => checkLeaderTimings(15_000, 10_000, 0)).toThrow(/retry period/);
    expect(() => checkLeaderTimings(3_000, 2_000, 500)).not.toThrow();
  });
});
