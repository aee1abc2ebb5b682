import type { Logger } from '../domain/operations/logger.js';
import type { OperationEvents } from '../domain/operations/operation-events.js';
import type { OperationStore } from '../domain/operations/operation-store.js';
import type { Clock } from '../domain/shared/ids.js';
import { createInProcessTransport, type InProcessTransportOptions } from './in-process-transport.js';
import { createJobEngine, type JobEngine } from './job-engine.js';

export interface InProcessJobEngineDeps {
  readonly store: OperationStore;
  readonly events: OperationEvents;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly random?: () => number;
  readonly housekeepingIntervalMs?: number;
  readonly transport?: Omit<InProcessTransportOptions, 'logger'>;
}

/**
 * The engine of the embedded default when no Redis is configured: the same runtime over an
 * in-process queue. Not durable; it says so loudly when created and when its worker starts.
 */
export function createInProcessJobEngine(deps: InProcessJobEngineDeps): JobEngine {
  deps.logger.warn(
    { transport: 'in-process' },
    'JOBS ARE NOT DURABLE: no Redis configured, using the in-process job queue; queued and running work is lost on restart.',
  );
  const transport = createInProcessTransport({ logger: deps.logger, ...deps.transport });
  return createJobEngine({
    transport,
    store: deps.store,
    events: deps.events,
    clock: deps.clock,
    logger: deps.logger,
    ...(deps.random === undefined ? {} : { random: deps.random }),
    ...(deps.housekeepingIntervalMs === undefined ? {} : { housekeepingIntervalMs: deps.housekeepingIntervalMs }),
  });
}
