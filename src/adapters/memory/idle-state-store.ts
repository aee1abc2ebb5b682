import { systemClock, type Clock } from '../../domain/shared/ids.js';
import { VM_WATCH_TTL_MS, type IdleStateStore, type VmWatch } from '../../domain/usage/idle-state-store.js';
import type { UsageVmRef } from '../../domain/usage/ports.js';

export interface MemoryIdleStateStoreDeps {
  /** What "a day after the last write" is measured on (default the system clock). */
  readonly clock?: Clock;
  readonly ttlMs?: number;
}

const keyOf = (vm: UsageVmRef): string => `${vm.tenant}/${vm.name}`;

/** `IdleStateStore` in memory (the embedded default and tests): lost with the process, as the in-process jobs are. */
export function createMemoryIdleStateStore(deps: MemoryIdleStateStoreDeps = {}): IdleStateStore {
  const clock = deps.clock ?? systemClock;
  const ttlMs = deps.ttlMs ?? VM_WATCH_TTL_MS;
  const entries = new Map<string, { watch: VmWatch; expiresAt: number }>();

  const read = (vm: UsageVmRef): VmWatch | undefined => {
    const key = keyOf(vm);
    const e = entries.get(key);
    if (e === undefined) return undefined;
    if (e.expiresAt <= clock.now().getTime()) {
      entries.delete(key);
      return undefined;
    }
    // A copy: the caller cannot change what is stored.
    return structuredClone(e.watch);
  };

  return {
    get: async (vm) => read(vm),
    getMany: async (vms) => vms.map(read),
    async put(vm, watch) {
      entries.set(keyOf(vm), { watch: structuredClone(watch), expiresAt: clock.now().getTime() + ttlMs });
    },
    async forget(vm) {
      entries.delete(keyOf(vm));
    },
  };
}
