import { vi } from 'vitest';

/**
 * Waits for an event by polling `probe` (every 25 ms, with vi.waitFor) until it returns something
 * other than undefined or false, and returns that. The deadline only bounds a failure, never
 * measures a speed: keep it generous, a loaded machine is slow.
 * The probes are mostly HTTP requests (an operation polled until it ends, about 0.8 ms of CPU each).
 * Measured on test/vms + test/labs, CPU of the test files: 93 s polling every 10 ms, 64 s every
 * 25 ms, 59 s every 50 ms, with the same wall time; 25 ms keeps a wait's added latency small.
 */
export function eventually<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<T> {
  return vi.waitFor(
    async () => {
      const v = await probe();
      if (v === undefined || v === false) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      return v;
    },
    { timeout: timeoutMs, interval: 25 },
  );
}
