import { setTimeout as sleep } from 'node:timers/promises';
import { isTerminal, operationListKey, type OperationRecord } from '../../domain/operations/operation.js';
import { DEFAULT_OPERATION_RETENTION_MS, finishedMsOf, matchesFilter, type OperationStore } from '../../domain/operations/operation-store.js';
import { ConflictError } from '../../domain/shared/errors.js';
import { pageByKey } from '../../domain/shared/page.js';

export interface MemoryOperationStoreDeps {
  /** How long finished operations are kept, ms (default 7 days). */
  readonly retentionMs?: number;
  /** Records present from the start. */
  readonly operations?: readonly OperationRecord[];
}

/** In-memory `OperationStore` (embedded default, tests) with seeding and fault injection. */
export interface MemoryOperationStore extends OperationStore {
  /** The next call (any method) rejects with `err` and changes nothing. */
  failNext(err: Error): void;
  /** Every call waits this long first (0 turns it off). */
  latency(ms: number): void;
}

export function createMemoryOperationStore(deps: MemoryOperationStoreDeps = {}): MemoryOperationStore {
  const retentionMs = deps.retentionMs ?? DEFAULT_OPERATION_RETENTION_MS;
  const records = new Map<string, OperationRecord>();
  for (const r of deps.operations ?? []) records.set(r.id, structuredClone(r));
  /** The outbox: id → when the operation finished (epoch ms). */
  const outbox = new Map<string, number>();
  const enterOutbox = (r: OperationRecord): void => {
    outbox.set(r.id, finishedMsOf(r));
  };
  let pendingFault: Error | undefined;
  let delayMs = 0;

  async function enter(): Promise<void> {
    if (delayMs > 0) await sleep(delayMs);
    const f = pendingFault;
    pendingFault = undefined;
    if (f !== undefined) throw f;
  }

  return {
    failNext(err) {
      pendingFault = err;
    },
    latency(ms) {
      delayMs = ms;
    },

    async create(record) {
      await enter();
      if (records.has(record.id)) throw new ConflictError('OPERATION_EXISTS', `operation '${record.id}' already exists.`);
      records.set(record.id, structuredClone(record));
      if (isTerminal(record.status)) enterOutbox(record);
    },

    async get(id) {
      await enter();
      const r = records.get(id);
      return r === undefined ? undefined : structuredClone(r);
    },

    async mutate(id, change) {
      await enter();
      const cur = records.get(id);
      if (cur === undefined) return undefined;
      const next = change(structuredClone(cur));
      if (next === undefined) return { operation: structuredClone(cur), changed: false };
      if (next.id !== id) throw new TypeError('a change must not alter the operation id');
      records.set(id, structuredClone(next));
      if (isTerminal(next.status) && !isTerminal(cur.status)) enterOutbox(next);
      return { operation: structuredClone(next), changed: true };
    },

    async list(filter, page, accept) {
      await enter();
      const matching = [...records.values()]
        .filter((r) => matchesFilter(r, filter) && (accept === undefined || accept(r)))
        .map((r) => ({ key: operationListKey(r), r }))
        .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      const res = pageByKey(matching, (m) => m.key, page);
      const items = res.items.map((m) => structuredClone(m.r));
      return res.nextCursor === undefined ? { items } : { items, nextCursor: res.nextCursor };
    },

    async listChildren(parentId) {
      await enter();
      return [...records.values()]
        .filter((r) => r.parentId === parentId)
        .sort((a, b) => operationListKey(b).localeCompare(operationListKey(a)))
        .map((r) => structuredClone(r));
    },

    async deleteExpired(now) {
      await enter();
      const limit = now.getTime() - retentionMs;
      let n = 0;
      for (const [id, r] of records) {
        if (r.finishedAt !== undefined && Date.parse(r.finishedAt) < limit) {
          records.delete(id);
          outbox.delete(id);
          n += 1;
        }
      }
      return n;
    },

    outbox: {
      async pending(before, limit) {
        await enter();
        return [...outbox]
          .filter(([, at]) => at < before.getTime())
          .sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1))
          .slice(0, limit)
          .map(([id]) => id);
      },
      async done(ids) {
        await enter();
        for (const id of ids) outbox.delete(id);
      },
    },
  };
}
