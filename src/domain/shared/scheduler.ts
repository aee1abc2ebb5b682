import type { Clock } from './ids.js';

/**
 * Time and delayed work, injected: production code that waits (the in-process job queue, the
 * simulated cluster's and Azure's controllers) asks a Scheduler, so a test can move time itself
 * and assert that nothing happened without sleeping.
 */
export interface Scheduler extends Clock {
  /** Runs `fn` once after `ms` (0: the next macrotask); returns a function that cancels it. */
  after(ms: number, fn: () => void): () => void;
}

/**
 * Real time. Pending timers do not keep the process alive (like `unref`): whoever waits on them
 * holds a server, a socket or a promise of its own.
 */
export const systemScheduler: Scheduler = {
  now: () => new Date(),
  after(ms, fn) {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref();
    return () => clearTimeout(t);
  },
};
