import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { createBullmqTransport } from '../../src/adapters/redis/bullmq-transport.js';
import { createRedisOperationStore } from '../../src/adapters/redis/operation-store.js';
import { createRedisOperationEvents } from '../../src/adapters/redis/event-bus.js';
import { createRedisClient } from '../../src/adapters/redis/redis-connection.js';
import { createOperationService } from '../../src/domain/operations/operation-service.js';
import { systemClock } from '../../src/domain/shared/ids.js';
import { createJobEngine } from '../../src/jobs/job-engine.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { UpstreamUnavailableError } from '../../src/domain/shared/errors.js';
import { admin, recordingLogger, uuids, waitFor } from './helpers.js';
import { anOperation } from '../contracts/operation-store.contract.js';

async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const addr = srv.address();
  srv.close();
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return addr.port;
}

/** A private redis-server this test may stop and start (the shared one is never touched). */
async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${String(code)}`)));
    child.stdout?.on('data', (b: Buffer) => {
      if (b.toString().includes('Ready to accept connections')) resolve();
    });
  });
  return child;
}

const servers: ChildProcess[] = [];
let unhandled = 0;
process.on('unhandledRejection', () => void (unhandled += 1));
afterAll(() => {
  for (const s of servers) if (s.exitCode === null) s.kill('SIGKILL');
});

describe('Redis faults', () => {
  it('when Redis is unreachable, stores and the queue fail fast with REDIS_UNAVAILABLE, then recover by themselves', async () => {
    const port = await freePort();
    servers.push(await startRedis(port));
    const url = `redis://127.0.0.1:${port}`;
    const logger = recordingLogger();
    const redis = createRedisClient({ url, logger, name: 'test' });
    const store = createRedisOperationStore({ redis, prefix: 'lp' });
    const transport = createBullmqTransport({ url, logger, callTimeoutMs: 1_000 });
    const op = anOperation(1);
    await store.create(op);
    await transport.add({ kind: 'vm.create', operationId: op.id, step: 'create', generation: 0 }, { delayMs: 0 });

    const server = servers[0] as ChildProcess;
    server.kill('SIGKILL');
    await once(server, 'exit');

    const t0 = Date.now();
    const storeErr = await store.get(op.id).catch((e: unknown) => e);
    const queueErr = await transport
      .add({ kind: 'vm.create', operationId: op.id, step: 'create', generation: 1 }, { delayMs: 0 })
      .catch((e: unknown) => e);
    expect(Date.now() - t0).toBeLessThan(4_000);
    for (const err of [storeErr, queueErr]) {
      expect(err).toBeInstanceOf(UpstreamUnavailableError);
      expect((err as UpstreamUnavailableError).code).toBe('REDIS_UNAVAILABLE');
      expect((err as UpstreamUnavailableError).retryAfterSeconds).toBe(5);
    }
    expect(logger.entries.some((e) => e.level === 'warn' && /lost/.test(e.msg ?? ''))).toBe(true);

    servers.push(await startRedis(port));
    await waitFor(
      async () =>
        (await store.create(anOperation(2)).then(
          () => true,
          () => false,
        )) || undefined,
      8_000,
      'the store to recover',
    );
    await waitFor(
      async () =>
        (await transport.counts().then(
          () => true,
          () => false,
        )) || undefined,
      8_000,
      'the queue to recover',
    );
    await transport.close();
    await redis.quit();
  }, 20_000);

  it('a worker survives a Redis outage without crashing and takes jobs again when Redis is back', async () => {
    const port = await freePort();
    const first = await startRedis(port);
    servers.push(first);
    const url = `redis://127.0.0.1:${port}`;
    const logger = recordingLogger();
    const redis = createRedisClient({ url, logger, name: 'test' });
    const store = createRedisOperationStore({ redis, prefix: 'lp', publishTo: 'lp' });
    const events = createRedisOperationEvents({ redis, prefix: 'lp', logger });
    const engine = createJobEngine({
      transport: createBullmqTransport({ url, logger, callTimeoutMs: 1_000 }),
      store,
      events,
      clock: systemClock,
      logger,
    });
    engine.register([
      { kind: 'f.noop', firstStep: 'a', retry: { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 }, steps: { a: async () => ({ type: 'done' }) } },
    ]);
    const service = createOperationService({ store, events, queue: engine, ids: uuids, clock: systemClock, logger });
    await engine.startWorker({ concurrency: 2 });
    const before = unhandled;

    first.kill('SIGKILL');
    await once(first, 'exit');
    // Real time: the killed process's Redis connections and locks expire on Redis's clock.
    await sleep(1_500);
    const refused = await service.start(admin, { kind: 'f.noop', target: { type: 'x', id: 'y' }, input: {} }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(UpstreamUnavailableError);

    servers.push(await startRedis(port));
    const op = await waitFor(
      () => service.start(admin, { kind: 'f.noop', target: { type: 'x', id: 'z' }, input: {} }).catch(() => undefined),
      10_000,
      'starting an operation again',
    );
    await waitFor(async () => (await store.get(op.id))?.status === 'succeeded', 10_000, 'the worker to run it');
    expect(unhandled).toBe(before);
    await engine.close();
    await events.close();
    await redis.quit();
  }, 30_000);
});
