import {
  DEFAULT_IDEMPOTENCY_IN_PROGRESS_TTL_MS,
  DEFAULT_IDEMPOTENCY_TTL_MS,
  type IdempotencyScope,
  type IdempotencyStore,
  type StoredResponse,
} from '../../domain/operations/idempotency-store.js';
import { systemClock, type Clock } from '../../domain/shared/ids.js';

export interface MemoryIdempotencyStoreDeps {
  readonly clock?: Clock;
  /** Kept after completion, ms (default 24 h). */
  readonly ttlMs?: number;
  /** An unfinished key is released after this long, ms (default 5 min). */
  readonly inProgressTtlMs?: number;
}

interface Entry {
  bodyHash: string;
  response?: StoredResponse;
  expiresAt: number;
}

export interface MemoryIdempotencyStore extends IdempotencyStore {
  /** The next call rejects with `err` and changes nothing. */
  failNext(err: Error): void;
}

/** In-memory `IdempotencyStore` for the embedded default and tests. */
export function createMemoryIdempotencyStore(deps: MemoryIdempotencyStoreDeps = {}): MemoryIdempotencyStore {
  const clock = deps.clock ?? systemClock;
  const ttl = deps.ttlMs ?? DEFAULT_IDEMPOTENCY_TTL_MS;
  const inProgressTtl = deps.inProgressTtlMs ?? DEFAULT_IDEMPOTENCY_IN_PROGRESS_TTL_MS;
  const entries = new Map<string, Entry>();
  let pendingFault: Error | undefined;

  function enter(): void {
    const f = pendingFault;
    pendingFault = undefined;
    if (f !== undefined) throw f;
  }

  function keyOf(scope: IdempotencyScope, key: string): string {
    return JSON.stringify([scope.principalId, scope.method.toUpperCase(), scope.path, key]);
  }

  function live(k: string, now: number): Entry | undefined {
    const e = entries.get(k);
    if (e !== undefined && e.expiresAt <= now) {
      entries.delete(k);
      return undefined;
    }
    return e;
  }

  function sweep(now: number): void {
    if (entries.size < 10_000) return;
    for (const [k, e] of entries) if (e.expiresAt <= now) entries.delete(k);
  }

  return {
    failNext(err) {
      pendingFault = err;
    },

    async begin(scope, key, bodyHash) {
      enter();
      const now = clock.now().getTime();
      sweep(now);
      const k = keyOf(scope, key);
      const e = live(k, now);
      if (e === undefined) {
        entries.set(k, { bodyHash, expiresAt: now + inProgressTtl });
        return { state: 'new' };
      }
      if (e.bodyHash !== bodyHash) return { state: 'mismatch' };
      if (e.response === undefined) return { state: 'in_progress' };
      return { state: 'replay', response: structuredClone(e.response) };
    },

    async complete(scope, key, response) {
      enter();
      const now = clock.now().getTime();
      const e = live(keyOf(scope, key), now);
      if (e === undefined || e.response !== undefined) return;
      e.response = structuredClone(response);
      e.expiresAt = now + ttl;
    },

    async abandon(scope, key) {
      enter();
      const k = keyOf(scope, key);
      const e = live(k, clock.now().getTime());
      if (e !== undefined && e.response === undefined) entries.delete(k);
    },
  };
}
