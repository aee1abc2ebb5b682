import { afterEach, describe, expect, it } from 'vitest';
import type { Operation } from '../../src/domain/operations/operation.js';
import { UpstreamRejectedError, UpstreamUnavailableError, ValidationError } from '../../src/domain/shared/errors.js';
import { engineCancelContract } from './engine-cancel.contract.js';
import { kind, rig, type EngineFactory, type MakeRig, type Rig } from '../jobs/engine-kit.js';
import { engineWakeContract } from './engine-wake.contract.js';
import { engineWorkerContract } from './engine-worker.contract.js';

export type { EngineFactory, EngineHarness } from '../jobs/engine-kit.js';

/** The JobEngine contract: every engine (BullMQ, in-process) must pass all of it. */
export function engineContract(name: string, factory: EngineFactory): void {
  describe(`JobEngine contract: ${name}`, () => {
    const rigs: Rig[] = [];
    const make: MakeRig = async (kinds, opts) => {
      const r = await rig(factory, kinds, opts);
      rigs.push(r);
      return r;
    };
    afterEach(async () => {
      await Promise.all(rigs.splice(0).map((r) => r.h.close()));
    });

    it('runs an operation through several steps, each as its own job, and records the result', async () => {
      const seen: string[] = [];
      const r = await make([
        kind('t.multi', {
          a: async (c) => (seen.push(`a${c.attempt}`), { type: 'next', step: 'b', progress: 30 }),
          b: async (c) => {
            seen.push(`b${c.attempt}`);
            await c.report({ percent: 60 });
            return { type: 'next', step: 'c' };
          },
          c: async (c) => (seen.push(`c:${String(c.operation.input.size)}`), { type: 'done', result: { vmId: 'vm-1' } }),
        }),
      ]);
      // Subscribed before the operation starts (to its tenant's updates: its id is not known yet), so a
      // worker that runs all three steps before a late subscription is live cannot make it miss them.
      const all: Operation[] = [];
      const sub = await r.h.events.subscribe({ tenant: 'lab1' }, (u) => all.push(u));
      const op = await r.start('t.multi', { size: 3 });
      expect(op.status).toBe('queued');
      const done = await r.until(op.id, 'succeeded');
      const updates = (): Operation[] => all.filter((u) => u.id === op.id);
      expect(seen).toEqual(['a1', 'b1', 'c:3']);
      expect(done.result).toEqual({ vmId: 'vm-1' });
      expect(done.progress).toEqual({ percent: 100, step: 'c' });
      expect(done.attempts).toBe(1);
      expect(done.startedAt).toBeDefined();
      expect(done.finishedAt).toBeDefined();
      expect(done.error).toBeUndefined();
      await r.time.waitFor(() => updates().at(-1)?.status === 'succeeded', 5_000, 'the last update to say succeeded');
      sub.unsubscribe();
      expect(updates().some((u) => u.progress.percent === 60)).toBe(true);
    });

    it('retries a transient failure of the same step with backoff, then succeeds and records the attempts', async () => {
      const calls: Array<{ step: string; at: number; attempt: number }> = [];
      let failures = 0;
      const r = await make([
        kind('t.flaky', {
          prepare: async () => (calls.push({ step: 'prepare', at: r.time.now(), attempt: 1 }), { type: 'next', step: 'call' }),
          call: async (c) => {
            calls.push({ step: 'call', at: r.time.now(), attempt: c.attempt });
            if (failures < 2) {
              failures += 1;
              throw new UpstreamUnavailableError('AZURE_THROTTLED', 'Azure is throttling requests.');
            }
            return { type: 'done' };
          },
        }),
      ]);
      const op = await r.start('t.flaky');
      const done = await r.until(op.id, 'succeeded');
      expect(calls.map((c) => `${c.step}${c.attempt}`)).toEqual(['prepare1', 'call1', 'call2', 'call3']);
      expect(done.attempts).toBe(3);
      // random() = 1: the full-jitter ceiling, 40 ms then 80 ms
      const [, c1, c2, c3] = calls;
      expect((c2?.at ?? 0) - (c1?.at ?? 0)).toBeGreaterThanOrEqual(35);
      expect((c3?.at ?? 0) - (c2?.at ?? 0)).toBeGreaterThanOrEqual(75);
      expect(done.error).toBeUndefined();
    });

    it('waits at least Retry-After before retrying', async () => {
      const at: number[] = [];
      const r = await make([
        kind('t.after', {
          a: async () => {
            at.push(r.time.now());
            if (at.length === 1) throw new UpstreamUnavailableError('AZURE_THROTTLED', 'slow down', { retryAfterSeconds: 0.3 });
            return { type: 'done' };
          },
        }),
      ]);
      const op = await r.start('t.after');
      await r.until(op.id, 'succeeded');
      expect((at[1] ?? 0) - (at[0] ?? 0)).toBeGreaterThanOrEqual(290);
    });

    it('fails after the last attempt of a transient failure, saying it gave up', async () => {
      let calls = 0;
      const r = await make([
        kind(
          't.down',
          { a: async () => (calls++, Promise.reject(new UpstreamUnavailableError('KUBERNETES_UNAVAILABLE', 'The cluster is unreachable.'))) },
          { attempts: 2, baseDelayMs: 10, maxDelayMs: 10 },
        ),
      ]);
      const op = await r.start('t.down');
      const failed = await r.until(op.id, 'failed');
      expect(calls).toBe(2);
      expect(failed.attempts).toBe(2);
      expect(failed.error).toMatchObject({ code: 'KUBERNETES_UNAVAILABLE', title: 'The cluster is unreachable.' });
      expect(failed.error?.detail).toMatch(/Gave up after 2/);
    });

    it('fails a permanent error at once with its code and reason, without retrying', async () => {
      let calls = 0;
      const r = await make([
        kind('t.reject', {
          a: async () => {
            calls += 1;
            throw new UpstreamRejectedError('AZURE_REJECTED', 'The subscription holds 5000 role assignments.');
          },
        }),
      ]);
      const op = await r.start('t.reject');
      const failed = await r.until(op.id, 'failed');
      // The wait is the window in which a wrong retry would run.
      await r.time.elapse(100);
      expect(calls).toBe(1);
      expect(failed.attempts).toBe(1);
      expect(failed.error).toEqual({ code: 'AZURE_REJECTED', title: 'The subscription holds 5000 role assignments.' });
      expect(failed.finishedAt).toBeDefined();
    });

    it('finishes the job that failed its operation as a failed job (what dashboards count), without redelivering it', async () => {
      let calls = 0;
      const r = await make([
        kind('t.broken', {
          a: async () => ({ type: 'next', step: 'b' }),
          b: async () => {
            calls += 1;
            throw new UpstreamRejectedError('KUBERNETES_REJECTED', 'The image source answered 404.');
          },
        }),
        kind('t.fine', { a: async () => ({ type: 'done' }) }),
      ]);
      const ok = await r.start('t.fine');
      await r.until(ok.id, 'succeeded');
      const op = await r.start('t.broken');
      const failed = await r.until(op.id, 'failed');
      const counts = await r.time.waitFor(
        async () => {
          const [c] = await r.h.engine.counts();
          return c !== undefined && c.failed > 0 ? c : undefined;
        },
        5_000,
        'a failed job',
      );
      expect(counts).toMatchObject({ failed: 1, completed: 2, active: 0 });
      expect(calls).toBe(1);
      expect(failed.attempts).toBe(1);
      expect(failed.error).toEqual({ code: 'KUBERNETES_REJECTED', title: 'The image source answered 404.' });
      expect(r.h.logger.entries.filter((e) => e.level === 'error')).toEqual([]);
    });

    it('records an unexpected error as INTERNAL without its message, and logs it', async () => {
      const r = await make([kind('t.bug', { a: async () => Promise.reject(new Error('secret=hunter2 in a stack')) })]);
      const op = await r.start('t.bug');
      const failed = await r.until(op.id, 'failed');
      expect(failed.error).toEqual({ code: 'INTERNAL', title: 'The operation failed because of an internal error.' });
      expect(JSON.stringify(failed)).not.toContain('hunter2');
      expect(r.h.logger.entries.some((e) => e.level === 'error')).toBe(true);
    });

    it('re-checks after a delay without holding a worker slot, and without counting attempts', async () => {
      const at: number[] = [];
      const r = await make(
        [
          kind('t.wait', {
            poll: async () => (at.push(r.time.now()), at.length < 3 ? { type: 'recheck', delayMs: 400, progress: at.length * 10 } : { type: 'done' }),
          }),
          kind('t.quick', { a: async () => ({ type: 'done' }) }),
        ],
        { concurrency: 1 },
      );
      const waiting = await r.start('t.wait');
      // The first job must hold the only slot before the second is enqueued.
      await r.time.elapse(50);
      const quick = await r.start('t.quick');
      const quickDone = await r.until(quick.id, 'succeeded', 2_000);
      const done = await r.until(waiting.id, 'succeeded');
      expect(at).toHaveLength(3);
      // The only worker slot ran the quick operation while the other one waited for its re-check
      expect(Date.parse(quickDone.finishedAt ?? '')).toBeLessThan(at[1] ?? 0);
      expect((at[1] ?? 0) - (at[0] ?? 0)).toBeGreaterThanOrEqual(390);
      expect((at[2] ?? 0) - (at[1] ?? 0)).toBeGreaterThanOrEqual(390);
      expect(done.attempts).toBe(1);
    });

    it('rejects an unknown kind before recording anything', async () => {
      const r = await make([kind('t.known', { a: async () => ({ type: 'done' }) })]);
      await expect(r.start('t.unknown')).rejects.toBeInstanceOf(ValidationError);
      const page = await r.h.store.list({}, { limit: 10 });
      expect(page.items).toHaveLength(0);
    });

    engineCancelContract(make);
    engineWorkerContract(make);
    engineWakeContract(make);
  });
}
