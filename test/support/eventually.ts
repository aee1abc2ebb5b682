import { vi } from 'vitest';

/**
 * Waits for an event by polling `probe` (every 10 ms, with vi.waitFor) until it returns something
 * other than undefined or false, and returns that. The deadline only bounds a failure, never
 * measures a speed: keep it generous, a loaded machine is slow.
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
    { timeout: timeoutMs, interval: 10 },
  );
}
