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
export function createRecoveryLoop(deps: RecoveryLoopDeps): { start(): void; stop(): Promise<void> } {
  const { recover, intervalMs, logger } = deps;
  let active = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> | undefined;
  /** Bumped by start and stop, so a pass that ends after a restart does not fork the loop. */
  let loopId = 0;

  async function pass(): Promise<void> {
    try {
      const n = await recover();
      if (n > 0) logger.info({ enqueued: n }, 'recovery enqueued the pending jobs of open operations');
    } catch (err) {
      logger.warn({ err: err instanceof Error ? { name: err.name, message: err.message } : String(err) }, 'recovering pending jobs failed; retrying next interval');
    }
  }

  function loop(id: number, delayMs: number): void {
    timer = setTimeout(() => {
      timer = undefined;
      running = pass().finally(() => {
        running = undefined;
        if (active && id === loopId) loop(id, intervalMs);
      });
    }, delayMs);
    timer.unref();
  }

  return {
    start() {
      if (active) return;
      active = true;
      loopId += 1;
      loop(loopId, 0);
    },
    async stop() {
      active = false;
      loopId += 1;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      await running;
    },
  };
}
