import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { isTerminal, operationListKey, type OperationRecord } from '../../domain/operations/operation.js';
import {
  DEFAULT_OPERATION_RETENTION_MS,
  finishedMsOf,
  matchesFilter,
  type OperationFilter,
  type OperationStore,
} from '../../domain/operations/operation-store.js';
import { ConflictError } from '../../domain/shared/errors.js';
import { decodeCursor, encodeCursor } from '../../domain/shared/page.js';
import { isCancelOfRunning } from '../../domain/operations/operation-events.js';
import { operationChannels } from './event-bus.js';
import { guarded, luaScript } from './redis-connection.js';

export interface RedisOperationStoreDeps {
  readonly redis: Redis;
  /** Key prefix, e.g. 'lp' → `lp:op:<id>`, `lp:ops:all`... */
  readonly prefix: string;
  /** How long finished operations are kept, ms (default 7 days). */
  readonly retentionMs?: number;
  /** Records whose version this process knows, to skip a read before compare-and-set. Default 10,000. */
  readonly cacheSize?: number;
  /**
   * Prefix of the Redis `OperationEvents` bus to publish every write on, from the same script as
   * the write: one command instead of two, and updates reach subscribers exactly when (and in the
   * order) they commit. The store then says `publishesChanges`, so the recorder does not publish.
   */
  readonly publishTo?: string;
}

// KEYS[1] record hash, KEYS[2] outbox, KEYS[3] finished index, KEYS[4..] index sorted sets. ARGV:
// version, json, listKey, channels to publish the json on ('' for none), finished ms ('' unless
// the record is terminal: then it enters the outbox and the finished index), id.
const CREATE = luaScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'j', ARGV[2])
for i = 4, #KEYS do redis.call('ZADD', KEYS[i], 0, ARGV[3]) end
if ARGV[6] ~= '' then
  redis.call('ZADD', KEYS[2], ARGV[6], ARGV[7])
  redis.call('ZADD', KEYS[3], ARGV[6], ARGV[7])
end
for i = 4, 5 do if ARGV[i] ~= '' then redis.call('PUBLISH', ARGV[i], ARGV[2]) end end
return 1`);

// KEYS: record, open index, finished index, outbox. ARGV: expected version, new version, json,
// listKey, terminal (0/1: the write finishes the operation), finished ms, id, channels ('' for none).
// Returns {1} or {0, version, json} (false when absent).
const CAS = luaScript(`
local cur = redis.call('HMGET', KEYS[1], 'v', 'j')
if cur[1] ~= ARGV[1] then return {0, cur[1], cur[2]} end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'j', ARGV[3])
if ARGV[5] == '1' then
  redis.call('ZREM', KEYS[2], ARGV[4])
  redis.call('ZADD', KEYS[3], ARGV[6], ARGV[7])
  redis.call('ZADD', KEYS[4], ARGV[6], ARGV[7])
