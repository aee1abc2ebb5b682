/** A pass that runs at once on start and then every interval, one pass at a time. */
export interface PeriodicLoop {
  /** Runs a pass at once, then one every interval after the previous pass ended. Idempotent. */
  start(): void;
  /** No more passes; resolves when the running one (if any) is over. */
  stop(): Promise<void>;
  /** One pass now; a call during a pass joins it. Never rejects if `pass` never rejects. */
  tick(): Promise<void>;
}

/**
 * The loop of the background work that runs on the leader (lab schedules, housekeeping, job
 * recovery). `pass` should log its own failures and resolve: the loop goes on either way.
 */
export function createPeriodicLoop(pass: () => Promise<void>, intervalMs: number): PeriodicLoop {
  let running: Promise<void> | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let active = false;
  /** Bumped by start and stop, so a pass that ends after a restart of the loop does not fork it. */
  let loopId = 0;

  function tick(): Promise<void> {
    running ??= pass().finally(() => {
      running = undefined;
    });
    return running;
  }

  function loop(id: number, delayMs: number): void {
    timer = setTimeout(() => {
      timer = undefined;
      void tick()
        .catch(() => undefined)
        .then(() => {
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
      await running?.catch(() => undefined);
    },
    tick,
  };
}
