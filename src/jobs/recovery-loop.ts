import { createPeriodicLoop, type PeriodicLoop } from './periodic-loop.js';
import type { Logger } from '../domain/shared/logger.js';

export interface RecoveryLoopDeps {
  /** `JobEngine.recover`: enqueues the pending job of every open operation (idempotent); resolves to how many. */
  readonly recover: () => Promise<number>;
  /** Between the end of one pass and the start of the next, ms. */
  readonly intervalMs: number;
  readonly logger: Logger;
}

/**
 * Re-enqueues the jobs of open operations that went missing (a write to the queue lost after the
 * operation was stored, a Redis failover), at once and then every interval. Meant to run on one
 * replica (the leader): every pass reads every open operation.
 */
export function createRecoveryLoop(deps: RecoveryLoopDeps): PeriodicLoop {
  const { recover, intervalMs, logger } = deps;

  async function pass(): Promise<void> {
    try {
      const n = await recover();
      if (n > 0) logger.info({ enqueued: n }, 'recovery enqueued the pending jobs of open operations');
    } catch (err) {
      logger.warn(
        { err: err instanceof Error ? { name: err.name, message: err.message } : String(err) },
        'recovering pending jobs failed; retrying next interval',
      );
    }
  }

  return createPeriodicLoop(pass, intervalMs);
}
