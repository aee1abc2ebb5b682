import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { newOperationRecord, succeed } from '../../src/domain/operations/operation-lifecycle.js';
import type { OperationStore } from '../../src/domain/operations/operation-store.js';
import type { OperationRecord } from '../../src/domain/operations/operation.js';
import { ConflictError, ValidationError } from '../../src/domain/shared/errors.js';

export interface StoreHarness {
  readonly store: OperationStore;
  /** A second handle on the same data (another process), when the store is shared. */
  readonly peer?: OperationStore;
  close(): Promise<void>;
}

/** Builds an empty store whose retention is `retentionMs`. */
export type OperationStoreFactory = (options: { readonly retentionMs: number }) => Promise<StoreHarness>;

const T0 = Date.parse('2030-01-01T00:00:00.000Z');

/** Object mother: a queued operation created `minute` minutes after T0. */
export function anOperation(minute: number, over: Partial<Parameters<typeof newOperationRecord>[0]> = {}): OperationRecord {
  return newOperationRecord(
    {
      id: randomUUID(),
      kind: 'vm.create',
      tenant: 'lab1',
      target: { type: 'vm', id: `vm-${minute}` },
      createdBy: 'u1',
      input: { size: 'small' },
      firstStep: 'create',
      ...over,
    },
    new Date(T0 + minute * 60_000),
  );
}

