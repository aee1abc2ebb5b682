import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createBullmqTransport } from '../../src/adapters/redis/bullmq-transport.js';
import { createRedisOperationEvents } from '../../src/adapters/redis/event-bus.js';
import { createRedisOperationStore } from '../../src/adapters/redis/operation-store.js';
import { createOperationService } from '../../src/domain/operations/operation-service.js';
import { systemClock } from '../../src/domain/shared/ids.js';
import { createJobEngine } from '../../src/jobs/job-engine.js';
import { crashKind } from './fixtures/crash-kind.js';
import { admin, deletePrefix, recordingLogger, redisClient, REDIS_URL, testPrefix, uuids, waitFor } from './helpers.js';

const prefix = testPrefix();
const redis = redisClient();
const children: ChildProcess[] = [];
const fixture = fileURLToPath(new URL('./fixtures/crash-worker.ts', import.meta.url));

function startWorker(block: boolean): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
    env: { ...process.env, REDIS_URL, PREFIX: prefix, BLOCK: block ? '1' : '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`worker exited early with ${String(code)}`)));
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve(child);
    });
  });
}

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await deletePrefix(redis, prefix);
  await redis.quit();
});

describe('crash recovery (BullMQ on the local Redis)', () => {
  it('when a worker is killed mid-step, another worker finishes the operation and the effect happens once', async () => {
    const logger = recordingLogger();
    const store = createRedisOperationStore({ redis, prefix });
    const events = createRedisOperationEvents({ redis, prefix, logger });
    const engine = createJobEngine({
      transport: createBullmqTransport({ url: REDIS_URL, prefix: `${prefix}:bull`, logger }),
      store,
      events,
      clock: systemClock,
      logger,
    });
    engine.register([crashKind(redis, prefix, false)]);
    const service = createOperationService({ store, events, queue: engine, ids: uuids, clock: systemClock, logger });

    const first = await startWorker(true);
    const op = await service.start(admin, { kind: 'crash.effect', tenant: 'lab1', target: { type: 'vm', id: 'vm-crash' }, input: {} });
    await waitFor(() => redis.get(`${prefix}:in-step:${op.id}`).then((v) => v !== null), 8_000, 'the effect step to start');
    const exited = once(first, 'exit');
    first.kill('SIGKILL');
    await exited;

    const second = await startWorker(false);
    const done = await waitFor(
      async () => {
        const r = await store.get(op.id);
        return r?.status === 'succeeded' || r?.status === 'failed' ? r : undefined;
      },
      12_000,
      'the operation to finish',
    );

    expect(done.status).toBe('succeeded');
    expect(done.result).toEqual({ effect: 'applied' });
    expect(done.attempts).toBe(2);
    expect(await redis.get(`${prefix}:effects:${op.id}`)).toBe('1');
    expect(await redis.get(`${prefix}:runs:${op.id}:prepare`)).toBe('1');
    expect(await redis.get(`${prefix}:runs:${op.id}:effect`)).toBe('2');

    const stopped = once(second, 'exit');
    second.kill('SIGTERM');
    const [code] = (await stopped) as [number | null];
    expect(code).toBe(0);
    await engine.close();
    await events.close();
  }, 25_000);
});
