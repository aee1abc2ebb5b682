import { expect, it } from 'vitest';
import type { OperationTarget } from '../../src/domain/operations/operation.js';
import type { StepOutcome } from '../../src/jobs/job-kind.js';
import { kind, type MakeRig } from '../jobs/engine-kit.js';
import { admin } from '../jobs/helpers.js';

/**
 * Early wake-ups (part of the engine contract). Every waiting step here asks for a re-check in a
 * minute: an operation that ends within the test's few seconds was woken, since its own delay had
 * not come (without wake-ups these tests time out).
 */
export function engineWakeContract(make: MakeRig): void {
  const MINUTE = 60_000;

  /** A kind whose one step re-checks every minute until `ready()`; counts its looks. */
  function waiting(name: string, ready: () => boolean) {
    const looks = { n: 0 };
    const k = kind(name, {
      wait: async (): Promise<StepOutcome> => {
        looks.n += 1;
        return ready() ? { type: 'done' } : { type: 'recheck', delayMs: MINUTE, progress: 10 };
      },
    });
    return { k, looks };
  }

  it('wake() runs a waiting re-check now instead of at the end of its delay', async () => {
    let ready = false;
    const { k, looks } = waiting('wk.wake', () => ready);
    const r = await make([k]);
    const op = await r.start('wk.wake');
    await r.time.waitFor(async () => (await r.h.store.get(op.id))?.cursor.wait !== undefined, 5_000, 'the first re-check to be scheduled');
    ready = true;
    expect(await r.h.engine.wake(op.id)).toBe(true);
    await r.until(op.id, 'succeeded', 5_000);
    expect(looks.n).toBe(2);
    // Nothing left to wake: a finished operation, and an unknown one.
    expect(await r.h.engine.wake(op.id)).toBe(false);
    expect(await r.h.engine.wake('00000000-0000-4000-8000-000000000000')).toBe(false);
  });

  it('a retry after an error keeps its backoff: only re-checks are woken', async () => {
    const r = await make([kind('wk.retry', { a: async () => ({ type: 'next', step: 'b', delayMs: MINUTE }), b: async () => ({ type: 'done' }) })]);
    const op = await r.start('wk.retry');
    await r.time.waitFor(async () => (await r.h.store.get(op.id))?.cursor.step === 'b', 5_000, 'step b to be scheduled in a minute');
    expect(await r.h.engine.wake(op.id)).toBe(false);
    expect((await r.h.store.get(op.id))?.status).not.toBe('succeeded');
  });

  it('a change told by a wake source wakes the open operations on that target', async () => {
    let ready = false;
    const { k } = waiting('wk.source', () => ready);
    let tell: ((t: OperationTarget) => void) | undefined;
    let stopped = false;
    const r = await make([k], { worker: false });
    r.h.engine.wakeOn((t) => {
      tell = t;
      return () => void (stopped = true);
    });
    await r.h.engine.startWorker({ concurrency: 2 });
    const target = { type: 'vm', id: 'lab1/vm-woken' };
    const op = await r.service.start(admin, { kind: 'wk.source', tenant: 'lab1', target, input: {} });
    await r.time.waitFor(async () => (await r.h.store.get(op.id))?.cursor.wait !== undefined, 5_000, 'the first re-check to be scheduled');
    ready = true;
    expect(tell).toBeDefined();
    tell?.({ type: 'vm', id: 'lab1/another-vm' });
    tell?.(target);
    await r.until(op.id, 'succeeded', 5_000);
    await r.h.engine.stop({ graceMs: 100 });
    expect(stopped).toBe(true);
  });

  it('a child operation that finishes wakes its parent waiting on it', async () => {
    const r = await make([
      kind('wk.child', { a: async () => ({ type: 'done' }) }),
      kind('wk.parent', {
        wait: async (c): Promise<StepOutcome> => {
          const children = await r.h.store.listChildren(c.operation.id);
          const done = children.length > 0 && children.every((ch) => ch.status === 'succeeded');
          return done ? { type: 'done' } : { type: 'recheck', delayMs: MINUTE, progress: 5 };
        },
      }),
    ]);
    const parent = await r.start('wk.parent');
    await r.time.waitFor(async () => (await r.h.store.get(parent.id))?.cursor.wait !== undefined, 5_000, 'the parent to wait');
    await r.service.start(admin, { kind: 'wk.child', tenant: 'lab1', target: { type: 'vm', id: 'lab1/child' }, parentId: parent.id, input: {} });
    await r.until(parent.id, 'succeeded', 5_000);
  });
}
