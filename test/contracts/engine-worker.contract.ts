import { expect, it } from 'vitest';
import { blockUntilAborted, kind, type MakeRig } from '../jobs/engine-kit.js';

/** Queue and worker semantics (part of the engine contract). */
export function engineWorkerContract(make: MakeRig): void {
  it('runs a job once when it is enqueued twice with the same id', async () => {
    let calls = 0;
    // The step is slow on purpose, so both enqueues land while it runs.
    const r = await make([kind('w.once', { a: async () => (await r.time.sleep(50), calls++, { type: 'done' }) })]);
    const op = await r.start('w.once');
    await Promise.all([
      r.h.engine.enqueue('w.once', { operationId: op.id, step: 'a', generation: 0 }),
      r.h.engine.enqueue('w.once', { operationId: op.id }),
    ]);
    await r.until(op.id, 'succeeded');
    await r.h.engine.enqueue('w.once', { operationId: op.id, step: 'a', generation: 0 });
    // The wait is the window in which a wrong second run would show.
    await r.time.elapse(200);
    expect(calls).toBe(1);
  });

  it('skips a stale job (not the step and generation the operation expects) and never re-runs a completed step', async () => {
    const calls: string[] = [];
    const r = await make([
      kind('w.stale', {
        a: async () => (calls.push('a'), { type: 'next', step: 'b' }),
        b: async () => (calls.push('b'), calls.length < 3 ? { type: 'recheck', delayMs: 400 } : { type: 'done' }),
      }),
    ]);
    const op = await r.start('w.stale');
    await r.time.waitFor(() => calls.length === 2, 3_000, 'the first check of b');
    await r.h.engine.enqueue('w.stale', { operationId: op.id, step: 'a', generation: 9 });
    await r.h.engine.enqueue('w.stale', { operationId: op.id, step: 'b', generation: 9 });
    await r.until(op.id, 'succeeded');
    await r.h.engine.enqueue('w.stale', { operationId: op.id, step: 'b', generation: 10 });
    // The wait is the window in which a stale job would wrongly run.
    await r.time.elapse(200);
    expect(calls).toEqual(['a', 'b', 'b']);
  });

  it('never runs more steps at once than the concurrency', async () => {
    let now = 0;
    let max = 0;
    const r = await make(
      [
        kind('w.busy', {
          a: async () => {
            now += 1;
            max = Math.max(max, now);
            // A job holds its slot a while, so an over-concurrent worker would show.
            await r.time.sleep(80);
            now -= 1;
            return { type: 'done' };
          },
        }),
      ],
      { concurrency: 2 },
    );
    const ops = await Promise.all(Array.from({ length: 6 }, () => r.start('w.busy')));
    await Promise.all(ops.map((o) => r.until(o.id, 'succeeded')));
    expect(max).toBe(2);
  });

  it('on stop, lets a running step finish within the grace period', async () => {
    let finished = false;
    // The job outlives the stop's grace on purpose (what is tested is the grace).
    const r = await make([kind('w.grace', { a: async () => (await r.time.sleep(300), (finished = true), { type: 'done' }) })]);
    const op = await r.start('w.grace');
    await r.time.waitFor(async () => (await r.h.store.get(op.id))?.status === 'running', 3_000, 'running');
    // The grace is real time; the step's own 300 ms pass meanwhile (on a fake clock, moved by the test).
    const stopping = r.h.engine.stop({ graceMs: 3_000 });
    await r.time.elapse(300);
    await stopping;
    expect(finished).toBe(true);
    expect((await r.h.store.get(op.id))?.status).toBe('succeeded');
  });

  it('on stop, hands back a step that outlives the grace period; the next worker runs it', async () => {
    const runs: number[] = [];
    const r = await make([
      kind('w.handback', {
        a: async (c) => {
          runs.push(c.attempt);
          if (runs.length === 1) return blockUntilAborted(c.signal);
          return { type: 'done' };
        },
      }),
    ]);
    const op = await r.start('w.handback');
    await r.time.waitFor(() => runs.length === 1, 3_000, 'first run');
    // A stop's grace is real time in every engine: it bounds how long a process takes to shut down.
    const t0 = Date.now();
    await r.h.engine.stop({ graceMs: 200 });
    expect(Date.now() - t0).toBeLessThan(2_500);
    const handed = await r.h.store.get(op.id);
    expect(handed?.status).toBe('running');
    expect(handed?.cursor.state).toBe('pending');
    await r.h.engine.startWorker({ concurrency: 1 });
    const done = await r.until(op.id, 'succeeded');
    expect(runs).toEqual([1, 1]);
    expect(done.attempts).toBe(1);
  });

  it('publishes every change and reports queue counts and step timings', async () => {
    const outcomes: string[] = [];
    const r = await make([kind('w.metrics', { a: async () => ({ type: 'next', step: 'b' }), b: async () => ({ type: 'done' }) })]);
    const off = r.h.engine.onStepFinished((o) => outcomes.push(`${o.step}:${o.outcome}`));
    const statuses: string[] = [];
    const sub = await r.h.events.subscribe({ tenant: 'lab1' }, (u) => statuses.push(u.status));
    const op = await r.start('w.metrics');
    await r.until(op.id, 'succeeded');
    await r.time.waitFor(() => statuses.at(-1) === 'succeeded', 2_000, 'the last event');
    sub.unsubscribe();
    off();
    expect(statuses[0]).toBe('queued');
    expect(statuses).toContain('running');
    expect(outcomes).toEqual(['a:next', 'b:done']);
    // A queue finishes its job just after the step's last record write (BullMQ moves it to
    // completed when the processor returns), so the counts are read once they have drained.
    const counts = await r.time.waitFor(
      async () => {
        const cs = await r.h.engine.counts();
        return cs.every((c) => c.active + c.waiting + c.delayed === 0) ? cs : undefined;
      },
      5_000,
      'the queues to drain',
    );
    expect(counts.length).toBeGreaterThan(0);
    for (const c of counts) {
      expect(c.active + c.waiting + c.delayed).toBe(0);
      expect(c.failed).toBe(0);
    }
  });
}