export function operationStoreContract(name: string, factory: OperationStoreFactory): void {
  describe(`OperationStore contract: ${name}`, () => {
    const withStore = async (fn: (h: StoreHarness) => Promise<void>, retentionMs = 7 * 86_400_000): Promise<void> => {
      const h = await factory({ retentionMs });
      try {
        await fn(h);
      } finally {
        await h.close();
      }
    };

    it('stores a record and gives back an equal copy; creating the same id again is OPERATION_EXISTS', () =>
      withStore(async ({ store }) => {
        const op = anOperation(1);
        await store.create(op);
        expect(await store.get(op.id)).toEqual(op);
        const err = await store.create({ ...op, kind: 'other' }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ConflictError);
        expect((err as ConflictError).code).toBe('OPERATION_EXISTS');
        expect((await store.get(op.id))?.kind).toBe('vm.create');
        expect(await store.get(randomUUID())).toBeUndefined();
      }));

    it('applies concurrent mutations atomically: no update is lost, even from another process', () =>
      withStore(async ({ store, peer }) => {
        const op = anOperation(1);
        await store.create(op);
        const bump = (s: OperationStore) => s.mutate(op.id, (cur) => ({ ...cur, attempts: cur.attempts + 1 }));
        const other = peer ?? store;
        await Promise.all(Array.from({ length: 30 }, (_, i) => bump(i % 2 === 0 ? store : other)));
        expect((await store.get(op.id))?.attempts).toBe(30);
        expect((await other.get(op.id))?.attempts).toBe(30);
        await bump(store);
        await bump(other);
        await bump(store);
        expect((await other.get(op.id))?.attempts).toBe(33);
      }));

    it('reports no change when the change function declines, and undefined for an unknown id', () =>
      withStore(async ({ store, peer }) => {
        const op = anOperation(1);
        await store.create(op);
        await (peer ?? store).mutate(op.id, (cur) => ({ ...cur, attempts: 5 }));
        const res = await store.mutate(op.id, (cur) => (cur.attempts === 5 ? undefined : { ...cur, attempts: 99 }));
        expect(res?.changed).toBe(false);
        expect(res?.operation.attempts).toBe(5);
        expect(await store.mutate(randomUUID(), (cur) => cur)).toBeUndefined();
      }));

    it('lists newest first in stable pages, with filters and a visibility predicate that keeps pages full', () =>
      withStore(async ({ store }) => {
        const ops = Array.from({ length: 7 }, (_, i) =>
          anOperation(i, { tenant: i % 2 === 0 ? 'lab1' : 'lab2', kind: i < 4 ? 'vm.create' : 'image.import' }),
        );
        for (const op of ops) await store.create(op);
        const p1 = await store.list({}, { limit: 3 });
        expect(p1.items.map((o) => o.target.id)).toEqual(['vm-6', 'vm-5', 'vm-4']);
        await store.create(anOperation(10));
        const p2 = await store.list({}, { limit: 3, ...(p1.nextCursor === undefined ? {} : { cursor: p1.nextCursor }) });
        expect(p2.items.map((o) => o.target.id)).toEqual(['vm-3', 'vm-2', 'vm-1']);
        const p3 = await store.list({}, { limit: 3, ...(p2.nextCursor === undefined ? {} : { cursor: p2.nextCursor }) });
        expect(p3.items.map((o) => o.target.id)).toEqual(['vm-0']);
        expect(p3.nextCursor).toBeUndefined();

        expect((await store.list({ tenant: 'lab2' }, { limit: 10 })).items.map((o) => o.target.id)).toEqual(['vm-5', 'vm-3', 'vm-1']);
        expect((await store.list({ kind: 'image.import', tenant: 'lab1' }, { limit: 10 })).items.map((o) => o.target.id)).toEqual(['vm-6', 'vm-4']);
        expect((await store.list({ target: { type: 'vm', id: 'vm-2' } }, { limit: 10 })).items).toHaveLength(1);
        const visible = await store.list({}, { limit: 2 }, (o) => o.tenant === 'lab2');
        expect(visible.items.map((o) => o.target.id)).toEqual(['vm-5', 'vm-3']);
        expect(visible.nextCursor).toBeDefined();
        await expect(store.list({}, { limit: 2, cursor: 'garbage!' })).rejects.toBeInstanceOf(ValidationError);
      }));

    it('filters by status, also after a status change', () =>
      withStore(async ({ store }) => {
        const a = anOperation(1);
        const b = anOperation(2);
        await store.create(a);
        await store.create(b);
        await store.mutate(a.id, (cur) => succeed({ ...cur, status: 'running' }, { ok: true }, new Date(T0 + 5 * 60_000)));
        expect((await store.list({ status: 'queued' }, { limit: 10 })).items.map((o) => o.id)).toEqual([b.id]);
        expect((await store.list({ status: ['queued', 'running'] }, { limit: 10 })).items.map((o) => o.id)).toEqual([b.id]);
        expect((await store.list({ status: 'succeeded' }, { limit: 10 })).items.map((o) => o.id)).toEqual([a.id]);
      }));

    it('lists the children of a parent, oldest first', () =>
      withStore(async ({ store }) => {
        const parent = anOperation(0, { kind: 'lab.provision' });
        await store.create(parent);
        const kids = [3, 1, 2].map((m) => anOperation(m, { parentId: parent.id }));
        for (const k of kids) await store.create(k);
        await store.create(anOperation(4));
        expect((await store.listChildren(parent.id)).map((o) => o.target.id)).toEqual(['vm-1', 'vm-2', 'vm-3']);
        expect((await store.list({ parentId: parent.id }, { limit: 10 })).items).toHaveLength(3);
        expect(await store.listChildren(randomUUID())).toEqual([]);
      }));

    it('deletes operations finished longer than the retention ago, and never unfinished ones', () =>
      withStore(async ({ store }) => {
        const old = anOperation(0);
        const recent = anOperation(1);
        const open = anOperation(2);
        for (const op of [old, recent, open]) await store.create(op);
        await store.mutate(old.id, (cur) => succeed({ ...cur, status: 'running' }, undefined, new Date(T0 + 10 * 60_000)));
        await store.mutate(recent.id, (cur) => succeed({ ...cur, status: 'running' }, undefined, new Date(T0 + 50 * 60_000)));
        const n = await store.deleteExpired(new Date(T0 + 70 * 60_000));
        expect(n).toBe(1);
        expect(await store.get(old.id)).toBeUndefined();
        expect(await store.get(recent.id)).toBeDefined();
        expect(await store.get(open.id)).toBeDefined();
        expect((await store.list({}, { limit: 10 })).items.map((o) => o.id)).toEqual([open.id, recent.id]);
        expect(await store.deleteExpired(new Date(T0 + 1_000 * 60_000))).toBe(1);
      }, 30 * 60_000));

    it('the write that finishes an operation enters it in the outbox (seen from another process), oldest first, until marked done', () =>
      withStore(async ({ store, peer }) => {
        const other = peer ?? store;
        const [a, b, c] = [anOperation(1), anOperation(2), anOperation(3)];
        for (const op of [a, b, c]) await store.create(op);
        await store.mutate(a.id, (cur) => ({ ...cur, status: 'running' }));
        expect(await other.outbox.pending(new Date(T0 + 1_000 * 60_000), 10)).toEqual([]);
        await store.mutate(b.id, (cur) => succeed({ ...cur, status: 'running' }, undefined, new Date(T0 + 20 * 60_000)));
        await other.mutate(a.id, (cur) => succeed(cur, undefined, new Date(T0 + 30 * 60_000)));
        // A later change of a finished operation does not enter it again.
        await store.mutate(b.id, (cur) => ({ ...cur, attempts: 9 }));
        expect(await store.outbox.pending(new Date(T0 + 1_000 * 60_000), 10)).toEqual([b.id, a.id]);
        expect(await other.outbox.pending(new Date(T0 + 1_000 * 60_000), 1)).toEqual([b.id]);
        // `before` is exclusive: only entries recorded strictly earlier.
        expect(await store.outbox.pending(new Date(T0 + 30 * 60_000), 10)).toEqual([b.id]);
        await other.outbox.done([b.id, randomUUID()]);
        expect(await store.outbox.pending(new Date(T0 + 1_000 * 60_000), 10)).toEqual([a.id]);
        await store.outbox.done([]);
        expect(await store.outbox.pending(new Date(T0 + 1_000 * 60_000), 10)).toEqual([a.id]);
        expect((await store.get(c.id))?.status).toBe('queued');
      }));

    it('a record created finished enters the outbox; deleteExpired takes the entry with the record', () =>
      withStore(async ({ store }) => {
        const done = succeed({ ...anOperation(0), status: 'running' }, undefined, new Date(T0 + 10 * 60_000));
        await store.create(done);
        const kept = anOperation(1);
        await store.create(kept);
        await store.mutate(kept.id, (cur) => succeed({ ...cur, status: 'running' }, undefined, new Date(T0 + 50 * 60_000)));
        expect(await store.outbox.pending(new Date(T0 + 1_000 * 60_000), 10)).toEqual([done.id, kept.id]);
        expect(await store.deleteExpired(new Date(T0 + 70 * 60_000))).toBe(1);
        expect(await store.outbox.pending(new Date(T0 + 1_000 * 60_000), 10)).toEqual([kept.id]);
      }, 30 * 60_000));
  });
}
