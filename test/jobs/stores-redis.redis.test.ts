import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedisOperationEvents } from '../../src/adapters/redis/event-bus.js';
import { createRedisIdempotencyStore } from '../../src/adapters/redis/idempotency-store.js';
import { createRedisOperationStore } from '../../src/adapters/redis/operation-store.js';
import { toOperation, type Operation } from '../../src/domain/operations/operation.js';
import { deletePrefix, recordingLogger, redisClient, testPrefix, waitFor } from './helpers.js';
import { idempotencyStoreContract } from '../contracts/idempotency-store.contract.js';
import { operationEventsContract } from '../contracts/operation-events.contract.js';
import { anOperation, operationStoreContract } from '../contracts/operation-store.contract.js';

const prefix = testPrefix();
const redis = redisClient();
const peerRedis = redisClient();
afterAll(async () => {
  await deletePrefix(redis, prefix);
  await Promise.all([redis.quit(), peerRedis.quit()]);
});
const fresh = (): string => `${prefix}:${randomUUID().slice(0, 8)}`;

operationStoreContract('redis', async ({ retentionMs }) => {
  const p = fresh();
  return {
    store: createRedisOperationStore({ redis, prefix: p, retentionMs }),
    peer: createRedisOperationStore({ redis: peerRedis, prefix: p, retentionMs }),
    close: () => deletePrefix(redis, p),
  };
});

idempotencyStoreContract('redis', async ({ inProgressTtlMs }) => {
  const p = fresh();
  return { store: createRedisIdempotencyStore({ redis, prefix: p, inProgressTtlMs }), close: () => deletePrefix(redis, p) };
});

operationEventsContract('redis', async () => {
  const p = fresh();
  const logger = recordingLogger();
  const a = createRedisOperationEvents({ redis, prefix: p, logger });
  const b = createRedisOperationEvents({ redis: peerRedis, prefix: p, logger });
  return {
    a,
    b,
    close: async () => {
      await Promise.all([a.close(), b.close()]);
    },
  };
});

describe('Redis operation store publishing its writes', () => {
  it('publishes each create and change from the write script, as the client view, and says so', async () => {
    const p = fresh();
    const logger = recordingLogger();
    const store = createRedisOperationStore({ redis, prefix: p, publishTo: p });
    const bus = createRedisOperationEvents({ redis: peerRedis, prefix: p, logger });
    expect(store.publishesChanges).toBe(true);
    const got: Operation[] = [];
    const cancels: string[] = [];
    await bus.subscribe({ all: true }, (u) => got.push(u));
    await bus.subscribe({ cancels: true }, (u) => cancels.push(u.status));
    const op = anOperation(1);
    await store.create(op);
    await store.mutate(op.id, (cur) => ({ ...cur, status: 'running', cancelRequested: true }));
    await waitFor(() => got.length === 2 && cancels.length === 1, 2_000, 'two updates and a cancel');
    expect(got.map((u) => u.status)).toEqual(['queued', 'running']);
    expect(got[0]).toEqual(toOperation(op));
    expect(got[0]).not.toHaveProperty('input');
    expect(got[0]).not.toHaveProperty('cursor');
    expect(cancels).toEqual(['running']);
    await bus.close();
    await deletePrefix(redis, p);
  });
});
