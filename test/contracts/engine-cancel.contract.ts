import { expect, it } from 'vitest';
import { ConflictError } from '../../src/domain/shared/errors.js';
import { blockUntilAborted, kind, type MakeRig } from '../jobs/engine-kit.js';
import { admin } from '../jobs/helpers.js';

/** Cancel semantics (part of the engine contract). */
export function engineCancelContract(make: MakeRig): void {
  it('cancels a queued operation at once; its job never runs', async () => {
    let calls = 0;
    const r = await make([kind('c.queued', { a: async () => (calls++, { type: 'done' }) })], { worker: false });
    const op = await r.start('c.queued');
    const canceled = await r.service.cancel(admin, op.id);
    expect(canceled.status).toBe('canceled');
    expect(canceled.cancelRequested).toBe(true);
    expect(canceled.result).toEqual({ stoppedAtStep: 'a', stepCompleted: false });
    await r.h.engine.startWorker({ concurrency: 2 });
    // The wait is the window in which a canceled job would wrongly run.
    await r.time.elapse(300);
    expect(calls).toBe(0);
    expect((await r.h.store.get(op.id))?.status).toBe('canceled');
  });

  it('cancels an operation waiting on a delayed re-check and drops the delayed job', async () => {
    let calls = 0;
    const r = await make([
      kind('c.delayed', {
        prep: async () => ({ type: 'next', step: 'wait' }),
        wait: async () => (calls++, { type: 'recheck', delayMs: 600 }),
      }),
    ]);
    const op = await r.start('c.delayed');
    await r.time.waitFor(() => calls === 1, 3_000, 'first check');
    await r.time.waitFor(async () => (await r.h.store.get(op.id))?.cursor.state === 'pending', 3_000, 'the re-check to be scheduled');
    const canceled = await r.service.cancel(admin, op.id);
    expect(canceled.status).toBe('canceled');
    expect(canceled.result).toEqual({ stoppedAtStep: 'wait', stepCompleted: false });
    const counts = await r.h.engine.counts();
    expect(counts.reduce((n, c) => n + c.delayed, 0)).toBe(0);
    // Longer than the step's recheck delay, which must not fire once canceled.
    await r.time.elapse(900);
    expect(calls).toBe(1);
  });

  it('cancels a running step through its abort signal and records where it stopped', async () => {
    let started = false;
    let nextRan = false;
    const r = await make([
      kind('c.running', {
        prep: async () => ({ type: 'next', step: 'long' }),
        long: async (c) => {
          started = true;
          return blockUntilAborted(c.signal);
        },
        after: async () => ((nextRan = true), { type: 'done' }),
      }),
    ]);
    const op = await r.start('c.running');
    await r.time.waitFor(() => started, 3_000, 'the long step to start');
    const requested = await r.service.cancel(admin, op.id);
    expect(requested.cancelRequested).toBe(true);
    const canceled = await r.until(op.id, 'canceled', 3_000);
    expect(canceled.result).toEqual({ stoppedAtStep: 'long', stepCompleted: false });
    expect(canceled.finishedAt).toBeDefined();
    expect(nextRan).toBe(false);
  });

  it('stops after the current step when the step ignores the signal, saying the step completed', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let secondRan = false;
    const r = await make([
      kind('c.stubborn', {
        one: async () => (await gate, { type: 'next', step: 'two' }),
        two: async () => ((secondRan = true), { type: 'done' }),
      }),
    ]);
    const op = await r.start('c.stubborn');
    await r.time.waitFor(async () => (await r.h.store.get(op.id))?.status === 'running', 3_000, 'running');
    await r.service.cancel(admin, op.id);
    release();
    const canceled = await r.until(op.id, 'canceled', 3_000);
    expect(canceled.result).toEqual({ stoppedAtStep: 'one', stepCompleted: true });
    // The wait is the window in which the next step would wrongly run.
    await r.time.elapse(200);
    expect(secondRan).toBe(false);
  });

  it('answers OPERATION_FINISHED when canceling a finished operation, and cancel is idempotent while canceling', async () => {
    const r = await make([kind('c.done', { a: async () => ({ type: 'done' }) })]);
    const op = await r.start('c.done');
    await r.until(op.id, 'succeeded');
    const err = await r.service.cancel(admin, op.id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as ConflictError).code).toBe('OPERATION_FINISHED');
  });
}
