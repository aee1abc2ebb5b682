import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { IdempotencyScope, IdempotencyStore, StoredResponse } from '../../src/domain/operations/idempotency-store.js';

/** Builds an empty store; `inProgressTtlMs` is short so the release of a stuck key can be seen. */
export type IdempotencyStoreFactory = (options: { readonly inProgressTtlMs: number }) => Promise<{
  readonly store: IdempotencyStore;
  close(): Promise<void>;
}>;

const answer: StoredResponse = {
  status: 202,
  headers: { location: '/v1/operations/1', 'operation-location': '/v1/operations/1' },
  body: { id: '1', status: 'queued', progress: { percent: 0 } },
};

export function idempotencyStoreContract(name: string, factory: IdempotencyStoreFactory): void {
  describe(`IdempotencyStore contract: ${name}`, () => {
    const scope = (): IdempotencyScope => ({ principalId: `p-${randomUUID()}`, method: 'POST', path: '/v1/tenants/lab1/vms' });
    const withStore = async (fn: (s: IdempotencyStore) => Promise<void>, inProgressTtlMs = 60_000): Promise<void> => {
      const h = await factory({ inProgressTtlMs });
      try {
        await fn(h.store);
      } finally {
        await h.close();
      }
    };

    it('answers new, then in_progress while handled, then replays the first answer', () =>
      withStore(async (s) => {
        const sc = scope();
        expect(await s.begin(sc, 'k1', 'h1')).toEqual({ state: 'new' });
        expect(await s.begin(sc, 'k1', 'h1')).toEqual({ state: 'in_progress' });
        await s.complete(sc, 'k1', answer);
        expect(await s.begin(sc, 'k1', 'h1')).toEqual({ state: 'replay', response: answer });
      }));

    it('answers mismatch for the same key with another body, in progress or done', () =>
      withStore(async (s) => {
        const sc = scope();
        await s.begin(sc, 'k1', 'h1');
        expect(await s.begin(sc, 'k1', 'h2')).toEqual({ state: 'mismatch' });
        await s.complete(sc, 'k1', answer);
        expect(await s.begin(sc, 'k1', 'h2')).toEqual({ state: 'mismatch' });
      }));

    it('keeps keys of other callers and other endpoints apart', () =>
      withStore(async (s) => {
        const a = scope();
        const b = scope();
        await s.begin(a, 'k1', 'h1');
        await s.complete(a, 'k1', answer);
        expect(await s.begin(b, 'k1', 'h2')).toEqual({ state: 'new' });
        expect(await s.begin({ ...a, path: '/v1/images' }, 'k1', 'h3')).toEqual({ state: 'new' });
        expect(await s.begin({ ...a, method: 'PUT' }, 'k1', 'h3')).toEqual({ state: 'new' });
      }));

    it('stores only the first answer', () =>
      withStore(async (s) => {
        const sc = scope();
        await s.begin(sc, 'k1', 'h1');
        await s.complete(sc, 'k1', answer);
        await s.complete(sc, 'k1', { ...answer, status: 500 });
        expect(await s.begin(sc, 'k1', 'h1')).toEqual({ state: 'replay', response: answer });
      }));

    it('forgets an abandoned key so the client may retry, but never an answered one', () =>
      withStore(async (s) => {
        const sc = scope();
        await s.begin(sc, 'k1', 'h1');
        await s.abandon(sc, 'k1');
        expect(await s.begin(sc, 'k1', 'h2')).toEqual({ state: 'new' });
        await s.complete(sc, 'k1', answer);
        await s.abandon(sc, 'k1');
        expect(await s.begin(sc, 'k1', 'h2')).toEqual({ state: 'replay', response: answer });
      }));

    it('lets exactly one of many concurrent first requests through', () =>
      withStore(async (s) => {
        const sc = scope();
        const res = await Promise.all(Array.from({ length: 20 }, () => s.begin(sc, 'race', 'h1')));
        expect(res.filter((r) => r.state === 'new')).toHaveLength(1);
        expect(res.filter((r) => r.state === 'in_progress')).toHaveLength(19);
      }));

    it('releases a key whose first request never finished after the in-progress TTL', () =>
      withStore(async (s) => {
        const sc = scope();
        await s.begin(sc, 'k1', 'h1');
        // Real time: the in-progress TTL (150 ms) is enforced by Redis's own expiry, which no injected clock moves.
        await sleep(250);
        expect(await s.begin(sc, 'k1', 'h2')).toEqual({ state: 'new' });
      }, 150));
  });
}
