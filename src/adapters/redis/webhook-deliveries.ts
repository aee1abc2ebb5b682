import type { Redis } from 'ioredis';
import { pageByKey } from '../../domain/shared/page.js';
import { systemClock, type Clock } from '../../domain/shared/ids.js';
import {
  DELIVERIES_PER_WEBHOOK,
  DELIVERY_RETENTION_MS,
  deliveryListKey,
  type DeliveryStore,
  type StoredDelivery,
} from '../../domain/webhooks/delivery.js';
import { guarded, luaScript } from './redis-connection.js';

export interface RedisDeliveryStoreDeps {
  readonly redis: Redis;
  /** Key prefix: records `${prefix}:whd:<id>`, per-webhook index `${prefix}:whd:hook:<webhookId>`. */
  readonly prefix: string;
  readonly clock?: Clock;
  /** Default `DELIVERIES_PER_WEBHOOK`. */
  readonly perWebhook?: number;
  /** Default `DELIVERY_RETENTION_MS`. */
  readonly retentionMs?: number;
}

// KEYS: record, index. ARGV: json, createdAt ms, id, ttl ms, max per webhook, oldest score kept, record key prefix.
const CREATE = luaScript(`
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[4]) then return 0 end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[6])) do redis.call('DEL', ARGV[7] .. m) end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[6])
local extra = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[5])
if extra > 0 then
  for _, m in ipairs(redis.call('ZRANGE', KEYS[2], 0, extra - 1)) do redis.call('DEL', ARGV[7] .. m) end
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, extra - 1)
end
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return 1`);

// KEYS: record. ARGV: json. Replaces the record only while it exists, keeping its expiry.
const UPDATE = luaScript(`
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
return 1`);

/**
 * `DeliveryStore` on Redis: one JSON string per delivery (expiring after the retention) and one
 * sorted set per webhook (by creation time) that `create` trims to the newest records, both in one
 * script. Lists read at most `perWebhook` records, so they need no index of their own.
 */
export function createRedisDeliveryStore(deps: RedisDeliveryStoreDeps): DeliveryStore {
  const { redis, prefix } = deps;
  const clock = deps.clock ?? systemClock;
  const perWebhook = deps.perWebhook ?? DELIVERIES_PER_WEBHOOK;
  const retentionMs = deps.retentionMs ?? DELIVERY_RETENTION_MS;
  const recordPrefix = `${prefix}:whd:`;
  const k = {
    record: (id: string) => `${recordPrefix}${id}`,
    index: (webhookId: string) => `${prefix}:whd:hook:${webhookId}`,
  };

  function parse(json: string | null): StoredDelivery | undefined {
    return json === null ? undefined : (JSON.parse(json) as StoredDelivery);
  }

  return {
    create: (d) =>
      guarded('webhook delivery store', async () => {
        const now = clock.now().getTime();
        const res = await CREATE.run(
          redis,
          [k.record(d.id), k.index(d.webhookId)],
          [JSON.stringify(d), Date.parse(d.createdAt), d.id, retentionMs, perWebhook, now - retentionMs, recordPrefix],
        );
        return res === 1;
      }),

    get: (id) => guarded('webhook delivery store', async () => parse(await redis.get(k.record(id)))),

    update: (d) =>
      guarded('webhook delivery store', async () => {
        await UPDATE.run(redis, [k.record(d.id)], [JSON.stringify(d)]);
      }),

    list: (webhookId, page) =>
      guarded('webhook delivery store', async () => {
        const ids = await redis.zrange(k.index(webhookId), 0, -1);
        const records = ids.length === 0 ? [] : (await redis.mget(...ids.map(k.record))).flatMap((j) => parse(j) ?? []);
        records.sort((a, b) => (deliveryListKey(a) < deliveryListKey(b) ? -1 : 1));
        return pageByKey(records, deliveryListKey, page);
      }),

    deleteFor: (webhookId) =>
      guarded('webhook delivery store', async () => {
        const ids = await redis.zrange(k.index(webhookId), 0, -1);
        await redis.del(k.index(webhookId), ...ids.map(k.record));
      }),
  };
}
