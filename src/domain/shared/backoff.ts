/** Bounds of an exponential backoff, in ms. */
export interface BackoffOptions {
  /** Ceiling of the first retry (attempt 0). */
  readonly baseMs: number;
  /** The ceiling never grows past this. */
  readonly maxMs: number;
  /**
   * `full` (default): anywhere in [0, ceiling). `equal`: in [ceiling / 2, ceiling), for loops that must
   * not retry at once (a watch against a server that just went away).
   */
  readonly jitter?: 'full' | 'equal';
}

/**
 * The one backoff of the code base outside BullMQ's own options: exponential, capped, with jitter so
 * that clients which failed together (every informer after an API server restart) do not retry in
 * lockstep. `attempt` counts from 0. "Exponential Backoff and Jitter" (AWS architecture blog).
 */
export function backoffMs(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** Math.min(Math.max(0, attempt), 52));
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.floor(options.jitter === 'equal' ? ceiling / 2 + (r * ceiling) / 2 : r * ceiling);
}
