import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { IdleStateStore, VmWatch } from '../../src/domain/usage/idle-state-store.js';
import type { UsageVmRef } from '../../src/domain/usage/ports.js';

/**
 * The idle detector's per-VM state. `pass(ms)` lets time go by: the memory store moves its injected
 * clock; Redis expires keys in real time, so its runner waits.
 */
export interface IdleStateStoreFixture {
  readonly store: IdleStateStore;
  pass(ms: number): Promise<void>;
  close(): Promise<void>;
}
/** Builds an empty store whose records expire `ttlMs` after their last write. */
export type IdleStateStoreFactory = (options: { readonly ttlMs: number }) => Promise<IdleStateStoreFixture>;

const vm = (name = `vm-${randomUUID().slice(0, 8)}`, tenant = 'cs101'): UsageVmRef => ({ tenant, name });
const watch = (over: Partial<VmWatch> = {}): VmWatch => ({
  runId: randomUUID(),
  runStartedAt: '2027-01-11T09:00:00.000Z',
  idle: {
    runStartedAt: '2027-01-11T09:00:00.000Z',
    signals: 'available',
    active: false,
    watchedSince: '2027-01-11T09:00:00.000Z',
    idleSince: '2027-01-11T09:05:00.000Z',
    warnedAt: '2027-01-11T09:20:00.000Z',
    reason: 'AutoShutdown:Idle',
  },
  quota: { warnedAt: '2027-01-11T09:30:00.000Z', stopAt: '2027-01-11T09:35:00.000Z' },
  updatedAt: '2027-01-11T09:30:00.000Z',
  ...over,
});

export function idleStateStoreContract(name: string, factory: IdleStateStoreFactory): void {
  describe(`IdleStateStore contract: ${name}`, () => {
    const withStore =
      (fn: (f: IdleStateStoreFixture) => Promise<void>, ttlMs = 60_000) =>
      async () => {
        const f = await factory({ ttlMs });
        try {
          await fn(f);
        } finally {
          await f.close();
        }
      };

    it(
      'gives back what was put, per VM, and nothing for a VM never written',
      withStore(async ({ store }) => {
        const a = vm();
        const b = vm();
        const w = watch();
        await store.put(a, w);
        expect(await store.get(a)).toEqual(w);
        expect(await store.get(b)).toBeUndefined();
        // The same VM name in another tenant is another VM.
        expect(await store.get({ tenant: 'bio200', name: a.name })).toBeUndefined();
      }),
    );

    it(
      'replaces a record as a whole (a field left out is gone)',
      withStore(async ({ store }) => {
        const a = vm();
        await store.put(a, watch());
        const { quota: _gone, ...expected } = watch();
        await store.put(a, expected);
        expect(await store.get(a)).toEqual(expected);
        expect((await store.get(a))?.quota).toBeUndefined();
      }),
    );

    it(
      'reads many at once, one answer per VM in the order given',
      withStore(async ({ store }) => {
        const [a, b, c] = [vm(), vm(), vm()];
        const wa = watch();
        const wc = watch();
        await store.put(a, wa);
        await store.put(c, wc);
        expect(await store.getMany([c, b, a])).toEqual([wc, undefined, wa]);
        expect(await store.getMany([])).toEqual([]);
      }),
    );

    it(
      'forgets a VM, and forgetting one never written is fine',
      withStore(async ({ store }) => {
        const a = vm();
        await store.put(a, watch());
        await store.forget(a);
        expect(await store.get(a)).toBeUndefined();
        await expect(store.forget(vm())).resolves.toBeUndefined();
      }),
    );

    it(
      'keeps a record until the TTL after its last write, and a write extends it',
      withStore(async ({ store, pass }) => {
        const a = vm();
        const b = vm();
        await store.put(a, watch());
        await store.put(b, watch());
        await pass(700);
        // Written again: its day starts again.
        await store.put(b, watch({ updatedAt: '2027-01-11T09:31:00.000Z' }));
        await pass(700);
        expect(await store.get(a)).toBeUndefined();
        expect((await store.get(b))?.updatedAt).toBe('2027-01-11T09:31:00.000Z');
        expect(await store.getMany([a, b])).toEqual([undefined, expect.objectContaining({ updatedAt: '2027-01-11T09:31:00.000Z' })]);
      }, 1_000),
    );
  });
}
