import { describe, expect, it } from 'vitest';
import { createMemoryOperationEvents } from '../../src/adapters/memory/event-bus.js';
import { createMemoryOperationStore } from '../../src/adapters/memory/operation-store.js';
import type { JobMessage, JobProcessor, JobResult, JobTransport } from '../../src/domain/operations/job-queue.js';
import { createOperationService } from '../../src/domain/operations/operation-service.js';
import { UpstreamRejectedError, UpstreamUnavailableError } from '../../src/domain/shared/errors.js';
import { systemClock } from '../../src/domain/shared/ids.js';
import { createInProcessTransport } from '../../src/jobs/in-process-transport.js';
import { createJobEngine } from '../../src/jobs/job-engine.js';
import type { JobKind } from '../../src/jobs/job-kind.js';
import { admin, recordingLogger, uuids, waitFor } from './helpers.js';
import { rig } from './engine-kit.js';

const redisDown = () => new UpstreamUnavailableError('REDIS_UNAVAILABLE', 'The job queue is unreachable; try again shortly.');

function setup(kinds: readonly JobKind[], wrap: (t: JobTransport) => JobTransport, deliveryAttempts = 5) {
  const logger = recordingLogger();
  const store = createMemoryOperationStore();
  const events = createMemoryOperationEvents();
  const transport = wrap(createInProcessTransport({ logger, redeliveryDelayMs: 20, deliveryAttempts }));
  const engine = createJobEngine({ transport, store, events, clock: systemClock, logger });
  engine.register(kinds);
  return { logger, store, events, engine };
}

describe('step runner', () => {
  it('when enqueueing the next step fails after the step was recorded, the redelivered job re-enqueues it; the step does not run again', async () => {
    const calls: string[] = [];
    const kinds: JobKind[] = [
      {
        kind: 'r.chain',
        firstStep: 'a',
        retry: { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 },
        steps: { a: async () => (calls.push('a'), { type: 'next', step: 'b' }), b: async () => (calls.push('b'), { type: 'done' }) },
      },
    ];
    let failed = false;
    const r = await rig(async () => {
      const h = setup(kinds, (t) => ({
        ...t,
        add: async (job, o) => {
          if (job.step === 'b' && !failed) {
            failed = true;
            throw redisDown();
          }
          return t.add(job, o);
        },
      }));
      return { ...h, close: () => h.engine.close() };
    }, []);
    const op = await r.start('r.chain');
    const done = await r.until(op.id, 'succeeded');
    expect(failed).toBe(true);
    expect(calls).toEqual(['a', 'b']);
    expect(done.attempts).toBe(1);
    await r.h.close();
  });

  it('tells the transport which job failed its operation (with the code), and no other job', async () => {
    const results: Array<[JobMessage, JobResult]> = [];
    let processor: JobProcessor | undefined;
    const kinds: JobKind[] = [
      {
        kind: 'r.fails',
        firstStep: 'a',
        retry: { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 },
        steps: {
          a: async () => ({ type: 'next', step: 'b' }),
          b: async () => Promise.reject(new UpstreamRejectedError('AZURE_REJECTED', 'The subscription has no quota left.')),
        },
      },
    ];
    const recording = (p: JobProcessor): JobProcessor => ({
      lost: (job, reason) => p.lost(job, reason),
      async process(job, signal) {
        const res = await p.process(job, signal);
        results.push([job, res]);
        return res;
      },
    });
    const h = setup(kinds, (t) => ({ ...t, start: (p, o) => ((processor = p), t.start(recording(p), o)) }));
    const service = createOperationService({ store: h.store, events: h.events, queue: h.engine, ids: uuids, clock: systemClock, logger: h.logger });
    await h.engine.startWorker({ concurrency: 1 });
    await service.start(admin, { kind: 'r.fails', target: { type: 'x', id: 'y' }, input: {} });
    await waitFor(() => (results.length === 2 ? true : undefined));
    expect(results.map(([job, res]) => [job.step, res])).toEqual([
      ['a', {}],
      ['b', { operationFailed: 'AZURE_REJECTED' }],
    ]);
    // The same job delivered again (a duplicate) finds the operation finished: it did not fail it.
    const [failing] = results[1] ?? [];
    expect(failing).toBeDefined();
    expect(await processor?.process(failing as JobMessage, new AbortController().signal)).toEqual({});
    await h.engine.close();
  });

  it("queues every job with its operation's rank: a top-level operation's creation time, a child's its parent's rank and its own", async () => {
    const added: Array<[string, readonly number[] | undefined]> = [];
    // The service exists once the engine does; the parent's step reaches it through this.
    const ref: { service?: ReturnType<typeof createOperationService> } = {};
    const kinds: JobKind[] = [
      {
        kind: 'r.parent',
        firstStep: 'a',
        retry: { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 },
        steps: {
          a: async () => (
            await ref.service?.start(admin, { kind: 'r.child', target: { type: 'x', id: 'c' }, input: {} }),
            { type: 'next', step: 'b' }
          ),
          b: async () => ({ type: 'done' }),
        },
      },
      { kind: 'r.child', firstStep: 'a', retry: { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 }, steps: { a: async () => ({ type: 'done' }) } },
    ];
    const h = setup(kinds, (t) => ({ ...t, add: (job, o) => (added.push([`${job.kind}/${job.step}`, o.rank]), t.add(job, o)) }));
    const service = createOperationService({ store: h.store, events: h.events, queue: h.engine, ids: uuids, clock: systemClock, logger: h.logger });
    ref.service = service;
    await h.engine.startWorker({ concurrency: 1 });
    const parent = await service.start(admin, { kind: 'r.parent', target: { type: 'x', id: 'p' }, input: {} });
    await waitFor(() => (added.length === 3 ? true : undefined));
    const child = (await h.store.list({ kind: 'r.child' }, { limit: 10 })).items[0];
    const parentAt = Date.parse(parent.createdAt);
    expect(child).toBeDefined();
    expect(added).toEqual([
      ['r.parent/a', [parentAt]],
      ['r.child/a', [parentAt, Date.parse(child?.createdAt ?? '')]],
      ['r.parent/b', [parentAt]],
    ]);
    await h.engine.close();
  });

  it('when the queue gives up on a job, the operation fails as JOB_LOST', async () => {
    const h = setup(
      [{ kind: 'r.lost', firstStep: 'a', retry: { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 }, steps: { a: async () => ({ type: 'done' }) } }],
      (t) => t,
      1,
    );
    const service = createOperationService({ store: h.store, events: h.events, queue: h.engine, ids: uuids, clock: systemClock, logger: h.logger });
    const op = await service.start(admin, { kind: 'r.lost', target: { type: 'x', id: 'y' }, input: {} });
    h.store.failNext(redisDown());
    await h.engine.startWorker({ concurrency: 1 });
    const failed = await waitFor(async () => {
      const cur = await h.store.get(op.id);
      return cur?.status === 'failed' ? cur : undefined;
    });
    expect(failed.error?.code).toBe('JOB_LOST');
    await h.engine.close();
  });
});
