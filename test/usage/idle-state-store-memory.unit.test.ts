import { describe, expect, it } from 'vitest';
import { createMemoryIdleStateStore } from '../../src/adapters/memory/idle-state-store.js';
import { VM_WATCH_TTL_MS } from '../../src/domain/usage/idle-state-store.js';
import { idleStateStoreContract } from '../contracts/idle-state-store.contract.js';

idleStateStoreContract('memory', async ({ ttlMs }) => {
  let now = Date.parse('2027-01-11T09:00:00Z');
  const store = createMemoryIdleStateStore({ clock: { now: () => new Date(now) }, ttlMs });
  return {
    store,
    pass: async (ms) => {
      now += ms;
    },
    close: async () => undefined,
  };
});

describe('memory IdleStateStore', () => {
  it('keeps a record a day by default, and hands out copies', async () => {
    let now = Date.parse('2027-01-11T09:00:00Z');
    const store = createMemoryIdleStateStore({ clock: { now: () => new Date(now) } });
    const vm = { tenant: 'cs101', name: 'vm-1' };
    await store.put(vm, { runId: 'r1', runStartedAt: '2027-01-11T09:00:00.000Z', updatedAt: '2027-01-11T09:00:00.000Z' });
    const got = await store.get(vm);
    (got as { runId: string }).runId = 'changed';
    expect((await store.get(vm))?.runId).toBe('r1');
    now += VM_WATCH_TTL_MS - 1;
    expect(await store.get(vm)).toBeDefined();
    now += 1;
    expect(await store.get(vm)).toBeUndefined();
  });
});
