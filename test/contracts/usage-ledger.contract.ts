import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { UsageLedger, UsageVmRef } from '../../src/domain/usage/ports.js';
import { meterUsage, type PowerTransition } from '../../src/domain/usage/usage-meter.js';
import { withFixture } from '../support/with-fixture.js';

/** A ledger and what the runner must clean up; `reopen` gives another ledger on the same store (a restarted or second replica). */
export interface UsageLedgerFixture {
  readonly ledger: UsageLedger;
  reopen(): UsageLedger;
  close(): Promise<void>;
}
export type UsageLedgerFactory = () => Promise<UsageLedgerFixture>;

const vmRef = (): UsageVmRef => ({ tenant: `t-${randomUUID().slice(0, 8)}`, name: 'lab-s1' });
const sortById = (ts: readonly PowerTransition[]) => [...ts].sort((a, b) => a.id.localeCompare(b.id));

export function usageLedgerContract(name: string, factory: UsageLedgerFactory): void {
  describe(`UsageLedger contract: ${name}`, () => {
    it(
      'keeps the transitions recorded, per VM',
      withFixture(factory, async ({ ledger }) => {
        const vm = vmRef();
        const other = { ...vm, name: 'lab-s2' };
        const run: PowerTransition = { id: 'uid-1:running', at: '2026-03-02T08:00:00.000Z', state: 'running' };
        const stop: PowerTransition = { id: 'uid-1:stopped', at: '2026-03-02T09:00:00.000Z', state: 'stopped' };
        await ledger.record(vm, [run]);
        await ledger.record(vm, [stop]);
        expect(sortById(await ledger.transitions(vm))).toEqual([run, stop]);
        expect(await ledger.transitions(other)).toEqual([]);
      }),
    );
    it(
      'records a transition id once: a replay, even with another time, changes nothing',
      withFixture(factory, async ({ ledger, reopen }) => {
        const vm = vmRef();
        const run: PowerTransition = { id: 'uid-1:running', at: '2026-03-02T08:00:00.000Z', state: 'running' };
        const stop: PowerTransition = { id: 'uid-1:stopped', at: '2026-03-02T10:00:00.000Z', state: 'stopped' };
        await ledger.record(vm, [run, stop]);
        const before = meterUsage({
          transitions: await ledger.transitions(vm),
          exemptWindows: [],
          quotaHours: 5,
          addedHours: 0,
          now: new Date('2026-03-03T00:00:00Z'),
        });
        // The same transitions again, from this ledger and from another replica on the same store.
        await ledger.record(vm, [run, stop]);
        await reopen().record(vm, [{ ...stop, at: '2026-03-02T12:00:00.000Z' }, run]);
        const after = await ledger.transitions(vm);
        expect(sortById(after)).toEqual([run, stop]);
        expect(meterUsage({ transitions: after, exemptWindows: [], quotaHours: 5, addedHours: 0, now: new Date('2026-03-03T00:00:00Z') })).toEqual(
          before,
        );
        expect(before.usedHours).toBe(2);
      }),
    );
    it(
      'keeps the latest checkpoint of each run, whichever ledger wrote it last',
      withFixture(factory, async ({ ledger, reopen }) => {
        const vm = vmRef();
        expect(await ledger.lastCheckpoint(vm, 'uid-1')).toBeUndefined();
        await ledger.checkpoint(vm, 'uid-1', '2026-03-02T08:05:00.000Z');
        await ledger.checkpoint(vm, 'uid-1', '2026-03-02T08:06:00.000Z');
        // A slower meter writing an older look does not move the checkpoint back.
        await reopen().checkpoint(vm, 'uid-1', '2026-03-02T08:04:00.000Z');
        await ledger.checkpoint(vm, 'uid-2', '2026-03-02T09:00:00.000Z');
        expect(await reopen().lastCheckpoint(vm, 'uid-1')).toBe('2026-03-02T08:06:00.000Z');
        expect(await ledger.lastCheckpoint(vm, 'uid-2')).toBe('2026-03-02T09:00:00.000Z');
        expect(await ledger.lastCheckpoint({ ...vm, name: 'lab-s2' }, 'uid-1')).toBeUndefined();
      }),
    );
    it(
      'is durable: another ledger on the same store reads what this one wrote',
      withFixture(factory, async ({ ledger, reopen }) => {
        const vm = vmRef();
        const run: PowerTransition = { id: 'uid-9:running', at: '2026-03-02T08:00:00.000Z', state: 'running' };
        await ledger.record(vm, [run]);
        expect(await reopen().transitions(vm)).toEqual([run]);
      }),
    );
    it(
      'forgets a VM: its transitions and checkpoints, not another VM’s',
      withFixture(factory, async ({ ledger }) => {
        const vm = vmRef();
        const other = { ...vm, name: 'lab-s2' };
        const run: PowerTransition = { id: 'uid-1:running', at: '2026-03-02T08:00:00.000Z', state: 'running' };
        await ledger.record(vm, [run]);
        await ledger.record(other, [run]);
        await ledger.checkpoint(vm, 'uid-1', '2026-03-02T08:05:00.000Z');
        await ledger.forget(vm);
        expect(await ledger.transitions(vm)).toEqual([]);
        expect(await ledger.lastCheckpoint(vm, 'uid-1')).toBeUndefined();
        expect(await ledger.transitions(other)).toEqual([run]);
        await ledger.forget(vm);
      }),
    );
  });
}
