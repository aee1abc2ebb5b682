import type { Scheduler } from '../../src/domain/shared/scheduler.js';

/** A scheduler whose time moves only when a test says so. */
export interface ManualScheduler extends Scheduler {
  /**
   * Moves time forward by `ms`, running every timer that falls due on the way (also those the
   * timers set themselves), in due order, each with the clock at its due time. `advance(0)` runs
   * what is due now (work the code put off to "the next macrotask").
   */
  advance(ms: number): void;
  /**
   * Like {@link advance}, but lets pending promise callbacks run first and after each timer, as
   * they would between two real macrotasks (work the code under test defers with `await`).
   */
  advanceAsync(ms: number): Promise<void>;
  /** Timers set and not yet run nor cancelled. */
  readonly pending: number;
  /** Current time, ms since the epoch. */
  readonly ms: number;
}

// Own code rather than @sinonjs/fake-timers: that library is only vitest's bundled copy here, and
// it fakes globals; this is a plain object handed to the code under test (a dozen lines).
export function manualScheduler(start = Date.parse('2026-01-05T08:00:00Z')): ManualScheduler {
  let now = start;
  let seq = 0;
  const timers = new Map<number, { due: number; fn: () => void }>();
  const nextDue = (until: number): number | undefined => {
    let best: number | undefined;
    for (const [id, t] of timers) if (t.due <= until && (best === undefined || t.due < (timers.get(best)?.due ?? Infinity))) best = id;
    return best;
  };
  const runTimer = (id: number): void => {
    const t = timers.get(id) as { due: number; fn: () => void };
    timers.delete(id);
    now = t.due;
    t.fn();
  };
  return {
    now: () => new Date(now),
    after(ms, fn) {
      const id = ++seq;
      timers.set(id, { due: now + Math.max(0, ms), fn });
      return () => void timers.delete(id);
    },
    advance(ms) {
      const end = now + ms;
      for (let id = nextDue(end); id !== undefined; id = nextDue(end)) runTimer(id);
      now = end;
    },
    async advanceAsync(ms) {
      const end = now + ms;
      const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
      await settle();
      for (let id = nextDue(end); id !== undefined; id = nextDue(end)) {
        runTimer(id);
        await settle();
      }
      now = end;
    },
    get pending() {
      return timers.size;
    },
    get ms() {
      return now;
    },
  };
}
