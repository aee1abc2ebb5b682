import type { LaunchState, LaunchStateStore, LtiSession, LtiSessionStore, NonceLedger } from '../../domain/lti/ports.js';
import { systemClock, type Clock } from '../../domain/shared/ids.js';

/** Expiring entries read against the injected clock (an expired entry is gone on its next read). */
class ExpiringMap<V> {
  private readonly entries = new Map<string, { value: V; expiresAt: number }>();
  constructor(private readonly clock: Clock) {}

  private now(): number {
    return this.clock.now().getTime();
  }

  private sweep(): void {
    const now = this.now();
    for (const [k, e] of this.entries) if (e.expiresAt <= now) this.entries.delete(k);
  }

  get(key: string): V | undefined {
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    if (e.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  set(key: string, value: V, expiresAt: number): void {
    this.sweep();
    this.entries.set(key, { value, expiresAt });
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}

/** In-memory `LaunchStateStore` for the embedded default and tests. */
export function createMemoryLaunchStateStore(clock: Clock = systemClock): LaunchStateStore {
  const map = new ExpiringMap<LaunchState>(clock);
  return {
    async put(state, value, ttlSeconds) {
      map.set(state, value, clock.now().getTime() + ttlSeconds * 1000);
    },
    async take(state) {
      const v = map.get(state);
      map.delete(state);
      return v;
    },
  };
}

/** In-memory `NonceLedger` for the embedded default and tests. */
export function createMemoryNonceLedger(clock: Clock = systemClock): NonceLedger {
  const map = new ExpiringMap<true>(clock);
  return {
    async useOnce(key, ttlSeconds) {
      if (map.get(key) !== undefined) return false;
      map.set(key, true, clock.now().getTime() + ttlSeconds * 1000);
      return true;
    },
  };
}

/** In-memory `LtiSessionStore` for the embedded default and tests (a session ends at its `expiresAt`). */
export function createMemoryLtiSessionStore(clock: Clock = systemClock): LtiSessionStore {
  const map = new ExpiringMap<LtiSession>(clock);
  return {
    async put(session) {
      map.set(session.id, session, session.expiresAt);
    },
    async get(id) {
      return map.get(id);
    },
    async delete(id) {
      map.delete(id);
    },
  };
}
