import type { ConsoleGrant, ConsoleTicketStore } from '../../domain/vms/console.js';
import { systemClock, type Clock } from '../../domain/shared/ids.js';

/**
 * Console tickets in memory (the embedded default, one process): each taken at most once, gone
 * at its expiry by the injected clock. Expired entries are swept on every `put`, so the map holds
 * at most the tickets of the last minute.
 */
export function createMemoryConsoleTicketStore(clock: Clock = systemClock): ConsoleTicketStore {
  const entries = new Map<string, { grant: ConsoleGrant; expiresAt: number }>();
  return {
    async put(key, grant, ttlMs) {
      const now = clock.now().getTime();
      for (const [k, e] of entries) if (e.expiresAt <= now) entries.delete(k);
      entries.set(key, { grant, expiresAt: now + ttlMs });
    },
    async take(key) {
      const e = entries.get(key);
      entries.delete(key);
      if (e === undefined || e.expiresAt <= clock.now().getTime()) return undefined;
      return e.grant;
    },
  };
}
