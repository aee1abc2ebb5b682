import type { Clock } from '../../../src/domain/shared/ids.js';

/** A clock that moves only when told to. */
export interface ManualClock extends Clock {
  advance(ms: number): void;
  readonly ms: number;
}

export function manualClock(start = Date.parse('2025-03-01T08:00:00Z')): ManualClock {
  let t = start;
  return {
    now: () => new Date(t),
    advance: (ms) => void (t += ms),
    get ms() {
      return t;
    },
  };
}
