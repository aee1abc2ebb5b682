import { describe, expect, it } from 'vitest';
import { createMemoryOperationEvents } from '../../src/adapters/memory/event-bus.js';
import { createMemoryOperationStore } from '../../src/adapters/memory/operation-store.js';
import type { Clock } from '../../src/domain/shared/ids.js';
import { createInProcessTransport } from '../../src/jobs/in-process-transport.js';
import { createJobEngine } from '../../src/jobs/job-engine.js';
import { DEFAULT_WAIT, recheckDelayMs, type JobKind, type StepOutcome } from '../../src/jobs/job-kind.js';
import { rig } from './engine-kit.js';
import { recordingLogger } from './helpers.js';

/**
 * An engine whose clock is moved by the steps themselves and whose transport runs every job at
 * once, recording the delay it was asked for: waits of hours pass in milliseconds, in fake time.
 */
async function fakeTimeRig(kind: JobKind) {
  let nowMs = Date.parse('2026-09-01T08:00:00Z');
  const clock: Clock = { now: () => new Date(nowMs) };
  const delays: number[] = [];
  const logger = recordingLogger();
  const store = createMemoryOperationStore();
  const inner = createInProcessTransport({ logger, redeliveryDelayMs: 20, deliveryAttempts: 5 });
  const transport = {
    ...inner,
    add: async (job: Parameters<typeof inner.add>[0], o?: Parameters<typeof inner.add>[1]) => {
      if (job.generation > 0) delays.push(o?.delayMs ?? 0); // re-checks, not the first enqueue
      return inner.add(job, { ...o, delayMs: 0 });
    },
  };
  const r = await rig(
    async () => {
      const engine = createJobEngine({ transport, store, events: createMemoryOperationEvents(), clock, logger, random: () => 0.5 });
      return { engine, store, events: createMemoryOperationEvents(), logger, close: () => engine.close() };
    },
    [kind],
    { random: () => 0.5 },
  );
  return { r, delays, advance: (ms: number): void => void (nowMs += ms) };
}

function waitingKind(step: (run: number) => StepOutcome, wait?: JobKind['wait']): JobKind {
  let run = 0;
  return {
    kind: 'w.wait',
    firstStep: 'wait',
    retry: { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 },
    ...(wait === undefined ? {} : { wait }),
    steps: { wait: async () => step(run++) },
  };
}

describe('waits on the outside world', () => {
  it('re-check delays double from what the step asks up to the cap, never below the step’s own, with ±10% jitter', () => {
    const p = { stallTimeoutMs: 60_000, maxDelayMs: 30_000 };
    expect([0, 1, 2, 3, 6, 7, 8, 40].map((n) => recheckDelayMs(500, n, p, () => 0.5))).toEqual([
      500, 1_000, 2_000, 4_000, 30_000, 30_000, 30_000, 30_000,
    ]);
    expect(recheckDelayMs(60_000, 0, p, () => 0.5)).toBe(60_000);
    expect(recheckDelayMs(1_000, 0, p, () => 0)).toBe(900);
    expect(recheckDelayMs(1_000, 0, p, () => 0.999_999)).toBe(1_100);
  });

  it('a wait whose progress never moves ends its operation WAIT_TIMED_OUT at the stall timeout, after backing off (not thousands of 200 ms re-checks)', async () => {
    const clock = { advance: (_ms: number): void => undefined };
    const kind = waitingKind(() => {
      clock.advance(60_000); // each look happens a minute after the previous one
      return { type: 'recheck', delayMs: 200, progress: 42 };
    });
    const h = await fakeTimeRig(kind);
    clock.advance = h.advance;
    const op = await h.r.start('w.wait');
    const failed = await h.r.until(op.id, 'failed');
    expect(failed.error).toMatchObject({ code: 'WAIT_TIMED_OUT' });
    expect(failed.error?.detail).toMatch(/Step 'wait' re-checked \d+ times over 60 minute\(s\) without progress \(at 42%\)/);
    // One look a minute for an hour: 61 looks, 60 re-checks, delays doubling from 200 ms to the 15 s cap.
    expect(h.delays).toHaveLength(60);
    expect(h.delays.slice(0, 8)).toEqual([200, 400, 800, 1_600, 3_200, 6_400, 12_800, 15_000]);
    expect(new Set(h.delays.slice(7))).toEqual(new Set([DEFAULT_WAIT.maxDelayMs]));
    await h.r.h.close();
  });

  it('a wait that keeps progressing is never cut, and its re-checks stay at the step’s own pace', async () => {
    const clock = { advance: (_ms: number): void => undefined };
    const kind = waitingKind((run) => {
      clock.advance(10 * 60_000);
      return run < 20 ? { type: 'recheck', delayMs: 2_000, progress: 1 + run * 4 } : { type: 'done' };
    });
    const h = await fakeTimeRig(kind);
    clock.advance = h.advance;
    const op = await h.r.start('w.wait');
    await h.r.until(op.id, 'succeeded'); // 200 minutes in all, never an hour without progress
    expect(new Set(h.delays)).toEqual(new Set([2_000]));
    await h.r.h.close();
  });

  it('a look woken before its due time (a watch event) does not grow the backoff; looks at their due time do', async () => {
    const clock = { advance: (_ms: number): void => undefined };
    // Looks 1-3 come early (100 ms after scheduling: woken), the rest at their due time.
    const kind = waitingKind((run) => {
      clock.advance(run < 4 ? 100 : 60_000);
      return run < 7 ? { type: 'recheck', delayMs: 200, progress: 42 } : { type: 'done' };
    });
    const h = await fakeTimeRig(kind);
    clock.advance = h.advance;
    const op = await h.r.start('w.wait');
    await h.r.until(op.id, 'succeeded');
    expect(h.delays).toEqual([200, 200, 200, 200, 400, 800, 1_600]);
    await h.r.h.close();
  });

  it('a kind may wait longer than the default (vm.identity: its own connect timeout comes first)', async () => {
    const clock = { advance: (_ms: number): void => undefined };
    const kind = waitingKind(
      (run) => {
        clock.advance(30 * 60_000);
        return run < 4 ? { type: 'recheck', delayMs: 5_000, progress: 10 } : { type: 'done' };
      },
      { stallTimeoutMs: 3 * 3_600_000, maxDelayMs: 30_000 },
    );
    const h = await fakeTimeRig(kind);
    clock.advance = h.advance;
    const op = await h.r.start('w.wait');
    await h.r.until(op.id, 'succeeded');
    expect(h.delays).toEqual([5_000, 10_000, 20_000, 30_000]);
    await h.r.h.close();
  });
});