end
for i = 8, 9 do if ARGV[i] ~= '' then redis.call('PUBLISH', ARGV[i], ARGV[3]) end end
return {1}`);

// KEYS: record, finished index, outbox, then its index sets. ARGV: id, listKey.
const DELETE = luaScript(`
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
for i = 4, #KEYS do redis.call('ZREM', KEYS[i], ARGV[2]) end
return 1`);

const SCAN_BATCH = 200;

/**
 * `OperationStore` on Redis. A record is a hash {v: version token, j: JSON}; writes are Lua
 * compare-and-set on the version, so concurrent writers (API, several workers) never lose an
 * update. Lists walk sorted-set indexes (all, tenant, kind, target, parent, open) in
 * `operationListKey` order with ZRANGEBYLEX and filter the rest in process. Finished records are
 * deleted by `deleteExpired` (run by the job engine's housekeeping), not by key TTLs, so indexes
 * never point at vanished records for long.
 */
export function createRedisOperationStore(deps: RedisOperationStoreDeps): OperationStore {
  const { redis, prefix } = deps;
  const retentionMs = deps.retentionMs ?? DEFAULT_OPERATION_RETENTION_MS;
  const cacheSize = deps.cacheSize ?? 10_000;
  const known = new Map<string, { v: string; j: string }>();
  const channels = deps.publishTo === undefined ? undefined : operationChannels(deps.publishTo);
  /** Where to publish `r` from the write script: [all updates, cancels] ('' = not there). */
  const publishArgs = (r: OperationRecord): [string, string] =>
    channels === undefined ? ['', ''] : [channels.main, isCancelOfRunning(r) ? channels.cancels : ''];
  const k = {
    op: (id: string) => `${prefix}:op:${id}`,
    all: `${prefix}:ops:all`,
    open: `${prefix}:ops:open`,
    finished: `${prefix}:ops:finished`,
    /** Sorted set of terminal operations' ids (score: finished ms) whose follow-ups are not done. */
    outbox: `${prefix}:ops:outbox`,
    tenant: (t: string) => `${prefix}:ops:tenant:${enc(t)}`,
    kind: (kd: string) => `${prefix}:ops:kind:${enc(kd)}`,
    target: (type: string, id: string) => `${prefix}:ops:target:${enc(type)}:${enc(id)}`,
    parent: (id: string) => `${prefix}:ops:parent:${id}`,
  };

  function remember(id: string, v: string, j: string): void {
    known.delete(id);
    known.set(id, { v, j });
    if (known.size > cacheSize) {
      const oldest = known.keys().next();
      if (oldest.done !== true) known.delete(oldest.value);
    }
  }

  function indexesOf(r: OperationRecord): string[] {
    const keys = [k.all, k.kind(r.kind), k.target(r.target.type, r.target.id)];
    if (r.tenant !== undefined) keys.push(k.tenant(r.tenant));
    if (r.parentId !== undefined) keys.push(k.parent(r.parentId));
    return keys;
  }

  /** The narrowest index that holds every match of `filter`. */
  function indexFor(f: OperationFilter): string {
    if (f.target !== undefined) return k.target(f.target.type, f.target.id);
    if (f.parentId !== undefined) return k.parent(f.parentId);
    if (f.tenant !== undefined) return k.tenant(f.tenant);
    const statuses = f.status === undefined ? undefined : typeof f.status === 'string' ? [f.status] : f.status;
    if (statuses !== undefined && statuses.length > 0 && statuses.every((s) => !isTerminal(s))) return k.open;
    if (f.kind !== undefined) return k.kind(f.kind);
    return k.all;
  }

  async function readMany(ids: readonly string[]): Promise<Array<OperationRecord | undefined>> {
    if (ids.length === 0) return [];
    const pipe = redis.pipeline();
    for (const id of ids) pipe.hmget(k.op(id), 'v', 'j');
    const res = (await pipe.exec()) ?? [];
    return res.map(([err, val], i) => {
      if (err !== null) throw err;
      const [v, j] = val as [string | null, string | null];
      if (v === null || j === null) return undefined;
      remember(ids[i] as string, v, j);
      return JSON.parse(j) as OperationRecord;
    });
  }

  async function readRaw(id: string): Promise<{ v: string; j: string } | undefined> {
    const [v, j] = await redis.hmget(k.op(id), 'v', 'j');
    if (v == null || j == null) return undefined;
    remember(id, v, j);
    return { v, j };
  }

  const idOfMember = (m: string): string => m.slice(m.indexOf(':') + 1);

  return {
    publishesChanges: channels !== undefined,

    create: (record) =>
      guarded('operation store', async () => {
        const v = randomUUID();
        const j = JSON.stringify(record);
        const terminal = isTerminal(record.status);
        const keys = [k.op(record.id), k.outbox, k.finished, ...indexesOf(record), ...(terminal ? [] : [k.open])];
        const created = await CREATE.run(redis, keys, [
          v,
          j,
          operationListKey(record),
          ...publishArgs(record),
          terminal ? finishedMsOf(record) : '',
          record.id,
        ]);
        if (created !== 1) throw new ConflictError('OPERATION_EXISTS', `operation '${record.id}' already exists.`);
        remember(record.id, v, j);
      }),

    get: (id) => guarded('operation store', async () => (await readMany([id]))[0]),

    mutate: (id, change) =>
      guarded('operation store', async () => {
        let cur = known.get(id);
        let fresh = false;
        if (cur === undefined) {
          cur = await readRaw(id);
          if (cur === undefined) return undefined;
          fresh = true;
        }
        for (;;) {
          const current = JSON.parse(cur.j) as OperationRecord;
          const next = change(current);
          if (next === undefined) {
            if (fresh) return { operation: current, changed: false };
            // The cached copy may be stale: decide again on what Redis holds.
            const latest = await readRaw(id);
            if (latest === undefined) return undefined;
            if (latest.v === cur.v) return { operation: current, changed: false };
            cur = latest;
            fresh = true;
            continue;
          }
          if (next.id !== id) throw new TypeError('a change must not alter the operation id');
          const nv = randomUUID();
          const nj = JSON.stringify(next);
          const terminal = isTerminal(next.status) && !isTerminal(current.status);
          const res = (await CAS.run(
            redis,
            [k.op(id), k.open, k.finished, k.outbox],
            [cur.v, nv, nj, operationListKey(next), terminal ? '1' : '0', finishedMsOf(next), id, ...publishArgs(next)],
          )) as [number, string | null, string | null];
          if (res[0] === 1) {
            remember(id, nv, nj);
            return { operation: next, changed: true };
          }
          if (res[1] === null || res[2] === null) {
            known.delete(id);
            return undefined;
          }
          cur = { v: res[1], j: res[2] };
          fresh = true;
          remember(id, cur.v, cur.j);
        }
      }),

    list: (filter, page, accept) =>
      guarded('operation store', async () => {
        const index = indexFor(filter);
        let after = page.cursor === undefined ? undefined : decodeCursor(page.cursor);
        const items: OperationRecord[] = [];
        let more = false;
        for (;;) {
          const members = await redis.zrangebylex(index, after === undefined ? '-' : `(${after}`, '+', 'LIMIT', 0, SCAN_BATCH);
          const records = await readMany(members.map(idOfMember));
          for (let i = 0; i < members.length; i += 1) {
            const r = records[i];
            if (r === undefined || !matchesFilter(r, filter) || (accept !== undefined && !accept(r))) continue;
            if (items.length === page.limit) {
              more = true;
              break;
            }
            items.push(r);
          }
          if (more || members.length < SCAN_BATCH) break;
          after = members.at(-1);
        }
        const last = items.at(-1);
        return more && last !== undefined ? { items, nextCursor: encodeCursor(operationListKey(last)) } : { items };
      }),

    listChildren: (parentId) =>
      guarded('operation store', async () => {
        const members = await redis.zrangebylex(k.parent(parentId), '-', '+');
        const records = await readMany(members.reverse().map(idOfMember));
        return records.filter((r): r is OperationRecord => r !== undefined);
      }),

    deleteExpired: (now) =>
      guarded('operation store', async () => {
        const limit = now.getTime() - retentionMs;
        let n = 0;
        for (;;) {
          const ids = await redis.zrangebyscore(k.finished, '-inf', `(${limit}`, 'LIMIT', 0, SCAN_BATCH);
          const records = await readMany(ids);
          for (let i = 0; i < ids.length; i += 1) {
            const id = ids[i] as string;
            const r = records[i];
            const keys = [k.op(id), k.finished, k.outbox, ...(r === undefined ? [] : indexesOf(r))];
            await DELETE.run(redis, keys, [id, r === undefined ? '' : operationListKey(r)]);
            known.delete(id);
            n += r === undefined ? 0 : 1;
          }
          if (ids.length < SCAN_BATCH) return n;
        }
      }),

    outbox: {
      pending: (before, limit) => guarded('operation store', () => redis.zrangebyscore(k.outbox, '-inf', `(${before.getTime()}`, 'LIMIT', 0, limit)),
      done: (ids) =>
        guarded('operation store', async () => {
          if (ids.length > 0) await redis.zrem(k.outbox, ...ids);
        }),
    },
  };
}

function enc(s: string): string {
  return encodeURIComponent(s);
}
