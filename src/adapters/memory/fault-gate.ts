import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Fault injection shared by the memory fakes (written once here rather than in each fake): the
 * next call fails with a given error and changes nothing; every call may wait a set time first.
 */
export interface FaultGate {
  /** The next call rejects with `err`. */
  failNext(err: Error): void;
  /** Every call waits this long first (0 turns it off). */
  latency(ms: number): void;
  /** Called first by every port method: waits the latency, then throws the pending failure once. */
  enter(): Promise<void>;
}

export function createFaultGate(): FaultGate {
  let pending: Error | undefined;
  let delayMs = 0;
  return {
    failNext(err) {
      pending = err;
    },
    latency(ms) {
      delayMs = ms;
    },
    async enter() {
      if (delayMs > 0) await sleep(delayMs);
      const err = pending;
      if (err === undefined) return;
      pending = undefined;
      throw err;
    },
  };
}
