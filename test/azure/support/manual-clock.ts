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

/**
 * A sleep that advances `clock` by its duration on a later turn of the event loop, so callers that
 * arrive in the same turn all see the same instant (a sleep that advanced it at once would move
 * the clock between them).
 */
export function sleepOnNextTurn(clock: ManualClock): (ms: number) => Promise<void> {
  return (ms) =>
    new Promise<void>((resolve) =>
      setImmediate(() => {
        clock.advance(ms);
        resolve();
      }),
    );
}
